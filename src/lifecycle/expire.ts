import { hostname } from 'node:os';
import { DateTime } from 'luxon';
import { InputError, LockedError } from '../errors.js';
import { closeTargets } from '../targets/index.js';
import type { Target } from '../targets/target.js';
import type { AssignmentSummary } from '../store/types.js';
import { recordEvent } from '../audit/record.js';
import { clockNote, newRunId, type Context } from './context.js';
import { executePlans, planAll, type TargetResult } from './executor.js';
import { pagesEndingBy } from './pages.js';
import { mapPool } from './pool.js';
import { applyRevocation, missingTargetResult, proveRevocation, recordRevocation, revokeAssignment, revokeIntent, type RevocationData } from './revoke.js';
import { recordedTargets, selectRecorded } from './recorded.js';
import { reproofDue } from './reproof.js';
import { HEARTBEAT_KEY } from './status.js';
import { sendDueNotices, type NightlyFailure, type NoticeOutcome } from './notices.js';
import { enableStarted, type StartDayOutcome } from './start-day.js';

export const LOCK_NAME = 'expire';
/** A lock older than this is a dead run's; the next run takes it over (and logs that). */
export const LOCK_TTL_MS = 2 * 60 * 60 * 1000;
/** Closed ones too: an account re-enabled by hand after the certificate must not go unnoticed. */
const ENDED_STATES = ['expired', 'revoked', 'offboarding', 'closed'] as const;
/** Later than any end of term: every ended assignment, whenever its term would have ended. */
const FOREVER = '9999-12-31T23:59:59.999Z';

export interface ExpireReport {
  ranAt: string;
  asOf: string;
  dryRun: boolean;
  notices: NoticeOutcome[];
  /**
   * In a dry run, what would be revoked: `complete` is false (nothing was done) and `wouldRevoke`
   * is true. Otherwise `complete` says every target confirmed the revocation by reading it back.
   */
  revoked: {
    id: string;
    username: string;
    complete: boolean;
    wouldRevoke?: true | undefined;
    targets: { target: string; ok: boolean; error?: string | undefined }[];
  }[];
  drift: { id: string; target: string; problems: string[]; fixed: boolean }[];
  /**
   * Ended assignments whose proven revocation no longer holds on a live target (an account
   * re-enabled, a key re-activated, a group re-added by hand): the object and the failed facts.
   * Always exit 1, also when `repaired`: someone changed a revoked account.
   */
  regressed: { id: string; target: string; object: string; facts: string[]; repaired: boolean }[];
  /** How many ended assignments were re-proven against the live targets tonight. */
  reproved: number;
  /** AD accounts provisioned (disabled) before their start, enabled and proven from their start day on. */
  enabled: StartDayOutcome[];
  failed: NightlyFailure[];
  lock: { takenOver: { holder: string; acquiredAt: string } | null };
}

export interface ExpireOptions {
  dryRun: boolean;
  asOf?: Date | undefined;
  concurrency: number;
  /** Rows read from the store at once (default PAGE_SIZE). */
  pageSize?: number | undefined;
  onProgress?: ((stage: string, done: number, total: number) => void) | undefined;
}

export function exitCodeOf(r: ExpireReport): 0 | 1 {
  const bad = r.failed.length > 0 || r.regressed.length > 0 || (!r.dryRun && r.revoked.some((x) => !x.complete)) || r.drift.some((d) => !d.fixed && !r.dryRun);
  return bad ? 1 : 0;
}

