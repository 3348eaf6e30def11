import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Assignment } from '../assignment/schema.js';
import type { Term } from '../assignment/term.js';
import type { DueNotice } from './due.js';
import { buildEml, messageIdFor } from './eml.js';
import { existingOutboxFile, outboxFileName, writeOutbox } from './outbox.js';
import { noticeRecipients, preExpiryData, renderNotice } from './render.js';
import type { SmtpSender } from './smtp.js';

export interface NoticeMessage {
  assignmentId: string;
  /** The notice key (e.g. from dueNotices); names the outbox file and seeds the Message-ID. */
  key: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  date: Date;
  /** Defaults to a stable id derived from assignmentId and key. */
  messageId?: string | undefined;
}

export interface DeliveryResult {
  /** The .eml written to the outbox. */
  file: string;
  smtp: 'sent' | 'not-configured' | 'failed';
  /** Why SMTP failed; never holds the password. */
  error?: string;
}

/** Sender when notices.from is not configured. */
export function defaultFromAddress(): string {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
  return `detailee@${host}`;
}

/** The pre-expiry message for one due notice: rendered from the templates, addressed to the three people concerned. */
export function composePreExpiryNotice(input: {
  assignment: Assignment;
  term: Pick<Term, 'endsAt' | 'lastDay' | 'timezone'>;
  notice: Pick<DueNotice, 'key' | 'daysBefore' | 'late' | 'dueAt'>;
  now: Date;
  from: string;
  templatesDir?: string | undefined;
}): NoticeMessage {
  const { subject, text } = renderNotice('pre-expiry', preExpiryData(input), input.templatesDir);
  return {
    assignmentId: input.assignment.id,
    key: input.notice.key,
    from: input.from,
    to: noticeRecipients(input.assignment),
    subject,
    text,
    date: input.now,
  };
}

/**
 * Outbox first, then SMTP. The outbox file is the record of what was said to whom, and it exists
 * even when the relay is down, so a failed send can be retried or forwarded by hand. An SMTP
 * failure is returned, not thrown: the caller decides per notice (the recommended rule is to
 * record the notice key as sent only on 'sent' or 'not-configured', so a failed one is retried
 * the next night under the same Message-ID). A failure to write the outbox is thrown, since then
 * nothing at all was delivered.
 */
export async function deliverNotice(o: { outbox: string; smtp?: SmtpSender | undefined; message: NoticeMessage }): Promise<DeliveryResult> {
  const m = o.message;
  const earlier = await existingOutboxFile(o.outbox, m);
  let file: string;
  let raw: Uint8Array | string;
  if (earlier !== undefined) {
    // A retry: relay the very message written the first time (same Date, same Message-ID).
    file = earlier;
    raw = await readFile(earlier);
  } else {
    raw = buildEml({
      from: m.from,
      to: m.to,
      subject: m.subject,
      text: m.text,
      date: m.date,
      messageId: m.messageId ?? messageIdFor(m.assignmentId, m.key, m.from),
    });
    file = await writeOutbox(o.outbox, raw, outboxFileName({ date: m.date, assignmentId: m.assignmentId, key: m.key }));
  }
  if (!o.smtp) return { file, smtp: 'not-configured' };
  try {
    await o.smtp.send({ from: m.from, to: m.to, raw });
    return { file, smtp: 'sent' };
  } catch (e) {
    return { file, smtp: 'failed', error: (e as Error).message };
  }
}
