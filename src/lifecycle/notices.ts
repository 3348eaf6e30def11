import { resolveSecret } from '../config/load.js';
import type * as NotifyModule from '../notify/index.js';
import type { SmtpSender } from '../notify/smtp.js';
import { clockNote, type Context } from './context.js';
import { pagesEndingBy } from './pages.js';

/** A failure the nightly job reports: which assignment, at what stage, and why. */
export interface NightlyFailure {
  id: string;
  target?: string | undefined;
  stage: string;
  error: string;
}

export interface NoticeOutcome {
  id: string;
  key: string;
  daysBefore: number;
  late: boolean;
  recipients: string[];
  /** sent (outbox + SMTP), outbox (written, no SMTP configured), failed, superseded, or planned (dry run). */
  delivery: 'sent' | 'outbox' | 'failed' | 'superseded' | 'planned';
  file: string | null;
  error?: string | undefined;
}

const DAY_MS = 86_400_000;

/**
 * Pre-expiry notices for every active assignment. A key is recorded only after its message is in
 * the outbox (and, with SMTP, accepted by the relay), so a crash or a relay outage means a retry
 * the next night, never a silent loss; the lock means no two runs send at once.
 */
export async function sendDueNotices(
  ctx: Context,
  now: Date,
  dryRun: boolean,
  failed: NightlyFailure[],
  pageSize?: number | undefined,
): Promise<NoticeOutcome[]> {
  const days = ctx.config.notices.daysBefore;
  if (days.length === 0) return [];
  // Only assignments whose end is within the widest threshold (plus a day for zone offsets).
  const horizon = new Date(now.getTime() + (Math.max(...days) + 1) * DAY_MS).toISOString();
  // Paged and starting after now: the ones already due (possibly many) are not read at all here.
  const pages = pagesEndingBy(ctx.store, horizon, ['active'], { after: { endsAt: now.toISOString(), id: '' }, pageSize });
  let notify: typeof NotifyModule | undefined;
  const out: NoticeOutcome[] = [];
  let smtp: SmtpSender | undefined;
  const outbox = ctx.config.notices.outbox;
  try {
    for await (const page of pages) {
      for (const s of page) {
        if (Date.parse(s.endsAt) <= now.getTime()) continue;
        notify ??= await import('../notify/index.js');
        const rec = await ctx.store.getAssignment(s.id);
        if (!rec) continue;
        const sent = new Set((await ctx.store.noticesFor(s.id)).map((n) => n.noticeKey));
        const amendments = (rec.data.amendments as { appliedAt: string }[] | undefined) ?? [];
        const termSetAt = amendments.length > 0 ? amendments[amendments.length - 1]!.appliedAt : rec.createdAt;
        const due = notify.dueNotices({ endsAt: rec.term.endsAt, timezone: rec.term.timezone, daysBefore: days, sent, now, termSetAt });
        for (const n of due) {
          const recipients = notify.noticeRecipients(rec.manifest);
          const base = { id: s.id, key: n.key, daysBefore: n.daysBefore, late: n.late, recipients };
          if (dryRun) {
            out.push({ ...base, delivery: 'planned', file: null });
            continue;
          }
          if (n.superseded) {
            await mark(ctx, s.id, n.key, 'superseded', null);
            out.push({ ...base, delivery: 'superseded', file: null });
            continue;
          }
          if (!outbox) {
            failed.push({ id: s.id, stage: 'notice', error: 'notices.outbox is not configured; the notice could not be written' });
            out.push({ ...base, delivery: 'failed', file: null, error: 'no outbox' });
            continue;
          }
          if (ctx.config.notices.smtp && !smtp) {
            const cfg = ctx.config.notices.smtp;
            const password = cfg.passwordFile || cfg.passwordEnv ? resolveSecret({ file: cfg.passwordFile, env: cfg.passwordEnv }, 'SMTP password') : undefined;
            smtp = notify.createSmtpSender(cfg, password);
          }
          const message = notify.composePreExpiryNotice({
            assignment: rec.manifest,
            term: rec.term,
            notice: n,
            now: ctx.clock.now(),
            from: ctx.config.notices.from ?? notify.defaultFromAddress(),
          });
          try {
            const r = await notify.deliverNotice({ outbox, smtp, message });
            if (r.smtp === 'failed') {
              failed.push({ id: s.id, stage: 'notice', error: `SMTP: ${r.error ?? 'failed'} (kept in ${r.file}; retried next run)` });
              out.push({ ...base, delivery: 'failed', file: r.file, error: r.error });
              continue;
            }
            await mark(ctx, s.id, n.key, r.smtp === 'sent' ? 'sent' : 'outbox', r.file);
            out.push({ ...base, delivery: r.smtp === 'sent' ? 'sent' : 'outbox', file: r.file });
          } catch (e) {
            failed.push({ id: s.id, stage: 'notice', error: (e as Error).message });
            out.push({ ...base, delivery: 'failed', file: null, error: (e as Error).message });
          }
        }
      }
    }
  } finally {
    await smtp?.close();
  }
  return out;
}

async function mark(ctx: Context, id: string, key: string, delivery: string, file: string | null): Promise<void> {
  const at = ctx.clock.now().toISOString();
  await ctx.store.transaction(async (tx) => {
    if (!(await tx.markNotice(id, key, at))) return;
    await tx.appendAudit({ at, actor: ctx.actor, kind: 'notice.sent', assignmentId: id, details: { key, delivery, file, ...clockNote(ctx) } });
  });
}
