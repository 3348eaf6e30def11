import { assertValid } from '../assignment/signatures.js';
import { findSignatureFiles, loadAmendment } from '../assignment/load.js';
import { isDue, renewTerm, type Term } from '../assignment/term.js';
import { ActionError, InputError } from '../errors.js';
import { closeTargets, desiredFor } from '../targets/index.js';
import { withAssignmentLock } from './assignment-lock.js';
import { clockNote, newRunId, type Context } from './context.js';
import { recordedTargets, selectRecorded } from './recorded.js';
import { executePlans, planAll, type TargetResult } from './executor.js';
import { planRows, type PlanRow } from './onboard.js';

export interface RenewResult {
  id: string;
  changed: boolean;
  previousEndsAt: string;
  term: Term;
  renewalsUsed: number;
  renewalsLeft: number;
  plan: PlanRow[];
  targets: TargetResult[];
  /** True when only the plan was made (--dry-run): nothing changed, `term` is what it would become. */
  dryRun: boolean;
  message: string;
}

export interface RenewOptions {
  /** Verify, check and plan against the live targets; change nothing. */
  dryRun?: boolean;
  /** Asked with the plan and the new term before anything changes; false changes nothing. */
  confirm?: (plan: PlanRow[], term: Term) => Promise<boolean>;
}

interface AppliedAmendment {
  sha256: string;
  renewalDays: number;
  reason: string;
  agreement?: string | undefined;
  signers: { name: string; role: string; form: string }[];
  appliedAt: string;
  endsAt: string;
}

/**
 * Extend the term in place on every target and in the store. Targets first, record last: a crash
 * in between leaves the targets ahead, and the re-run finds no step to take and records it.
 */
