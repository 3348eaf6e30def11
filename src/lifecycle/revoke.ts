import { ActionError, InputError } from '../errors.js';
import { closeTargets } from '../targets/index.js';
import { summarizeProof, type TargetProof } from '../targets/proof.js';
import type { Intent, TargetName } from '../targets/model.js';
import type { Target } from '../targets/target.js';
import type { AssignmentRecord, RevocationCondition } from '../store/types.js';
import { withAssignmentLock } from './assignment-lock.js';
import { clockNote, newRunId, type Context } from './context.js';
import { applyPlans, executePlans, planAll, verifyPlans, type ExecuteOptions, type PlannedTarget, type TargetResult } from './executor.js';
import { planRows, type PlanRow } from './onboard.js';
import { objectOf, recordedTargets, selectRecorded, type RecordedTarget } from './recorded.js';
import { transition } from './state.js';

/** What `data.revocation` holds; the certificate and `show` read it. */
export interface RevocationEvidence {
  revokedAt: string;
  /** One entry per recorded target whose revocation is proven, with the proof's line. */
  targets: { target: string; verifiedAt: string; evidence: string[] }[];
}


export interface RevocationData extends RevocationEvidence {
  complete: boolean;
  condition: RevocationCondition;
  /** The proofs of the last attempt, one per recorded target (missing ones included, failed). */
  proofs: TargetProof[];
  /** Recorded targets that no proof covers, with why. */
  unproven: { target: string; reason: string }[];
  checkedAt: string;
}

export interface RevokeResult {
  id: string;
  state: string;
  revokedAt: string;
  complete: boolean;
  changed: boolean;
  plan: PlanRow[];
  targets: TargetResult[];
  message: string;
}

export function revokeIntent(rec: AssignmentRecord, revokedAt: string, recorded?: RecordedTarget[], target?: Target['name']): Intent {
  const object = recorded && target ? objectOf(recorded, target) : undefined;
  return { kind: 'revoke', assignmentId: rec.id, username: rec.username, revokedAt, ...(object ? { object } : {}) };
}

/** A recorded target the config no longer opens: its revocation cannot be proven. */
export function missingTargetResult(r: RecordedTarget): TargetResult {
  return {
    target: r.target,
    ok: false,
    steps: [],
    error: `the assignment was provisioned on ${r.target}${r.object ? ` (${r.object})` : ''}, but the config has no targets.${r.target}: unproven`,
  };
}

/** The revocation record, built from the per-target results. Complete only when every recorded target is proven. */
function revocationData(revokedAt: string, results: TargetResult[], at: string, previous?: RevocationData): RevocationData {
  const proofs = results.flatMap((r) => (r.proof ? [r.proof] : []));
  const unproven = results.filter((r) => !r.ok || !r.proof?.ok).map((r) => ({ target: r.target, reason: r.error ?? 'not proven' }));
  const complete = results.length > 0 && unproven.length === 0;
  const wasProven = previous?.complete === true || previous?.condition === 'regressed';
  return {
    revokedAt,
    complete,
    condition: complete ? 'proven' : wasProven ? 'regressed' : 'incomplete',
    targets: results.filter((r) => r.ok && r.proof?.ok).map((r) => ({ target: r.target, verifiedAt: r.proof!.readAt, evidence: [summarizeProof(r.proof!)] })),
    proofs,
    unproven,
    checkedAt: at,
  };
}

/**
 * Disable on every recorded target and prove it. `finalState` is `revoked` (by hand) or `expired`
 * (the nightly job). The state is recorded first, under the assignment's lock, so an onboarding
 * still applying stops before its next step and the store says what was intended even if a target
 * is down; `data.revocation` says whether every recorded target was proven.
 */
export async function revokeAssignment(
  ctx: Context,
  id: string,
  options: { reason: string; finalState: 'revoked' | 'expired'; targets?: Target[]; dryRun?: boolean },
): Promise<RevokeResult> {
  const ownTargets = options.targets === undefined;
  let open: Target[] | undefined = options.targets;
  try {
    const started = await applyRevocation(ctx, id, { ...options, targets: async () => (open ??= await ctx.openTargets()) });
    return 'complete' in started ? started : await proveRevocation(ctx, started);
  } finally {
    if (ownTargets && open) await closeTargets(open);
  }
}