/** The nightly job: notices, revocations (endsAt <= now), re-verification of what was revoked, heartbeat. */
export async function runExpire(ctx: Context, o: ExpireOptions): Promise<ExpireReport> {
  if (o.asOf && !o.dryRun) {
    throw new InputError('--as-of is a forecast and is accepted only with --dry-run.', {
      code: 'expire.as-of',
      actions: ['Add --dry-run, or drop --as-of to act on the current time.'],
    });
  }
  const ranAt = ctx.clock.now();
  const now = o.asOf ?? ranAt;
  const runId = newRunId();
  const holder = `${hostname()}:${process.pid}:${runId}`;
  const report: ExpireReport = {
    ranAt: ranAt.toISOString(),
    asOf: now.toISOString(),
    dryRun: o.dryRun,
    notices: [],
    revoked: [],
    drift: [],
    regressed: [],
    reproved: 0,
    enabled: [],
    failed: [],
    lock: { takenOver: null },
  };
  if (!o.dryRun) {
    const lock = await ctx.store.acquireLock(LOCK_NAME, holder, ranAt, LOCK_TTL_MS);
    if (!lock.acquired) {
      throw new LockedError('Another `detailee expire` run holds the lock.', {
        code: 'expire.locked',
        actions: ['Wait for it to finish; a lock left by a killed run is taken over after two hours.'],
      });
    }
    if (lock.takenOver) {
      report.lock.takenOver = { holder: lock.takenOver.holder, acquiredAt: lock.takenOver.acquiredAt };
      await recordEvent(ctx, 'lock.taken-over', null, { lock: LOCK_NAME, previousHolder: lock.takenOver.holder, since: lock.takenOver.acquiredAt });
    }
  }
  // The lock's time-to-live only tells a dead run from a live one: a live run renews it as it goes,
  // so a night with many revocations cannot be taken over by the next run while still working.
  let renewedAt = ranAt.getTime();
  const keepLock = async () => {
    if (o.dryRun) return;
    const at = ctx.clock.now();
    if (at.getTime() - renewedAt < LOCK_TTL_MS / 4) return;
    renewedAt = at.getTime();
    if (!(await ctx.store.acquireLock(LOCK_NAME, holder, at, LOCK_TTL_MS)).acquired) {
      throw new LockedError('Another `detailee expire` run took over the lock while this one was running; this run stopped.', {
        code: 'expire.lock-lost',
        actions: ['Let the other run finish; then run `detailee expire` again to see what is left.'],
      });
    }
  };
  let targets: Target[] | undefined;
  const getTargets = async () => (targets ??= await ctx.openTargets());
  try {
    report.notices = await sendDueNotices(ctx, now, o.dryRun, report.failed, o.pageSize);

    // Due and ended assignments are read a page at a time and only a compact entry per assignment
    // is kept, so a night's memory stays flat however many are due.
    const nowIso = now.toISOString();
    const dueTotal = await ctx.store.countEndingBy(nowIso, ['active']);
    if (dueTotal > 0) {
      let ts: Target[] = [];
      let unavailable: string | undefined;
      try {
        ts = await getTargets();
      } catch (e) {
        unavailable = `targets unavailable: ${(e as Error).message}`;
      }
      const revocable = ts.length > 0 || (!ctx.config.targets.ldap && !ctx.config.targets.aws && !ctx.config.targets.ad);
      let done = 0;
      for await (const page of pagesEndingBy(ctx.store, nowIso, ['active'], { pageSize: o.pageSize })) {
        if (unavailable !== undefined) {
          for (const d of page) report.failed.push({ id: d.id, stage: 'revoke', error: unavailable });
          continue;
        }
        if (!revocable) continue;
        // A fully provisioned assignment plans its revocation from its record; only the others
        // (onboarded before records, or never finished) read their accounts first.
        await readAhead(
          ts,
          page.filter((s) => s.provisioned !== true),
        );
        // The page's writes first, then one listing per target for the proofs (where a target
        // has one: the reads it replaces would cost the server more than the writes), then the proofs.
        const revokeOptions = { reason: 'end of term', finalState: 'expired' as const, targets: async () => ts, dryRun: o.dryRun };
        const written = await mapPool(page, o.dryRun ? 1 : o.concurrency, async (d) => {
          await keepLock();
          try {
            return { d, started: await applyRevocation(ctx, d.id, revokeOptions) };
          } catch (e) {
            report.failed.push({ id: d.id, stage: 'revoke', error: (e as Error).message });
            o.onProgress?.('revoke', ++done, dueTotal);
            return undefined;
          }
        });
        const toProve = written.flatMap((w) => (w && !('complete' in w.started) ? [w.started] : []));
        await listForProof(ts, toProve.map((r) => r.username));
        const results = await mapPool(written, o.dryRun ? 1 : o.concurrency, async (w) => {
          if (!w) return undefined;
          const { d, started } = w;
          try {
            // A dry run changes nothing, so nothing is complete: it lists what would be revoked.
            if ('complete' in started) return { id: d.id, username: d.username, complete: false, wouldRevoke: true as const, targets: [] };
            await keepLock();
            const r = await proveRevocation(ctx, started);
            return { id: d.id, username: d.username, complete: r.complete, targets: r.targets.map((t) => ({ target: t.target, ok: t.ok, error: t.error })) };
          } catch (e) {
            report.failed.push({ id: d.id, stage: 'revoke', error: (e as Error).message });
            return undefined;
          } finally {
            o.onProgress?.('revoke', ++done, dueTotal);
          }
        });
        for (const r of results) {
          if (!r) continue;
          report.revoked.push(r);
          for (const t of r.targets) if (!t.ok) report.failed.push({ id: r.id, target: t.target, stage: 'revoke', error: t.error ?? 'failed' });
        }
      }
    }

    report.enabled = await enableStarted(ctx, now, getTargets, o.dryRun, report.failed);

    const revokedIds = new Set(report.revoked.map((r) => r.id));
    const endedTotal = await ctx.store.countEndingBy(FOREVER, ENDED_STATES);
    if (endedTotal > 0) {
      let ts: Target[] = [];
      try {
        ts = await getTargets();
      } catch (e) {
        report.failed.push({ id: '*', stage: 'reverify', error: `targets unavailable: ${(e as Error).message}` });
      }
      let done = 0;
      for await (const page of pagesEndingBy(ctx.store, FOREVER, ENDED_STATES, { pageSize: o.pageSize })) {
        // No read-ahead here: a proof is each account's own live read, and a listing would only
        // serve the rare repair's plan.
        await mapPool(page, o.concurrency, async (s) => {
          if (!revokedIds.has(s.id) && reproofDue(s, now, ctx.config.reproof)) {
            await keepLock();
            await reverify(ctx, s, ts, o.dryRun, report);
          }
          o.onProgress?.('reverify', ++done, endedTotal);
        });
      }
    }

    if (!o.dryRun) {
      const ok = exitCodeOf(report) === 0;
      await ctx.store.transaction(async (tx) => {
        await tx.setMeta(HEARTBEAT_KEY, { at: ranAt.toISOString(), runId, ok });
        await tx.appendAudit({
          at: ctx.clock.now().toISOString(),
          actor: ctx.actor,
          kind: 'expire.run',
          assignmentId: null,
          details: {
            runId,
            notices: report.notices.length,
            revoked: report.revoked.map((r) => r.id),
            drift: report.drift.map((d) => `${d.id}/${d.target}`),
            failed: report.failed.map((f) => `${f.id}/${f.target ?? '-'}: ${f.stage}`),
            ...clockNote(ctx),
          },
        });
      });
    }
  } finally {
    if (targets) await closeTargets(targets);
    if (!o.dryRun) await ctx.store.releaseLock(LOCK_NAME, holder).catch(() => undefined);
  }
  return report;
}

