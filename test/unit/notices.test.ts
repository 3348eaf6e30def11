import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { assignmentSchema, type Assignment } from '../../src/assignment/schema.js';
import { computeTerm, renewTerm, type Term } from '../../src/assignment/term.js';
import { ActionError, InputError } from '../../src/errors.js';
import {
  buildEml,
  composePreExpiryNotice,
  createSmtpSender,
  deliverNotice,
  dueNotices,
  noticeRecipients,
  outboxFileName,
  preExpiryData,
  renderNotice,
  writeOutbox,
  type DueNotice,
  type NoticeData,
  type SmtpSender,
} from '../../src/notify/index.js';
import { isLoopbackHost } from '../../src/net/loopback.js';
import { manifest, tempDir } from '../helpers/manifest.js';

const NY = 'America/New_York';
const DAYS = [30, 14, 7, 1];
// 120 days from 2025-02-06: last day Thursday 2025-06-05, end 2025-06-06T00:00 New York (EDT).
const TERM = computeTerm('2025-02-06', 120, NY);

/** A wall-clock time in New York as a Date, so each test reads like the night it describes. */
const ny = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toJSDate();

function assignment(overrides: Record<string, unknown> = {}): Assignment {
  return assignmentSchema.parse(manifest(overrides));
}

/** The nightly job as the caller runs it: ask, then record every returned key as sent. */
function runNight(term: Pick<Term, 'endsAt' | 'timezone'>, sent: Set<string>, now: Date, extra: { termSetAt?: string } = {}): DueNotice[] {
  const due = dueNotices({ endsAt: term.endsAt, timezone: term.timezone, daysBefore: DAYS, sent, now, ...extra });
  for (const n of due) sent.add(n.key);
  return due;
}