/** A revocation whose writes were made and whose proof is still to be read. */
export interface AppliedRevocation {
  id: string;
  /** The state before, and the state now. */
  before: AssignmentRecord['state'];
  state: AssignmentRecord['state'];
  username: string;
  revokedAt: string;
  recorded: RecordedTarget[];
  targets: Target[];
  missing: RecordedTarget[];
  intentFor: (t: Target) => { target: Target; intent: Intent };
  /** Targets planned from the record: a failed proof there sends the target round again. */
  fromRecord: readonly TargetName[];
  plans: PlannedTarget[];
  applied: TargetResult[];
  exec: ExecuteOptions;
}

/**
 * The first half of a revocation: the state change under the assignment's lock, the plan and the
 * writes; nothing is read back. A dry run ends here with what would be done. `proveRevocation`
 * reads back and records, so the nightly job can write a page of assignments before reading any.
 */
export async function applyRevocation(
  ctx: Context,
  id: string,
  options: { reason: string; finalState: 'revoked' | 'expired'; targets: () => Promise<Target[]>; dryRun?: boolean | undefined },
): Promise<AppliedRevocation | RevokeResult> {
  const rec = await ctx.store.getAssignment(id);
  if (!rec) {
    throw new InputError(`No assignment ${id} in the store.`, {
      code: 'assignment.unknown',
      actions: ['Run `detailee status` to list assignments.'],
    });
  }
  if (rec.state === 'closed') {
    throw new InputError(`Assignment ${id} is closed; its accounts were revoked before its certificate was issued.`, {
      code: 'revoke.closed',
      actions: ['Run `detailee reconcile` to check the targets.'],
    });
  }
  const recorded = await recordedTargets(ctx.store, rec);
  const now = ctx.clock.now();
  // A repeated revocation keeps the first time, so the deny policy and evidence stay stable.
  const revokedAt = rec.revokedAt ?? now.toISOString();
  const open = await options.targets();
  const note = clockNote(ctx);
  const { targets, missing } = selectRecorded(recorded, open);
  const intentFor = (t: Target) => ({ target: t, intent: revokeIntent(rec, revokedAt, recorded, t.name) });
  if (options.dryRun) {
    const plans = await planAll(targets.map(intentFor));
    return { id, state: rec.state, revokedAt, complete: false, changed: false, plan: planRows(plans), targets: missing.map(missingTargetResult), message: 'dry run: nothing changed' };
  }
  let state: AssignmentRecord['state'] = rec.state;
  let firstRevocation = false;
  if (rec.state === 'active') {
    state = options.finalState;
    await withAssignmentLock(ctx, id, () =>
      ctx.store.transaction(async (tx) => {
        const cur = await tx.getAssignment(id);
        if (!cur) throw new ActionError(`Assignment ${id} vanished from the store.`, { code: 'store.lost' });
        if (cur.state !== 'active') {
          state = cur.state;
          return;
        }
        firstRevocation = true;
        await transition(tx, cur, options.finalState, {
          at: now.toISOString(),
          revokedAt,
          revokeReason: options.reason,
          data: { revocation: { revokedAt, complete: false, condition: 'incomplete', targets: [], proofs: [], unproven: [], checkedAt: now.toISOString() } satisfies RevocationData },
        });
        await tx.appendAudit({
          at: now.toISOString(),
          actor: ctx.actor,
          kind: options.finalState === 'expired' ? 'assignment.expiring' : 'assignment.revoking',
          assignmentId: id,
          details: { reason: options.reason, revokedAt, targets: recorded.map((r) => r.target), ...note },
        });
      }),
    );
  }
  // Planned only now, after the state change: whatever an onboarding applied before it is seen.
  // A first revocation of a fully provisioned account plans from its record, without a read;
  // the proof after the writes is the read, and a target whose proof fails goes round again
  // from a fresh read.
  const intents = targets.map(intentFor);
  const fromRecord = firstRevocation ? planFromRecord(intents, recorded) : [];
  const plans = [...fromRecord, ...(await planAll(intents.filter((x) => !fromRecord.some((p) => p.target === x.target)), { settle: true }))];
  plans.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
  const exec: ExecuteOptions = {
    store: ctx.store,
    clock: ctx.clock,
    actor: ctx.actor,
    runId: newRunId(),
    assignmentId: id,
    operation: options.finalState === 'expired' ? 'expire' : 'revoke',
    afterStep: ctx.afterStep,
    auditExtra: note,
  };
  const applied = await applyPlans(plans, exec);
  return {
    id,
    before: rec.state,
    state,
    username: rec.username,
    revokedAt,
    recorded,
    targets,
    missing,
    intentFor,
    fromRecord: fromRecord.map((p) => p.target.name),
    plans,
    applied,
    exec,
  };
}

