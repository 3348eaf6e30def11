import { randomBytes } from 'node:crypto';
import { assertValid, type SignatureReport } from '../assignment/signatures.js';
import { verifyAssignmentFile, type LoadedDocument } from '../assignment/load.js';
import { assertPolicy } from '../assignment/policy.js';
import type { Assignment } from '../assignment/schema.js';
import { isDue, type Term } from '../assignment/term.js';
import { ActionError, InputError } from '../errors.js';
import { closeTargets, desiredFor } from '../targets/index.js';
import type { Target } from '../targets/target.js';
import type { AssignmentRecord } from '../store/types.js';
import { StoreConflictError } from '../store/types.js';
import { withAssignmentLock } from './assignment-lock.js';
import { awaitsStart } from './start-day.js';
import { clockNote, newRunId, type Context } from './context.js';
import { recordedOn, type RecordedTarget } from './recorded.js';
import { executePlans, planAll, type PlannedTarget, type TargetResult } from './executor.js';

export interface PlanRow {
  target: string;
  step: string;
  action: string;
  detail: string;
}

export interface OnboardPreparation {
  loaded: LoadedDocument<Assignment>;
  report: SignatureReport;
  term: Term;
  /** The stored record when this manifest was onboarded before (a resumed or repeated run). */
  existing: AssignmentRecord | undefined;
  plans: PlannedTarget[];
  rows: PlanRow[];
  targets: Target[];
}

export interface OnboardResult {
  id: string;
  state: string;
  changed: boolean;
  message: string;
  term: Term;
  plan: PlanRow[];
  targets: TargetResult[];
  dryRun: boolean;
  /** Trust the configuration chose to weaken for these signatures (an issuer's revocation unchecked). */
  warnings: string[];
  /** Shown once, never stored or logged; only with --issue-password. */
  initialPassword?: string | undefined;
}

export function planRows(plans: PlannedTarget[]): PlanRow[] {
  return plans.flatMap((p) => p.steps.map((s) => ({ target: s.target, step: s.id, action: s.action, detail: s.detail })));
}

/** Verify, check policy, and plan. Nothing is written anywhere. */
export async function prepareOnboarding(ctx: Context, file: string, signatures: string[] | undefined): Promise<OnboardPreparation> {
  const now = ctx.clock.now();
  const { loaded, report, term } = await verifyAssignmentFile(file, signatures, ctx.config, now);
  assertValid(report, `assignment ${loaded.doc.id}`);
  const doc = loaded.doc;
  const existing = await ctx.store.getAssignment(doc.id);
  if (existing && existing.manifestSha256 !== loaded.sha256) {
    throw new InputError(`Assignment ${doc.id} already exists with a different manifest; onboarding refused.`, {
      code: 'onboard.conflict',
      actions: ['A change to a detail is made by a signed amendment (detailee renew), or by a new assignment with a new id.'],
      details: { stored: existing.manifestSha256, given: loaded.sha256 },
    });
  }
  if (!existing) {
    if (isDue(term, now)) {
      throw new InputError(`The term of ${doc.id} already ended at ${term.endsAt}; nothing to onboard.`, {
        code: 'onboard.ended',
        actions: ['A lapsed detail needs a new signed assignment.'],
      });
    }
    assertPolicy(doc, term, now, 'onboarded', 'onboard.prerequisites');
    const clash = (await ctx.store.listSummaries(['active', 'expired', 'revoked', 'offboarding'])).find(
      (s) => s.username === doc.detailee.username,
    );
    if (clash?.id === doc.id) {
      // Absent a moment ago, present now: another run is onboarding this id at the same time.
      throw new InputError(`Assignment ${doc.id} was onboarded by another run at the same time.`, {
        code: 'onboard.conflict',
        actions: [`Run \`detailee show ${doc.id}\` to see it.`],
      });
    }
    if (clash) {
      throw new InputError(`Username ${doc.detailee.username} belongs to open assignment ${clash.id}.`, {
        code: 'onboard.username',
        actions: [`Close assignment ${clash.id} first, or choose another username.`],
      });
    }
  }
  if (existing && existing.data.provisioned === true) {
    return { loaded, report, term, existing, plans: [], rows: [], targets: [] };
  }
  if (existing && existing.state !== 'active') {
    throw new InputError(`Assignment ${doc.id} is ${existing.state}; it cannot be onboarded again.`, {
      code: 'onboard.state',
      actions: ['A lapsed or revoked detail needs a new assignment with a new id.'],
    });
  }
  const targets = await ctx.openTargets();
  try {
    if (targets.length === 0) {
      // Accounts on no target would be "revoked" against nothing: refuse before anything is written.
      throw new InputError(`The config names no targets; ${doc.id} would be onboarded nowhere.`, {
        code: 'onboard.no-targets',
        actions: ['Configure targets.ldap, targets.aws and/or targets.ad in the config (see `detailee init`), then onboard again.'],
      });
    }
    const intents = targets.map((target) => ({
      target,
      intent: { kind: 'provision' as const, desired: desiredFor(target.name, doc, term) },
    }));
    for (const { target, intent } of intents) await target.preflight(intent);
    const plans = await planAll(intents);
    return { loaded, report, term, existing, plans, rows: planRows(plans), targets };
  } catch (e) {
    await closeTargets(targets);
    throw e;
  }
}