describe('dueNotices', () => {
  it('fires each threshold exactly once, on its day, when the job runs twice every night', () => {
    const sent = new Set<string>();
    const fired: { day: string; d: number; late: boolean }[] = [];
    for (let day = DateTime.fromISO('2025-04-20', { zone: NY }); day < DateTime.fromISO('2025-06-10', { zone: NY }); day = day.plus({ days: 1 })) {
      for (const hour of [2, 3]) {
        for (const n of runNight(TERM, sent, day.set({ hour }).toJSDate())) fired.push({ day: day.toISODate()!, d: n.daysBefore, late: n.late });
      }
    }
    expect(fired).toEqual([
      { day: '2025-05-07', d: 30, late: false },
      { day: '2025-05-23', d: 14, late: false },
      { day: '2025-05-30', d: 7, late: false },
      { day: '2025-06-05', d: 1, late: false },
    ]);
  });

  it('opens a threshold at local midnight, not before', () => {
    expect(dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: [7], sent: new Set(), now: ny('2025-05-29T23:59:59') })).toEqual([]);
    expect(dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: [7], sent: new Set(), now: ny('2025-05-30T00:00:00') })).toEqual([
      { key: `pre-expiry:${TERM.endsAt}:7`, daysBefore: 7, late: false, superseded: false, dueAt: '2025-05-30T00:00:00-04:00' },
    ]);
  });

  it('sends a threshold missed on a skipped night once, late, the next night', () => {
    const sent = new Set<string>();
    runNight(TERM, sent, ny('2025-05-22T02:00'));
    // No run on 2025-05-23, the 14-day day.
    const next = runNight(TERM, sent, ny('2025-05-24T02:00'));
    expect(next.map((n) => [n.daysBefore, n.late])).toEqual([[14, true]]);
    expect(runNight(TERM, sent, ny('2025-05-25T02:00'))).toEqual([]);
  });

  it('sends every threshold missed during an outage, oldest first, each once and late', () => {
    const sent = new Set<string>([`pre-expiry:${TERM.endsAt}:30`]);
    // Down from 2025-05-20 to 2025-06-01: the 14- and 7-day days both passed.
    const due = runNight(TERM, sent, ny('2025-06-01T02:00'));
    expect(due.map((n) => ({ d: n.daysBefore, late: n.late, superseded: n.superseded }))).toEqual([
      { d: 14, late: true, superseded: false },
      { d: 7, late: true, superseded: false },
    ]);
    expect(runNight(TERM, sent, ny('2025-06-01T03:00'))).toEqual([]);
    expect(runNight(TERM, sent, ny('2025-06-05T02:00')).map((n) => [n.daysBefore, n.late])).toEqual([[1, false]]);
  });

  it('with collapse, mails only the most urgent of several due and marks the rest superseded', () => {
    const due = dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: DAYS, sent: new Set(), now: ny('2025-06-01T02:00'), collapse: true });
    expect(due.map((n) => [n.daysBefore, n.superseded])).toEqual([
      [30, true],
      [14, true],
      [7, false],
    ]);
  });

  it('after a renewal, fires the thresholds of the new end although the old end’s were all sent', () => {
    const sent = new Set<string>();
    for (const at of ['2025-05-07', '2025-05-23', '2025-05-30']) runNight(TERM, sent, ny(`${at}T02:00`));
    const renewed = renewTerm(TERM, 120); // ends 2025-10-04T00:00 New York
    const setAt = ny('2025-06-02T10:00').toISOString();
    expect(runNight(renewed, sent, ny('2025-06-03T02:00'), { termSetAt: setAt })).toEqual([]);
    const first = runNight(renewed, sent, ny('2025-09-04T02:00'), { termSetAt: setAt });
    expect(first.map((n) => [n.key, n.late])).toEqual([[`pre-expiry:${renewed.endsAt}:30`, false]]);
    expect(runNight(renewed, sent, ny('2025-09-04T03:00'), { termSetAt: setAt })).toEqual([]);
  });

  it('does not treat thresholds that had passed before the end was set as missed', () => {
    // Renewed by 5 days on the last day: the new end's 30-, 14- and 7-day days are already past.
    const renewed = renewTerm(TERM, 5); // ends 2025-06-11T00:00
    const setAt = ny('2025-06-05T15:00').toISOString();
    const sent = new Set<string>();
    expect(runNight(renewed, sent, ny('2025-06-06T02:00'), { termSetAt: setAt })).toEqual([]);
    expect(runNight(renewed, sent, ny('2025-06-10T02:00'), { termSetAt: setAt }).map((n) => n.daysBefore)).toEqual([1]);
    // Without termSetAt every past threshold counts as missed.
    const literal = dueNotices({ endsAt: renewed.endsAt, timezone: NY, daysBefore: DAYS, sent: new Set(), now: ny('2025-06-06T02:00') });
    expect(literal.map((n) => n.daysBefore)).toEqual([30, 14, 7]);
  });

  it('still fires a threshold that falls on the day the end was set', () => {
    const due = dueNotices({
      endsAt: TERM.endsAt,
      timezone: NY,
      daysBefore: DAYS,
      sent: new Set(),
      now: ny('2025-05-30T18:00'),
      termSetAt: ny('2025-05-30T09:00').toISOString(),
    });
    expect(due.map((n) => n.daysBefore)).toEqual([7]);
  });

  it('returns nothing at or after the end, whatever was sent', () => {
    const none = new Set<string>();
    expect(dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: DAYS, sent: none, now: new Date(TERM.endsAt) })).toEqual([]);
    expect(dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: DAYS, sent: none, now: ny('2025-06-20T02:00') })).toEqual([]);
    expect(dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: DAYS, sent: none, now: new Date(Date.parse(TERM.endsAt) - 1) })).toHaveLength(4);
  });

  it('counts "d days before" in calendar days across a DST change', () => {
    // Ends 2025-03-12T00:00 EDT; 7 days before is 2025-03-05T00:00 EST (05:00Z). Subtracting
    // 7 × 24 h would open it at 04:00Z, an hour early.
    const t = computeTerm('2025-03-01', 11, NY);
    expect(t.endsAt).toBe('2025-03-12T00:00:00-04:00');
    const at = (iso: string) => dueNotices({ endsAt: t.endsAt, timezone: NY, daysBefore: [7], sent: new Set(), now: new Date(iso) });
    expect(at('2025-03-05T04:30:00Z')).toEqual([]);
    expect(at('2025-03-05T05:00:00Z').map((n) => n.dueAt)).toEqual(['2025-03-05T00:00:00-05:00']);
  });

  it('opens at the first instant of a day whose midnight DST skips', () => {
    // Santiago springs forward at 24:00 on 2024-09-07: 2024-09-08 begins at 01:00 -03.
    const t = computeTerm('2024-09-01', 14, 'America/Santiago');
    const due = dueNotices({ endsAt: t.endsAt, timezone: 'America/Santiago', daysBefore: [7], sent: new Set(), now: new Date('2024-09-08T04:00:00Z') });
    expect(due.map((n) => n.dueAt)).toEqual(['2024-09-08T01:00:00-03:00']);
  });

  it('ignores duplicate thresholds and never fires a 0-day one', () => {
    const due = dueNotices({ endsAt: TERM.endsAt, timezone: NY, daysBefore: [1, 1, 0], sent: new Set(), now: ny('2025-06-05T23:00') });
    expect(due.map((n) => n.daysBefore)).toEqual([1]);
  });
});