/** After the page's writes, let each target list the accounts for their proofs; failing that, each is read on its own. */
async function listForProof(targets: Target[], usernames: string[]): Promise<void> {
  if (usernames.length === 0) return;
  await Promise.all(targets.map((t) => t.listForProof?.(usernames).catch(() => undefined)));
}

/** Let each target read the page's accounts ahead for their revocation plans; failing that, each is read on its own. */
async function readAhead(targets: Target[], page: AssignmentSummary[]): Promise<void> {
  const usernames = page.map((s) => s.username);
  await Promise.all(targets.map((t) => t.readAhead?.(usernames).catch(() => undefined)));
}

/**
 * Re-prove an ended assignment on every recorded target from live reads. A proof that fails where
 * one held before is a regression: audited, reported (exit 1), and repaired by revoking again.
 */
async function reverify(ctx: Context, s: AssignmentSummary, targets: Target[], dryRun: boolean, report: ExpireReport): Promise<void> {
  const rec = await ctx.store.getAssignment(s.id);
  if (!rec) return;
  let recorded;
  try {
    recorded = await recordedTargets(ctx.store, rec);
  } catch (e) {
    report.failed.push({ id: s.id, stage: 'reverify', error: (e as Error).message });
    return;
  }
  // A revocation an earlier run left incomplete is finished as a revocation: repairing it as drift
  // would fix the targets but leave the record (and `show`) saying "incomplete" for good.
  if ((rec.data.revocation as RevocationData | undefined)?.complete === false && rec.state !== 'closed' && !dryRun && targets.length > 0) {
    try {
      const r = await revokeAssignment(ctx, s.id, { reason: rec.revokeReason ?? 'end of term', finalState: 'expired', targets });
      report.revoked.push({ id: s.id, username: s.username, complete: r.complete, targets: r.targets.map((t) => ({ target: t.target, ok: t.ok, error: t.error })) });
      for (const t of r.targets) if (!t.ok) report.failed.push({ id: s.id, target: t.target, stage: 'revoke', error: t.error ?? 'failed' });
    } catch (e) {
      report.failed.push({ id: s.id, stage: 'revoke', error: (e as Error).message });
    }
    return;
  }
  report.reproved++;
  const revokedAt = rec.revokedAt ?? rec.term.endsAt;
  const { targets: mine, missing } = selectRecorded(recorded, targets);
  for (const m of missing) report.failed.push({ id: s.id, target: m.target, stage: 'reverify', error: missingTargetResult(m).error! });
  const regressions: TargetResult[] = [];
  for (const target of mine) {
    const intent = revokeIntent(rec, revokedAt, recorded, target.name);
    let v;
    try {
      v = await target.verify(intent);
    } catch (e) {
      report.failed.push({ id: s.id, target: target.name, stage: 'reverify', error: `not proven: the target could not be read: ${(e as Error).message}` });
      continue;
    }
    if (v.ok) continue;
    const entry = { id: s.id, target: target.name, object: v.proof?.object ?? rec.username, facts: v.problems, repaired: false };
    report.regressed.push(entry);
    report.drift.push({ id: s.id, target: target.name, problems: v.problems, fixed: false });
    if (dryRun) continue;
    await recordEvent(ctx, 'revocation.regressed', s.id, { target: target.name, object: entry.object, facts: v.problems, proof: v.proof ?? null });
    try {
      const [plan] = await planAll([{ target, intent }]);
      const [res] = plan
        ? await executePlans([plan], { store: ctx.store, clock: ctx.clock, actor: ctx.actor, runId: newRunId(), assignmentId: s.id, operation: 'reverify', auditExtra: clockNote(ctx) })
        : [];
      entry.repaired = res?.ok === true;
      report.drift[report.drift.length - 1]!.fixed = entry.repaired;
      regressions.push(res ?? { target: target.name, ok: false, steps: [], error: 'no plan' });
    } catch (e) {
      report.failed.push({ id: s.id, target: target.name, stage: 'reverify', error: (e as Error).message });
      regressions.push({ target: target.name, ok: false, steps: [], error: (e as Error).message });
    }
  }
  if (regressions.length > 0 && !dryRun) {
    // The record says "regressed" until every target is proven again in one pass.
    const fresh: TargetResult[] = [];
    for (const target of mine) {
      try {
        const v = await target.verify(revokeIntent(rec, revokedAt, recorded, target.name));
        fresh.push({ target: target.name, ok: v.ok, steps: [], proof: v.proof, error: v.ok ? undefined : v.problems.join('; ') });
      } catch (e) {
        fresh.push({ target: target.name, ok: false, steps: [], error: (e as Error).message });
      }
    }
    const all = [...fresh, ...missing.map(missingTargetResult)];
    const prior = rec.data.revocation as RevocationData | undefined;
    await recordRevocation(ctx, s.id, revokedAt, all, {
      runId: newRunId(),
      at: ctx.clock.now().toISOString(),
      note: clockNote(ctx),
      kind: 'revocation.reproved',
    });
    // Proven again now, but a regression happened: keep it visible until someone looks.
    if (prior) await markRegressed(ctx, s.id);
  }
}

async function markRegressed(ctx: Context, id: string): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const cur = await tx.getAssignment(id);
    if (!cur) return;
    const r = cur.data.revocation as RevocationData | undefined;
    if (!r) return;
    await tx.updateAssignment({ ...cur, data: { ...cur.data, revocation: { ...r, condition: 'regressed', regressedAt: ctx.clock.now().toISOString() } } }, cur.version);
  });
}

/** The forecast date for --as-of: a date means the start of that day in the host zone. */
export function parseAsOf(raw: string, zone: string): Date {
  const dt = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? DateTime.fromISO(raw, { zone }) : DateTime.fromISO(raw, { setZone: true });
  if (!dt.isValid) {
    throw new InputError(`--as-of ${JSON.stringify(raw)} is not a date or date-time.`, {
      code: 'expire.as-of',
      actions: ['Write it as YYYY-MM-DD or an ISO-8601 date-time with offset.'],
    });
  }
  return dt.toJSDate();
}