function newRecord(prep: OnboardPreparation, now: Date): AssignmentRecord {
  const doc = prep.loaded.doc;
  return {
    id: doc.id,
    state: 'active',
    username: doc.detailee.username,
    manifest: doc,
    manifestSha256: prep.loaded.sha256,
    signers: prep.report.signers.map((s) => ({ name: s.name, role: s.role, form: s.form })),
    term: prep.term,
    renewalsUsed: 0,
    renewalsMax: doc.term.renewals.max,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    version: 1,
    data: { provisioned: false, targets: recordTargets(prep, now) },
  };
}

/** The targets this onboarding will write to, recorded before its first step. */
function recordTargets(prep: OnboardPreparation, now: Date): RecordedTarget[] {
  return prep.plans.map((p) => {
    const d = p.intent.kind === 'provision' ? p.intent.desired : undefined;
    return { target: p.target.name, groups: d?.groups ?? [], policies: d?.policies ?? [], recordedAt: now.toISOString() };
  });
}

/** Merge the read-back objects into the recorded targets (adding any target a resumed run added). */
function withObjects(recorded: RecordedTarget[], prep: OnboardPreparation, results: TargetResult[], at: string): RecordedTarget[] {
  const out = [...recorded];
  for (const fresh of recordTargets(prep, new Date(at))) if (!out.some((r) => r.target === fresh.target)) out.push(fresh);
  return out.map((r) => {
    const res = results.find((x) => x.target === r.target);
    return res?.ok && res.object ? { ...r, object: res.object, ...(res.groupObjects ? { groupObjects: res.groupObjects } : {}), provisionedAt: at } : r;
  });
}

