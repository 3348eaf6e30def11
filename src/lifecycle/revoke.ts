import { ActionError, InputError } from '../errors.js';
import { closeTargets } from '../targets/index.js';
import { summarizeProof, type TargetProof } from '../targets/proof.js';
import type { Intent } from '../targets/model.js';
import type { Target } from '../targets/target.js';
import type { AssignmentRecord, RevocationCondition } from '../store/types.js';
import { withAssignmentLock } from './assignment-lock.js';
import { clockNote, newRunId, type Context } from './context.js';
import { executePlans, planAll, type PlannedTarget, type TargetResult } from './executor.js';
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
  const ownTargets = options.targets === undefined;
  const open = options.targets ?? (await ctx.openTargets());
  const note = clockNote(ctx);
  try {
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
    const rows = planRows(plans);
    const runId = newRunId();
    const exec = (ps: PlannedTarget[]) =>
      executePlans(ps, {
        store: ctx.store,
        clock: ctx.clock,
        actor: ctx.actor,
        runId,
        assignmentId: id,
        operation: options.finalState === 'expired' ? 'expire' : 'revoke',
        afterStep: ctx.afterStep,
        auditExtra: note,
      });
    let applied = await exec(plans);
    // Only a target whose writes all took but whose proof failed goes round again: the account
    // was changed by hand since onboarding. A write that failed (a server down) is reported as it
    // is; reading the same unreachable server again would only bury that error under another.
    const again = applied.filter((r) => !r.ok && r.steps.every((st) => st.status === 'done') && fromRecord.some((p) => p.target.name === r.target));
    if (again.length > 0) {
      const retried = await exec(await planAll(targets.filter((t) => again.some((r) => r.target === t.name)).map(intentFor), { settle: true }));
      applied = applied.map((r) => {
        const second = retried.find((x) => x.target === r.target);
        // Both rounds' steps are reported; the outcome is the second round's.
        return second ? { ...second, steps: [...r.steps.filter((st) => st.status === 'done'), ...second.steps] } : r;
      });
    }
    const results = [...applied, ...missing.map(missingTargetResult)];
    const at = ctx.clock.now().toISOString();
    const data = await recordRevocation(ctx, id, revokedAt, results, { runId, at, note });
    return {
      id,
      state,
      revokedAt,
      complete: data.complete,
      changed: results.some((r) => r.steps.some((s) => s.status === 'done')) || state !== rec.state,
      plan: rows,
      targets: results,
      message: data.complete
        ? `Access for ${id} is revoked and proven on every recorded target (${recorded.map((r) => r.target).join(', ')}) by reading it back.`
        : `Revocation of ${id} is INCOMPLETE: ${results
            .filter((r) => !r.ok)
            .map((r) => `${r.target}: ${r.error}`)
            .join('; ')}. It is not proven until every recorded target reads back revoked. Run the command again once what is named is fixed.`,
    };
  } finally {
    if (ownTargets) await closeTargets(open);
  }
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
