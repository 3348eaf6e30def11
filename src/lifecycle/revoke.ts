import { ActionError, InputError } from '../errors.js';
import { closeTargets } from '../targets/index.js';
import type { Intent, Target } from '../targets/target.js';
import type { AssignmentRecord } from '../store/types.js';
import { clockNote, newRunId, type Context } from './context.js';
import { executePlans, planAll, type TargetResult } from './executor.js';
import { planRows, type PlanRow } from './onboard.js';

export interface RevocationEvidence {
  revokedAt: string;
  targets: { target: string; verifiedAt: string; evidence: string[] }[];
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

export function revokeIntent(rec: AssignmentRecord, revokedAt: string): Intent {
  return { kind: 'revoke', assignmentId: rec.id, username: rec.username, revokedAt };
}

/**
 * Disable on every target and verify. `finalState` is `revoked` (by hand) or `expired` (the
 * nightly job). The state is recorded first, so the store says what was intended even if a
 * target is down; `data.revocation.complete` says whether every target confirmed it.
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
  const now = ctx.clock.now();
  // A repeated revocation keeps the first time, so the deny policy and evidence stay stable.
  const revokedAt = rec.revokedAt ?? now.toISOString();
  const ownTargets = options.targets === undefined;
  const targets = options.targets ?? (await ctx.openTargets());
  const note = clockNote(ctx);
  try {
    const plans = await planAll(targets.map((target) => ({ target, intent: revokeIntent(rec, revokedAt) })), { settle: !options.dryRun });
    const rows = planRows(plans);
    if (options.dryRun) {
      return { id, state: rec.state, revokedAt, complete: false, changed: false, plan: rows, targets: [], message: 'dry run: nothing changed' };
    }
    let state = rec.state;
    if (rec.state === 'active') {
      state = options.finalState;
      await ctx.store.transaction(async (tx) => {
        const cur = await tx.getAssignment(id);
        if (!cur) throw new ActionError(`Assignment ${id} vanished from the store.`, { code: 'store.lost' });
        await tx.updateAssignment(
          {
            ...cur,
            state: options.finalState,
            revokedAt,
            revokeReason: options.reason,
            updatedAt: now.toISOString(),
            data: { ...cur.data, revocation: { revokedAt, complete: false, targets: [] } },
          },
          cur.version,
        );
        await tx.appendAudit({
          at: now.toISOString(),
          actor: ctx.actor,
          kind: options.finalState === 'expired' ? 'assignment.expiring' : 'assignment.revoking',
          assignmentId: id,
          details: { reason: options.reason, revokedAt, plan: rows.map((r) => r.step), ...note },
        });
      });
    }
    const runId = newRunId();
    const results = await executePlans(plans, {
      store: ctx.store,
      clock: ctx.clock,
      actor: ctx.actor,
      runId,
      assignmentId: id,
      operation: options.finalState === 'expired' ? 'expire' : 'revoke',
      afterStep: ctx.afterStep,
      auditExtra: note,
    });
    const complete = results.every((r) => r.ok);
    const at = ctx.clock.now().toISOString();
    const evidence: RevocationEvidence = {
      revokedAt,
      targets: results
        .filter((r) => r.ok)
        .map((r) => ({ target: r.target, verifiedAt: at, evidence: verifiedFacts(r) })),
    };
    await ctx.store.transaction(async (tx) => {
      const cur = await tx.getAssignment(id);
      if (!cur) throw new ActionError(`Assignment ${id} vanished from the store.`, { code: 'store.lost' });
      await tx.updateAssignment({ ...cur, updatedAt: at, data: { ...cur.data, revocation: { ...evidence, complete } } }, cur.version);
      await tx.appendAudit({
        at,
        actor: ctx.actor,
        kind: complete ? 'revocation.verified' : 'revocation.incomplete',
        assignmentId: id,
        details: {
          runId,
          revokedAt,
          targets: results.map((r) => ({ target: r.target, ok: r.ok, error: r.error, pending: r.steps.filter((s) => s.status !== 'done').map((s) => s.id) })),
          ...note,
        },
      });
    });
    return {
      id,
      state,
      revokedAt,
      complete,
      changed: results.some((r) => r.steps.some((s) => s.status === 'done')) || state !== rec.state,
      plan: rows,
      targets: results,
      message: complete
        ? `Access for ${id} is revoked on every target and verified by reading it back.`
        : `Revocation of ${id} is INCOMPLETE: ${results
            .filter((r) => !r.ok)
            .map((r) => `${r.target}: ${r.error}`)
            .join('; ')}. Run the command again to finish the pending steps.`,
    };
  } finally {
    if (ownTargets) await closeTargets(targets);
  }
}

function verifiedFacts(r: TargetResult): string[] {
  const done = r.steps.filter((s) => s.status === 'done').map((s) => `${s.id}: ${s.detail}`);
  return [...done, 'read back: every revocation check passed'];
}