/** Record, journal, apply, verify. Safe to repeat after a crash at any step. */
export async function applyOnboarding(ctx: Context, prep: OnboardPreparation, options: { issuePassword?: boolean } = {}): Promise<OnboardResult> {
  const doc = prep.loaded.doc;
  const base = { id: doc.id, term: prep.term, plan: prep.rows, dryRun: false, warnings: prep.report.warnings };
  if (prep.existing?.data.provisioned === true) {
    return { ...base, state: prep.existing.state, changed: false, targets: [], message: `Assignment ${doc.id} is already onboarded; nothing to do.` };
  }
  if (options.issuePassword && !passwordTarget(prep)) {
    await closeTargets(prep.targets);
    // Refused before the record or any account exists, so "nothing changed" holds.
    throw new InputError('--issue-password needs an LDAP target in the config.', { code: 'onboard.password', actions: ['Configure targets.ldap, or onboard without --issue-password.'] });
  }
  const runId = newRunId();
  const note = clockNote(ctx);
  try {
    if (!prep.existing) {
      const now = ctx.clock.now();
      try {
        await ctx.store.transaction(async (tx) => {
          await tx.insertAssignment(newRecord(prep, now));
          await tx.appendAudit({
            at: now.toISOString(),
            actor: ctx.actor,
            kind: 'assignment.onboarding',
            assignmentId: doc.id,
            details: {
              manifestSha256: prep.loaded.sha256,
              agreement: doc.agreement.reference,
              signers: prep.report.signers.map((s) => ({ name: s.name, role: s.role, form: s.form })),
              term: prep.term,
              plan: prep.rows.map((r) => r.step),
              ...(prep.report.warnings.length > 0 ? { trustWarnings: prep.report.warnings } : {}),
              ...note,
            },
          });
        });
      } catch (e) {
        if (e instanceof StoreConflictError) {
          throw new InputError(`Assignment ${doc.id} was onboarded by another run at the same time.`, {
            code: 'onboard.conflict',
            actions: [`Run \`detailee show ${doc.id}\` to see it.`],
          });
        }
        throw e;
      }
    }
    const results = await executePlans(prep.plans, {
      store: ctx.store,
      clock: ctx.clock,
      actor: ctx.actor,
      runId,
      assignmentId: doc.id,
      operation: 'onboard',
      afterStep: ctx.afterStep,
      auditExtra: note,
      stepGuard: (step, apply) =>
        withAssignmentLock(ctx, doc.id, async () => {
          const cur = await ctx.store.getAssignment(doc.id);
          if (cur?.state !== 'active') {
            throw new ActionError(`stopped before ${step.id}: assignment ${doc.id} is ${cur?.state ?? 'gone'}`, { code: 'onboard.stopped' });
          }
          await apply();
        }),
    });
    const ok = results.every((r) => r.ok);
    const after = await ctx.store.getAssignment(doc.id);
    const stoppedBy = after && after.state !== 'active' ? after.state : undefined;
    const initialPassword = ok && options.issuePassword ? await issuePassword(ctx, prep, doc.id, doc.detailee.username) : undefined;
    await ctx.store.transaction(async (tx) => {
      const rec = await tx.getAssignment(doc.id);
      if (!rec) throw new ActionError(`Assignment ${doc.id} vanished from the store during onboarding.`, { code: 'store.lost' });
      const at = ctx.clock.now().toISOString();
      const targets = withObjects(recordedOn(rec) ?? [], prep, results, at);
      if (ok && rec.state === 'active') {
        const data = { ...rec.data, provisioned: true, provisionedAt: at, targets, awaitingStart: awaitsStart(targets, rec.term.startsAt) };
        await tx.updateAssignment({ ...rec, updatedAt: at, data }, rec.version);
      }
      else await tx.updateAssignment({ ...rec, updatedAt: at, data: { ...rec.data, targets } }, rec.version);
      await tx.appendAudit({
        at,
        actor: ctx.actor,
        kind: ok ? 'assignment.onboarded' : 'assignment.onboarding-failed',
        assignmentId: doc.id,
        details: { runId, targets: results.map((r) => ({ target: r.target, ok: r.ok, steps: r.steps.length, error: r.error })), ...note },
      });
    });
    return {
      ...base,
      state: after?.state ?? 'active',
      changed: results.some((r) => r.steps.some((s) => s.status === 'done')) || !prep.existing,
      targets: results,
      initialPassword,
      message: stoppedBy !== undefined
        ? `Onboarding of ${doc.id} stopped: the assignment was ${stoppedBy} while it was applying; nothing more was provisioned.`
        : ok
        ? `Onboarded ${doc.id}: access from ${prep.term.startsAt} until ${prep.term.endsAt} (last day ${prep.term.lastDay}).`
        : `Onboarding of ${doc.id} did not complete; run the same command again to finish it.`,
    };
  } finally {
    await closeTargets(prep.targets);
  }
}

type PasswordTarget = Target & { setInitialPassword: (u: string, p: string) => Promise<void> };

function passwordTarget(prep: OnboardPreparation): PasswordTarget | undefined {
  const ldap = prep.targets.find((t) => t.name === 'ldap') as (Target & { setInitialPassword?: unknown }) | undefined;
  return typeof ldap?.setInitialPassword === 'function' ? (ldap as PasswordTarget) : undefined;
}

/** A random first password on the directory account, which the server forces the user to change. */
async function issuePassword(ctx: Context, prep: OnboardPreparation, id: string, username: string): Promise<string> {
  const ldap = passwordTarget(prep);
  if (!ldap) throw new ActionError('The LDAP target went away during onboarding.', { code: 'onboard.password' });
  const password = randomBytes(18).toString('base64url');
  await ldap.setInitialPassword(username, password);
  await ctx.store.transaction((tx) =>
    tx.appendAudit({ at: ctx.clock.now().toISOString(), actor: ctx.actor, kind: 'password.issued', assignmentId: id, details: { target: 'ldap', mustChange: true, ...clockNote(ctx) } }),
  );
  return password;
}
