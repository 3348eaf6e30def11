import { closeTargets, desiredFor } from '../targets/index.js';
import type { Intent, Observed, Target } from '../targets/target.js';
import type { AssignmentRecord } from '../store/types.js';
import { clockNote, newRunId, type Context } from './context.js';
import { executePlans, type PlannedTarget } from './executor.js';
import { revokeIntent } from './revoke.js';

export interface ReconcileReport {
  drift: { id: string; target: string; problems: string[]; fixable: boolean; fixed: boolean }[];
  orphans: { target: string; username: string; assignmentId: string | null; reason: string; fixed: boolean }[];
  missing: { id: string; target: string; username: string }[];
  checked: number;
}

/** Intended state (the store) against actual (each target). With fix, converge drift and disable orphans. */
export async function reconcile(ctx: Context, o: { fix: boolean; targets?: Target[] }): Promise<{ report: ReconcileReport; plans: PlannedTarget[]; apply: () => Promise<ReconcileReport>; close: () => Promise<void> }> {
  const own = o.targets === undefined;
  const targets = o.targets ?? (await ctx.openTargets());
  const report: ReconcileReport = { drift: [], orphans: [], missing: [], checked: 0 };
  const fixes: { plan: PlannedTarget; id: string; onDone: (ok: boolean) => void }[] = [];
  try {
    const summaries = await ctx.store.listSummaries();
    const byId = new Map(summaries.map((s) => [s.id, s]));
    for (const target of targets) {
      const managed = new Map<string, Observed>((await target.listManaged()).map((m) => [m.username, m]));
      for (const s of summaries) {
        const rec = await ctx.store.getAssignment(s.id);
        if (!rec) continue;
        report.checked++;
        const obs = managed.get(rec.username) ?? (await target.inspect(rec.username));
        managed.delete(rec.username);
        if (rec.state === 'closed') {
          if (obs.exists && obs.enabled) {
            const orphan = { target: target.name, username: rec.username, assignmentId: rec.id, reason: 'enabled account of a closed assignment', fixed: false };
            report.orphans.push(orphan);
            queue(fixes, target, revokeIntent(rec, rec.revokedAt ?? ctx.clock.now().toISOString()), obs, rec.id, (ok) => (orphan.fixed = ok));
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
