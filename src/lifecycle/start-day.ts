import { ActionError } from '../errors.js';
import { desiredFor } from '../targets/index.js';
import type { Target } from '../targets/target.js';
import type { AssignmentRecord, AssignmentSummary } from '../store/types.js';
import { recordEvent } from '../audit/record.js';
import { withAssignmentLock } from './assignment-lock.js';
import { clockNote, newRunId, type Context } from './context.js';
import { executePlans, planAll } from './executor.js';
import type { NightlyFailure } from './notices.js';
import { recordedOn, type RecordedTarget } from './recorded.js';

/**
 * The start-day enable. Active Directory has no "not before": an account provisioned before its
 * term starts is created disabled, and the nightly job enables it from the start on, proving it with
 * a fresh read. Targets with a start the server enforces (LDAP pwdStartTime, IAM's time-bound
 * policy) never wait here. The record says which accounts wait: provisioned before the start and
 * not enabled since (`enabledAt`).
 */

/** Targets whose account is created disabled before the start and enabled by the nightly job. */
const START_DAY_TARGETS = new Set<string>(['ad']);

export interface StartDayOutcome {
  id: string;
  target: string;
  /** The enabling is proven by a read after it (never in a dry run, which only lists it). */
  enabled: boolean;
  error?: string | undefined;
}

/** The recorded targets of an assignment that still wait for their start-day enable at `now`. */
export function waitingForStart(rec: Pick<AssignmentRecord, 'state' | 'term' | 'data'>, now: Date): RecordedTarget[] {
  if (rec.state !== 'active' || rec.data.provisioned !== true || now.getTime() < Date.parse(rec.term.startsAt) || now.getTime() >= Date.parse(rec.term.endsAt)) return [];
  return (recordedOn(rec as AssignmentRecord) ?? []).filter((r) => awaitsStart([r], rec.term.startsAt));
}

export async function enableStarted(ctx: Context, now: Date, getTargets: () => Promise<Target[]>, dryRun: boolean, failed: NightlyFailure[]): Promise<StartDayOutcome[]> {
  const out: StartDayOutcome[] = [];
  // Only the assignments whose record says one waits are read in full (data.awaitingStart, found
  // by an index): a night with 100,000 active assignments reads none of them.
  for await (const s of awaitingSummaries(ctx, now)) {
    const rec = await ctx.store.getAssignment(s.id);
    if (!rec) continue;
    for (const r of waitingForStart(rec, now)) {
      const outcome: StartDayOutcome = { id: s.id, target: r.target, enabled: false };
      out.push(outcome);
      if (dryRun) continue;
      try {
        const target = (await getTargets()).find((t) => t.name === r.target);
        if (!target) throw new ActionError(`the assignment was provisioned on ${r.target}, but the config has no targets.${r.target}: not enabled`, { code: 'start.enable' });
        const intent = { kind: 'provision' as const, desired: desiredFor(target.name, rec.manifest, rec.term) };
        const [plan] = await planAll([{ target, intent }]);
        const [res] = await executePlans([plan!], {
          store: ctx.store,
          clock: ctx.clock,
          actor: ctx.actor,
          runId: newRunId(),
          assignmentId: s.id,
          operation: 'start',
          auditExtra: clockNote(ctx),
          // A revocation that came in meanwhile wins: the account is not enabled after it.
          stepGuard: (step, apply) =>
            withAssignmentLock(ctx, s.id, async () => {
              const cur = await ctx.store.getAssignment(s.id);
              if (cur?.state !== 'active') throw new ActionError(`stopped before ${step.id}: assignment ${s.id} is ${cur?.state ?? 'gone'}`, { code: 'start.stopped' });
              await apply();
            }),
        });
        if (!res?.ok) throw new ActionError(res?.error ?? 'not enabled', { code: 'start.enable' });
        outcome.enabled = true;
        await markEnabled(ctx, s.id, r.target);
        await recordEvent(ctx, 'account.enabled', s.id, { target: r.target, object: res.object ?? r.object ?? null, startsAt: rec.term.startsAt });
      } catch (e) {
        outcome.error = (e as Error).message;
        failed.push({ id: s.id, target: r.target, stage: 'enable', error: outcome.error });
      }
    }
  }
  return out;
}

async function* awaitingSummaries(ctx: Context, now: Date): AsyncGenerator<AssignmentSummary> {
  for (const s of await ctx.store.listAwaitingStart()) {
    if (s.provisioned === true && Date.parse(s.startsAt) <= now.getTime() && now.getTime() < Date.parse(s.endsAt)) yield s;
  }
}

/** Whether any recorded target of these waits for the start-day enable (the record's data.awaitingStart). */
export function awaitsStart(targets: readonly RecordedTarget[], startsAt: string): boolean {
  const start = Date.parse(startsAt);
  return targets.some((r) => START_DAY_TARGETS.has(r.target) && r.provisionedAt !== undefined && Date.parse(r.provisionedAt) < start && r.enabledAt === undefined);
}

async function markEnabled(ctx: Context, id: string, target: string): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const cur = await tx.getAssignment(id);
    if (!cur) return;
    const at = ctx.clock.now().toISOString();
    const targets = (recordedOn(cur) ?? []).map((t) => (t.target === target ? { ...t, enabledAt: at } : t));
    await tx.updateAssignment({ ...cur, updatedAt: at, data: { ...cur.data, targets, awaitingStart: awaitsStart(targets, cur.term.startsAt) } }, cur.version);
  });
}