export async function renewAssignment(ctx: Context, id: string, file: string, signatures: string[] | undefined, o: RenewOptions = {}): Promise<RenewResult> {
  const now = ctx.clock.now();
  const loaded = loadAmendment(file);
  const am = loaded.doc;
  if (am.assignment !== id) {
    throw new InputError(`The amendment is for assignment ${am.assignment}, not ${id}.`, {
      code: 'renew.mismatch',
      actions: ['Pass the amendment written for this assignment.'],
    });
  }
  const { verifyDetached } = await import('../assignment/signatures.js');
  const report = await verifyDetached(loaded.bytes, findSignatureFiles(file, signatures), ctx.config.trust, now);
  assertValid(report, `amendment for ${id}`);
  const rec = await ctx.store.getAssignment(id);
  if (!rec) {
    throw new InputError(`No assignment ${id} in the store.`, { code: 'assignment.unknown', actions: ['Run `detailee status` to list assignments.'] });
  }
  const applied = (rec.data.amendments as AppliedAmendment[] | undefined) ?? [];
  const base = { id, previousEndsAt: rec.term.endsAt, renewalsUsed: rec.renewalsUsed, renewalsLeft: rec.renewalsMax - rec.renewalsUsed, plan: [], targets: [], dryRun: o.dryRun === true };
  if (applied.some((a) => a.sha256 === loaded.sha256)) {
    return { ...base, changed: false, term: rec.term, message: `This amendment was already applied to ${id}; nothing to do.` };
  }
  if (rec.state !== 'active') {
    throw new InputError(`Assignment ${id} is ${rec.state}; only an active detail can be renewed.`, {
      code: 'renew.state',
      actions: ['A lapsed or revoked detail needs a new signed assignment.'],
      details: { state: rec.state, allowed: ['active'] },
    });
  }
  if (isDue(rec.term, now)) {
    throw new InputError(`The term of ${id} ended at ${rec.term.endsAt}; a lapsed detail cannot be renewed.`, {
      code: 'renew.lapsed',
      actions: ['Onboard a new signed assignment with a new id.'],
    });
  }
  if (rec.renewalsUsed >= rec.renewalsMax) {
    throw new InputError(`Assignment ${id} has used ${rec.renewalsUsed} of ${rec.renewalsMax} renewal(s) allowed by its manifest.`, {
      code: 'renew.limit',
      actions: ['A longer detail needs a new assignment (5 CFR 335.103 may require competitive procedures).'],
    });
  }
  const period = rec.manifest.term.renewals.days;
  if (am.renewalDays > period) {
    throw new InputError(`The amendment asks for ${am.renewalDays} days; the assignment ${id} allows renewal periods of at most ${period} days (term.renewals.days).`, {
      code: 'renew.period',
      actions: [`Sign an amendment with renewalDays of ${period} or less, or a new assignment that allows longer periods.`],
    });
  }
  const term = renewTerm(rec.term, am.renewalDays);
  const recorded = await recordedTargets(ctx.store, rec);
  const open = await ctx.openTargets();
  try {
    const { targets, missing } = selectRecorded(recorded, open);
    if (missing.length > 0) {
      throw new ActionError(`Assignment ${id} was provisioned on ${missing.map((m) => m.target).join(', ')}, which the config does not name; the renewal would leave the term short there. Nothing was changed.`, {
        code: 'renew.unrecorded-target',
        actions: [`Restore ${missing.map((m) => `targets.${m.target}`).join(' and ')} in the config, then renew again.`],
      });
    }
    const plans = await planAll(targets.map((target) => ({ target, intent: { kind: 'renew' as const, desired: desiredFor(target.name, rec.manifest, term) } })));
    const rows = planRows(plans);
    if (o.dryRun) {
      const renewalsLeft = rec.renewalsMax - rec.renewalsUsed - 1;
      return { ...base, changed: false, term, renewalsLeft, plan: rows, message: `Dry run: ${id} would have its last day on ${term.lastDay} (access ends ${term.endsAt}), ${renewalsLeft} renewal(s) left; nothing was changed.` };
    }
    if (o.confirm && !(await o.confirm(rows, term))) {
      return { ...base, changed: false, term: rec.term, plan: rows, message: `Not confirmed: nothing was changed.` };
    }
    const runId = newRunId();
    const results = await executePlans(plans, {
      store: ctx.store,
      clock: ctx.clock,
      actor: ctx.actor,
      runId,
      assignmentId: id,
      operation: 'renew',
      afterStep: ctx.afterStep,
      auditExtra: clockNote(ctx),
      // A revocation that came in meanwhile wins: no term is extended on a revoked assignment.
      stepGuard: (step, apply) =>
        withAssignmentLock(ctx, id, async () => {
          const cur = await ctx.store.getAssignment(id);
          if (cur?.state !== 'active') throw new ActionError(`stopped before ${step.id}: assignment ${id} is ${cur?.state ?? 'gone'}`, { code: 'renew.stopped' });
          await apply();
        }),
    });
    if (!results.every((r) => r.ok)) {
      return {
        ...base,
        changed: false,
        term: rec.term,
        plan: rows,
        targets: results,
        message: `Renewal of ${id} did not complete on every target; the store still shows the old end. Run the command again.`,
      };
    }
    const at = ctx.clock.now().toISOString();
    let already = false;
    await ctx.store.transaction(async (tx) => {
      const cur = await tx.getAssignment(id);
      if (!cur) throw new ActionError(`Assignment ${id} vanished from the store.`, { code: 'store.lost' });
      // The amendment is keyed by its digest: a second run of the same amendment (or two operators
      // at once) extends the term once. Another amendment recorded meanwhile means this run's
      // term was computed from a stale end.
      const now = (cur.data.amendments as AppliedAmendment[] | undefined) ?? [];
      if (now.some((a) => a.sha256 === loaded.sha256)) {
        already = true;
        return;
      }
      if (cur.state !== 'active' || cur.term.endsAt !== rec.term.endsAt) {
        throw new InputError(`Assignment ${id} changed while this renewal ran (now ${cur.state}, ending ${cur.term.endsAt}); nothing was recorded.`, {
          code: 'renew.conflict',
          actions: [`Run \`detailee show ${id}\`, then the renewal again if it is still wanted.`],
        });
      }
      const entry: AppliedAmendment = {
        sha256: loaded.sha256,
        renewalDays: am.renewalDays,
        reason: am.reason,
        agreement: am.agreement?.reference,
        signers: report.signers.map((s) => ({ name: s.name, role: s.role, form: s.form })),
        appliedAt: at,
        endsAt: term.endsAt,
      };
      await tx.updateAssignment(
        { ...cur, term, renewalsUsed: cur.renewalsUsed + 1, updatedAt: at, data: { ...cur.data, amendments: [...now, entry] } },
        cur.version,
      );
      await tx.appendAudit({
        at,
        actor: ctx.actor,
        kind: 'assignment.renewed',
        assignmentId: id,
        details: { runId, amendmentSha256: loaded.sha256, renewalDays: am.renewalDays, previousEndsAt: rec.term.endsAt, endsAt: term.endsAt, signers: entry.signers, ...clockNote(ctx) },
      });
    });
    if (already) return { ...base, changed: false, term: rec.term, plan: rows, targets: results, message: `This amendment was already applied to ${id}; nothing to do.` };
    return {
      ...base,
      changed: true,
      term,
      renewalsUsed: rec.renewalsUsed + 1,
      renewalsLeft: rec.renewalsMax - rec.renewalsUsed - 1,
      plan: rows,
      targets: results,
      message: `Renewed ${id}: last day now ${term.lastDay}; access ends ${term.endsAt}.`,
    };
  } finally {
    await closeTargets(open);
  }
}