function dataFor(a: Assignment, notice: Partial<DueNotice> = {}, now = ny('2025-05-30T02:00')): NoticeData {
  return preExpiryData({
    assignment: a,
    term: TERM,
    notice: { daysBefore: 7, late: false, dueAt: '2025-05-30T00:00:00-04:00', ...notice },
    now,
  });
}

describe('renderNotice', () => {
  it('says who, where, when it ends, what happens then and how to renew, with no FTI', () => {
    const a = assignment();
    const { subject, text } = renderNotice('pre-expiry', dataFor(a));
    expect(subject).toBe('Detail irs-2025-0042: access for Ada Byron ends in 7 days (last day Thursday, June 5, 2025)');
    for (const s of [
      'Ada Byron',
      'irs-2025-0042',
      'to IT Modernization, Internal Revenue Service',
      'Last day of access:  Thursday, June 5, 2025',
      'Access ends:         00:00 on Friday, June 6, 2025 (America/New_York)',
      'Days of access left: 7',
      'Grace Hopper (sponsor)',
      'Assignment:          irs-2025-0042',
      'Alan Turing, Chief Information Security Officer (approving official)',
      'revoked automatically',
      'returned or destroyed',
      'offboarding',
      'renewal amendment signed before the',
    ]) {
      expect(text).toContain(s);
    }
    expect(text).not.toContain(a.fti.scope!);
    expect(text).not.toContain(a.purpose);
    expect(text).not.toMatch(/sent late/);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('explains a late notice', () => {
    const { text } = renderNotice('pre-expiry', dataFor(assignment(), { daysBefore: 14, late: true, dueAt: '2025-05-23T00:00:00-04:00' }));
    expect(text).toContain('This is the 14-day notice. It was due on Friday, May 23, 2025\nand is sent late');
  });

  it('prints manifest text literally: Mustache tags in a field are not interpreted', () => {
    const a = assignment({
      detailee: { ...(manifest().detailee as object), givenName: '{{#x}}Ada{{/x}}', familyName: '{{> ../../etc/passwd}}' },
      host: { ...(manifest().host as object), office: 'R&D <Ops> {{{detaileeEmail}}}' },
    });
    const { subject, text } = renderNotice('pre-expiry', dataFor(a));
    expect(text).toContain('{{#x}}Ada{{/x}} {{> ../../etc/passwd}}');
    expect(subject).toContain('{{#x}}Ada{{/x}} {{> ../../etc/passwd}}');
    expect(text).toContain('to R&D <Ops> {{{detaileeEmail}}}, Internal Revenue Service');
  });

  it('keeps a field with line breaks on one line', () => {
    const a = assignment({ detailee: { ...(manifest().detailee as object), familyName: 'Byron\r\nBcc: attacker@evil.example' } });
    const { subject, text } = renderNotice('pre-expiry', dataFor(a));
    expect(subject).not.toMatch(/[\r\n]/);
    expect(text).not.toMatch(/^Bcc:/m);
  });

  it('never calls a function passed in the data', () => {
    let called = false;
    const data = { ...dataFor(assignment()), detaileeName: (() => ((called = true), 'x')) as unknown as string };
    expect(() => renderNotice('pre-expiry', data)).toThrow(InputError);
    expect(called).toBe(false);
  });

  function templates(subject: string, text: string): string {
    const dir = tempDir('detailee-tpl-');
    writeFileSync(join(dir, 'pre-expiry.subject.mustache'), subject);
    writeFileSync(join(dir, 'pre-expiry.txt.mustache'), text);
    return dir;
  }

  it('refuses partials in an edited template', () => {
    const dir = templates('{{assignmentId}}', 'Hello {{> footer}}');
    writeFileSync(join(dir, 'footer'), 'included');
    expect(() => renderNotice('pre-expiry', dataFor(assignment()), dir)).toThrow(expect.objectContaining({ code: 'template.partial' }));
  });

  it('refuses names outside the notice fields, so nothing reaches a prototype or a function', () => {
    for (const body of ['{{constructor}}', '{{#constructor}}x{{/constructor}}', '{{.}}', '{{detaileeName.length}}', '{{fti}}']) {
      const dir = templates('{{assignmentId}}', body);
      expect(() => renderNotice('pre-expiry', dataFor(assignment()), dir), body).toThrow(expect.objectContaining({ code: 'template.field' }));
    }
  });

  it('renders an edited template from the given folder, without HTML escaping', () => {
    const dir = templates('Ends {{lastDayIso}}\n', '{{#late}}LATE {{/late}}{{^late}}on time {{/late}}{{hostOffice}}\n');
    const a = assignment({ host: { ...(manifest().host as object), office: 'R&D' } });
    expect(renderNotice('pre-expiry', dataFor(a), dir)).toEqual({ subject: 'Ends 2025-06-05', text: 'on time R&D\n' });
  });

  it('accepts only the fixed template names', () => {
    expect(() => renderNotice('../../etc/passwd' as 'pre-expiry', dataFor(assignment()))).toThrow(expect.objectContaining({ code: 'notice.kind' }));
  });

  it('addresses the detailee, the sponsor and the approver, each once', () => {
    expect(noticeRecipients(assignment())).toEqual(['ada.byron@home.example.gov', 'grace.hopper@irs.example.gov', 'alan.turing@irs.example.gov']);
    const sameSponsor = assignment({
      host: { ...(manifest().host as object), approver: { name: 'G', title: 'T', email: 'Grace.Hopper@irs.example.gov' } },
    });
    expect(noticeRecipients(sameSponsor)).toHaveLength(2);
  });
});

/** RFC 2047 B-words back to text; whitespace between adjacent encoded-words is not part of the text. */
function decodeHeader(value: string): string {
  return value
    .replace(/\r\n /g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g, (_m, b64: string) => `\u0000${b64}\u0000`)
    .split('\u0000')
    .map((part, i) => (i % 2 === 1 ? Buffer.from(part, 'base64') : Buffer.from(part, 'utf8')))
    .reduce((acc, b) => Buffer.concat([acc, b]), Buffer.alloc(0))
    .toString('utf8');
}

function decodeQP(body: string): string {
  const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function split(eml: string): { headers: string[]; body: string } {
  const i = eml.indexOf('\r\n\r\n');
  return { headers: eml.slice(0, i).split(/\r\n(?! )/), body: eml.slice(i + 4) };
}

const header = (headers: string[], name: string) => headers.find((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();

describe('buildEml', () => {
  const base = {
    from: 'detailee@irs.example.gov',
    to: ['ada.byron@home.example.gov', 'grace.hopper@irs.example.gov', 'alan.turing@irs.example.gov'],
    subject: 'Detail irs-2025-0042 ends in 7 days',
    text: 'Line one\nLine two\n',
    date: new Date('2025-05-30T06:00:05Z'),
    messageId: 'abc.123@irs.example.gov',
  };

  it('writes RFC 5322 with CRLF line ends and the MIME headers', () => {
    const eml = buildEml(base);
    expect(eml).not.toMatch(/[^\r]\n/);
    expect(eml).not.toMatch(/\r(?!\n)/);
    expect(eml.endsWith('\r\n')).toBe(true);
    const { headers, body } = split(eml);
    expect(header(headers, 'Date')).toBe('Fri, 30 May 2025 06:00:05 +0000');
    expect(header(headers, 'From')).toBe('detailee@irs.example.gov');
    expect(header(headers, 'To')!.replace(/\r\n /g, ' ')).toBe('ada.byron@home.example.gov, grace.hopper@irs.example.gov, alan.turing@irs.example.gov');
    expect(header(headers, 'Subject')).toBe('Detail irs-2025-0042 ends in 7 days');
    expect(header(headers, 'Message-ID')).toBe('<abc.123@irs.example.gov>');
    expect(header(headers, 'MIME-Version')).toBe('1.0');
    expect(header(headers, 'Content-Type')).toBe('text/plain; charset=utf-8');
    expect(header(headers, 'Content-Transfer-Encoding')).toBe('quoted-printable');
    expect(body).toBe('Line one\r\nLine two\r\n');
  });

  it('encodes a non-ASCII subject as RFC 2047 words on folded ASCII lines', () => {
    const subject = 'Détachement de José Núñez-Ibáñez : accès jusqu’au jeudi 5 juin 2025 — 7 jours restants 🙂';
    const eml = buildEml({ ...base, subject });
    const { headers } = split(eml);
    const raw = headers.find((h) => h.startsWith('Subject:'))!;
    expect(raw).toMatch(/^Subject: =\?UTF-8\?B\?/);
    for (const line of raw.split('\r\n')) {
      expect(line).toMatch(/^[\x20-\x7e]+$/);
      expect(line.length).toBeLessThanOrEqual(78);
    }
    expect(raw.split('\r\n').length).toBeGreaterThan(1);
    expect(decodeHeader(raw.slice('Subject: '.length))).toBe(subject);
  });

  it('folds a long ASCII subject without changing it', () => {
    const subject = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const { headers } = split(buildEml({ ...base, subject }));
    const raw = headers.find((h) => h.startsWith('Subject:'))!;
    expect(raw.split('\r\n').every((l) => l.length <= 78)).toBe(true);
    expect(raw.replace(/\r\n/g, '').slice('Subject: '.length)).toBe(subject);
  });

  it('quoted-printable body: 7-bit, short lines, and decodes to the text', () => {
    const text = `Café = ☕ and a trailing space \n${'x'.repeat(200)}\n.starts with a dot\n`;
    const { body } = split(buildEml({ ...base, text }));
    expect(body).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(body.split('\r\n').every((l) => l.length <= 76)).toBe(true);
    expect(body).toContain('Caf=C3=A9 =3D');
    expect(body).toContain('space=20\r\n');
    expect(decodeQP(body)).toBe(text.replace(/\n/g, '\r\n'));
  });

  it('cannot be made to add a header through the subject or an address', () => {
    const { headers } = split(buildEml({ ...base, subject: 'Hi\r\nBcc: attacker@evil.example' }));
    expect(headers.some((h) => /^bcc:/i.test(h))).toBe(false);
    expect(() => buildEml({ ...base, to: ['a@b.example\r\nBcc: attacker@evil.example'] })).toThrow(InputError);
    expect(() => buildEml({ ...base, from: 'Evil <x@y.example>' })).toThrow(InputError);
    expect(() => buildEml({ ...base, to: [] })).toThrow(InputError);
  });
});

describe('outbox', () => {
  const KEY = `pre-expiry:${TERM.endsAt}:7`;

  it('names a file by time, assignment and key', () => {
    expect(outboxFileName({ date: new Date('2025-05-30T06:00:05.123Z'), assignmentId: 'irs-2025-0042', key: KEY })).toBe(
      '20250530T060005Z-irs-2025-0042-pre-expiry_2025-06-06T00_00_00-04_00_7.eml',
    );
  });

  it('writes atomically, mode 0640, and leaves no temporary file', async () => {
    const dir = join(tempDir('detailee-outbox-'), 'outbox');
    const p = await writeOutbox(dir, 'first\r\n', 'x.eml');
    const q = await writeOutbox(dir, 'second\r\n', 'x.eml');
    expect(q).toBe(p);
    expect(readFileSync(p, 'utf8')).toBe('second\r\n');
    expect(statSync(p).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['x.eml']);
  });

  it('keeps every file name inside the outbox', async () => {
    const root = tempDir('detailee-outbox-');
    const dir = join(root, 'a', 'outbox');
    mkdirSync(dir, { recursive: true });
    const names = ['../../escape.eml', '/etc/passwd', '..', '.', '', '.hidden.eml', 'a/../../b.eml', '..\\..\\win.eml', 'x\u0000y.eml', '%2e%2e%2fenc.eml'];
    for (const n of names) {
      const p = await writeOutbox(dir, 'x', n);
      expect(dirname(p), JSON.stringify(n)).toBe(dir);
      expect(p.slice(dir.length + 1).startsWith('.'), JSON.stringify(n)).toBe(false);
    }
    const fromId = outboxFileName({ date: new Date(0), assignmentId: '../../etc', key: '../passwd' });
    expect(dirname(await writeOutbox(dir, 'x', fromId))).toBe(dir);
    expect(readdirSync(join(root, 'a'))).toEqual(['outbox']);
    expect(readdirSync(root)).toEqual(['a']);
    expect(existsSync('/etc/passwd.eml')).toBe(false);
  });

  it('reports an unwritable outbox as an action failure', async () => {
    const root = tempDir('detailee-outbox-');
    writeFileSync(join(root, 'file'), '');
    await expect(writeOutbox(join(root, 'file'), 'x', 'x.eml')).rejects.toBeInstanceOf(ActionError);
  });
});

describe('deliverNotice', () => {
  const now = ny('2025-05-30T02:00');
  const message = () =>
    composePreExpiryNotice({
      assignment: assignment(),
      term: TERM,
      notice: { key: `pre-expiry:${TERM.endsAt}:7`, daysBefore: 7, late: false, dueAt: '2025-05-30T00:00:00-04:00' },
      now,
      from: 'detailee@irs.example.gov',
    });

  it('writes the outbox file when SMTP is not configured', async () => {
    const dir = tempDir('detailee-outbox-');
    const r = await deliverNotice({ outbox: dir, message: message() });
    expect(r.smtp).toBe('not-configured');
    const eml = readFileSync(r.file, 'utf8');
    expect(eml).toContain('To: ada.byron@home.example.gov, grace.hopper@irs.example.gov,');
    expect(eml).toMatch(/^Message-ID: <detailee\.irs-2025-0042\.[0-9a-f]{24}@irs\.example\.gov>\r$/m);
  });

  it('hands SMTP exactly the bytes it wrote, and keeps the file when SMTP fails', async () => {
    const dir = tempDir('detailee-outbox-');
    const seen: string[] = [];
    const ok: SmtpSender = { endpoint: 'x:25', send: async (m) => void seen.push(String(m.raw)), close: async () => undefined };
    const r = await deliverNotice({ outbox: dir, smtp: ok, message: message() });
    expect(r.smtp).toBe('sent');
    expect(seen).toEqual([readFileSync(r.file, 'utf8')]);

    const down: SmtpSender = {
      endpoint: 'x:25',
      send: async () => {
        throw new ActionError('SMTP delivery through x:25 failed: refused', { code: 'notice.smtp' });
      },
      close: async () => undefined,
    };
    const f = await deliverNotice({ outbox: dir, smtp: down, message: { ...message(), key: 'other' } });
    expect(f).toMatchObject({ smtp: 'failed', error: 'SMTP delivery through x:25 failed: refused' });
    expect(existsSync(f.file)).toBe(true);
  });
});

describe('createSmtpSender configuration', () => {
  it('refuses plaintext SMTP to a relay off this machine', () => {
    expect(() => createSmtpSender({ host: 'smtp.example.gov', port: 25, secure: false, startTLS: false }, undefined)).toThrow(
      expect.objectContaining({ code: 'notices.smtp.tls' }),
    );
  });

  it('wants a username and a password together', () => {
    expect(() => createSmtpSender({ host: '127.0.0.1', port: 25, secure: false, username: 'u' }, undefined)).toThrow(InputError);
    expect(() => createSmtpSender({ host: '127.0.0.1', port: 25, secure: false }, 'pw')).toThrow(InputError);
  });

  it('knows which hosts are loopback', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['smtp.example.gov', '10.0.0.1', '128.0.0.1', 'localhost.example.gov'].some(isLoopbackHost)).toBe(false);
    // One rule for LDAP, AD and SMTP: ::1 however written and IPv4-mapped 127/8 are loopback; a
    // name other than localhost is not, whatever it says (a resolver could send it anywhere).
    expect(['0:0:0:0:0:0:0:1', '[0:0:0:0:0:0:0:1]', '::ffff:127.0.0.1', 'LOCALHOST'].every(isLoopbackHost)).toBe(true);
    expect(['mail.localhost', '::2', '::ffff:10.0.0.1', '127.0.0.1.example.gov', '1.127.0.0', ''].some(isLoopbackHost)).toBe(false);
  });
});
