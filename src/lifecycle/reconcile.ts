import { closeTargets, desiredFor } from '../targets/index.js';
import type { Intent, Observed } from '../targets/model.js';
import type { Target } from '../targets/target.js';
import type { AssignmentRecord } from '../store/types.js';
import { clockNote, newRunId, type Context } from './context.js';
import { executePlans, type PlannedTarget } from './executor.js';
import { missingTargetResult, revokeIntent } from './revoke.js';
import { recordedTargets, selectRecorded, type RecordedTarget } from './recorded.js';
import { prove, proofProblems } from '../targets/proof.js';

export interface ReconcileReport {
  drift: { id: string; target: string; problems: string[]; fixable: boolean; fixed: boolean }[];
  orphans: { target: string; username: string; assignmentId: string | null; reason: string; fixed: boolean }[];
  missing: { id: string; target: string; username: string }[];
  /** Recorded targets that could not be checked (not in the config, or no record of targets at all). */
  unproven: { id: string; target: string | null; reason: string }[];
  checked: number;
}

/** Intended state (the store) against actual (each target). With fix, converge drift and disable orphans. */
export async function reconcile(ctx: Context, o: { fix: boolean; targets?: Target[] }): Promise<{ report: ReconcileReport; plans: PlannedTarget[]; apply: () => Promise<ReconcileReport>; close: () => Promise<void> }> {
  const own = o.targets === undefined;
  const targets = o.targets ?? (await ctx.openTargets());
  const report: ReconcileReport = { drift: [], orphans: [], missing: [], unproven: [], checked: 0 };
  const fixes: { plan: PlannedTarget; id: string; onDone: (ok: boolean) => void }[] = [];
  try {
    const summaries = await ctx.store.listSummaries();
    const byId = new Map(summaries.map((s) => [s.id, s]));
    // Each assignment is checked on the targets recorded for it, whatever the config lists now.
    const recordedBy = new Map<string, RecordedTarget[]>();
    for (const s of summaries) {
      const rec = await ctx.store.getAssignment(s.id);
      if (!rec) continue;
      try {
        const recorded = await recordedTargets(ctx.store, rec);
        recordedBy.set(s.id, recorded);
        for (const m of selectRecorded(recorded, targets).missing) report.unproven.push({ id: s.id, target: m.target, reason: missingTargetResult(m).error! });
      } catch (e) {
        // Onboarding that never got as far as choosing targets has nothing to check; anything else does.
        if (rec.state !== 'active' || rec.data.provisioned === true) report.unproven.push({ id: s.id, target: null, reason: (e as Error).message });
        recordedBy.set(s.id, []);
      }
    }
    for (const target of targets) {
      const managed = new Map<string, Observed>((await target.listManaged()).map((m) => [m.username, m]));
      for (const s of summaries) {
        const rec = await ctx.store.getAssignment(s.id);
        if (!rec) continue;
        const recorded = recordedBy.get(s.id) ?? [];
        if (!recorded.some((r) => r.target === target.name)) {
          // Not provisioned here: an account of this detailee here is somebody else's doing.
          const m = managed.get(rec.username);
          if (m && m.assignmentId === rec.id) {
            managed.delete(rec.username);
            report.orphans.push({ target: target.name, username: rec.username, assignmentId: rec.id, reason: `account on ${target.name}, where assignment ${rec.id} was not provisioned`, fixed: false });
          }
          continue;
        }
        report.checked++;
        const obs = managed.get(rec.username) ?? (await target.inspect(rec.username));
        managed.delete(rec.username);
        if (rec.state !== 'active') {
          // An ended assignment is checked by the same proof as its revocation, over this live read.
          const revokedAt = rec.revokedAt ?? rec.term.endsAt;
          const intent = revokeIntent(rec, revokedAt, recorded, target.name);
          const proof = prove(
            { target: target.name, assignmentId: rec.id, username: rec.username, revokedAt, object: intent.kind === 'revoke' ? intent.object : undefined },
            obs,
            { server: target.server, readAt: ctx.clock.now().toISOString() },
          );
          if (!proof.ok) {
            const d = { id: rec.id, target: target.name, problems: proofProblems(proof), fixable: false, fixed: false };
            report.drift.push(d);
            queue(fixes, target, intent, obs, rec.id, (ok) => (d.fixed = ok));
            d.fixable = fixes.some((f) => f.id === rec.id && f.plan.target === target);
          }
          continue;
        }
        if (!obs.exists) {
          if (rec.state === 'active' && rec.data.provisioned === true) report.missing.push({ id: rec.id, target: target.name, username: rec.username });
          continue;
        }
        const intent = intentFor(rec, target, ctx.clock.now());
        let steps;
        try {
          steps = target.plan(obs, intent);
        } catch (e) {
          // One account the planner refuses (foreign, or revoked under an active assignment) is a finding, not the end of the run.
          report.drift.push({ id: rec.id, target: target.name, problems: [(e as Error).message], fixable: false, fixed: false });
          continue;
        }
        const problems = steps.map((st) => `${st.id}: ${st.detail}`);
        if (intent.kind === 'provision') {
          const want = new Set(intent.desired.groups);
          for (const g of obs.groups) if (!want.has(g)) problems.push(`group ${g} was added outside detailee (remove it by hand; reconcile does not remove groups from an active account)`);
        }
        if (problems.length > 0) {
          const d = { id: rec.id, target: target.name, problems, fixable: steps.length > 0, fixed: false };
          report.drift.push(d);
          if (steps.length > 0) fixes.push({ plan: { target, intent, steps }, id: rec.id, onDone: (ok) => (d.fixed = ok) });
        }
      }
      for (const m of managed.values()) {
        const known = m.assignmentId ? byId.get(m.assignmentId) : undefined;
        if (known) continue;
        const orphan = { target: target.name, username: m.username, assignmentId: m.assignmentId ?? null, reason: 'marked as a detailee account but no assignment in the store', fixed: false };
        report.orphans.push(orphan);
        if (m.enabled) {
          const intent: Intent = { kind: 'revoke', assignmentId: m.assignmentId ?? 'orphan', username: m.username, revokedAt: ctx.clock.now().toISOString() };
          queue(fixes, target, intent, m, m.assignmentId ?? 'orphan', (ok) => (orphan.fixed = ok));
        }
      }
    }
  } catch (e) {
    if (own) await closeTargets(targets);
    throw e;
  }
  const apply = async (): Promise<ReconcileReport> => {
    try {
      for (const f of fixes) {
        const [r] = await executePlans([f.plan], {
          store: ctx.store,
          clock: ctx.clock,
          actor: ctx.actor,
          runId: newRunId(),
          assignmentId: f.id,
          operation: 'reconcile',
          auditExtra: clockNote(ctx),
        });
        f.onDone(r?.ok === true);
      }
      return report;
    } finally {
      if (own) await closeTargets(targets);
    }
  };
  if (!o.fix && own) await closeTargets(targets);
  const close = async () => {
    if (own && o.fix) await closeTargets(targets);
  };
  return { report, plans: fixes.map((f) => f.plan), apply, close };
}

function queue(fixes: { plan: PlannedTarget; id: string; onDone: (ok: boolean) => void }[], target: Target, intent: Intent, obs: Observed, id: string, onDone: (ok: boolean) => void): void {
  let steps;
  try {
    steps = target.plan(obs, intent);
  } catch {
    return; // reported already; nothing safe to apply
  }
  if (steps.length > 0) fixes.push({ plan: { target, intent, steps }, id, onDone });
}

function intentFor(rec: AssignmentRecord, target: Target, now: Date): Intent {
  if (rec.state === 'active') return { kind: 'provision', desired: desiredFor(target.name, rec.manifest, rec.term) };
  return revokeIntent(rec, rec.revokedAt ?? now.toISOString());
}