/**
 * The second half: read every target back and prove it, send a target planned from the record
 * whose proof failed round again from a fresh read, and record the outcome.
 */
export async function proveRevocation(ctx: Context, r: AppliedRevocation): Promise<RevokeResult> {
  const { id, revokedAt, targets, exec } = r;
  await verifyPlans(r.plans, r.applied, exec);
  let applied = r.applied;
  // Only a target whose writes all took but whose proof failed goes round again: the account
  // was changed by hand since onboarding. A write that failed (a server down) is reported as it
  // is; reading the same unreachable server again would only bury that error under another.
  const again = applied.filter((x) => !x.ok && x.steps.every((st) => st.status === 'done') && r.fromRecord.includes(x.target));
  if (again.length > 0) {
    const retried = await executePlans(await planAll(targets.filter((t) => again.some((x) => x.target === t.name)).map(r.intentFor), { settle: true }), exec);
    applied = applied.map((x) => {
      const second = retried.find((y) => y.target === x.target);
      // Both rounds' steps are reported; the outcome is the second round's.
      return second ? { ...second, steps: [...x.steps.filter((st) => st.status === 'done'), ...second.steps] } : x;
    });
  }
  const results = [...applied, ...r.missing.map(missingTargetResult)];
  const at = ctx.clock.now().toISOString();
  const data = await recordRevocation(ctx, id, revokedAt, results, { runId: exec.runId, at, note: exec.auditExtra ?? {} });
  return {
    id,
    state: r.state,
    revokedAt,
    complete: data.complete,
    changed: results.some((x) => x.steps.some((s) => s.status === 'done')) || r.state !== r.before,
    plan: planRows(r.plans),
    targets: results,
    message: data.complete
      ? `Access for ${id} is revoked and proven on every recorded target (${r.recorded.map((x) => x.target).join(', ')}) by reading it back.`
      : `Revocation of ${id} is INCOMPLETE: ${results
          .filter((x) => !x.ok)
          .map((x) => `${x.target}: ${x.error}`)
          .join('; ')}. It is not proven until every recorded target reads back revoked. Run the command again once what is named is fixed.`,
  };
}

/**
 * Plans from the provisioning record, for the targets that can assume one and whose record holds
 * the object read back at onboarding; the others (and any whose plan refuses) are read first.
 */
function planFromRecord(intents: { target: Target; intent: Intent }[], recorded: RecordedTarget[]): PlannedTarget[] {
  const out: PlannedTarget[] = [];
  for (const { target, intent } of intents) {
    const r = recorded.find((x) => x.target === target.name);
    if (!target.assume || r?.object === undefined || r.provisionedAt === undefined) continue;
    try {
      const granted = { object: r.object, groups: r.groups, policies: r.policies, groupObjects: r.groupObjects };
      out.push({ target, intent, steps: target.plan(target.assume(granted, intent), intent) });
    } catch {
      // Whatever the record cannot plan, a fresh read will (or will say why not).
    }
  }
  return out;
}

/** Store the proofs with the record and the audit event, in one transaction. */
export async function recordRevocation(
  ctx: Context,
  id: string,
  revokedAt: string,
  results: TargetResult[],
  o: { runId: string; at: string; note: Record<string, unknown>; kind?: string },
): Promise<RevocationData> {
  let data!: RevocationData;
  await ctx.store.transaction(async (tx) => {
    const cur = await tx.getAssignment(id);
    if (!cur) throw new ActionError(`Assignment ${id} vanished from the store.`, { code: 'store.lost' });
    data = revocationData(revokedAt, results, o.at, cur.data.revocation as RevocationData | undefined);
    await tx.updateAssignment({ ...cur, updatedAt: o.at, data: { ...cur.data, revocation: data } }, cur.version);
    await tx.appendAudit({
      at: o.at,
      actor: ctx.actor,
      kind: o.kind ?? (data.complete ? 'revocation.verified' : 'revocation.incomplete'),
      assignmentId: id,
      details: {
        runId: o.runId,
        revokedAt,
        condition: data.condition,
        targets: results.map((r) => ({ target: r.target, ok: r.ok, error: r.error, pending: r.steps.filter((s) => s.status !== 'done').map((s) => s.id) })),
        proofs: data.proofs,
        ...o.note,
      },
    });
  });
  return data;
}
