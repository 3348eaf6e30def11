import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import Mustache from 'mustache';
import type { Assignment } from '../assignment/schema.js';
import { daysLeft, type Term } from '../assignment/term.js';
import { InputError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { DueNotice } from './due.js';

/** The only template names there are; a kind never becomes a path unless it is in this list. */
export const NOTICE_KINDS = ['pre-expiry'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * What a notice template can show: plain strings, computed before rendering. No FTI ever goes in
 * here (not even the manifest's FTI scope), because templates are user-editable and a notice goes
 * to plain e-mail.
 */
export interface NoticeData {
  assignmentId: string;
  detaileeName: string;
  detaileeEmail: string;
  homeAgency: string;
  hostAgency: string;
  hostOffice: string;
  sponsorName: string;
  sponsorEmail: string;
  approverName: string;
  approverTitle: string;
  agreementReference: string;
  timezone: string;
  /** e.g. "Friday, June 5, 2025" */
  lastDay: string;
  lastDayIso: string;
  /** e.g. "00:00 on Saturday, June 6, 2025 (America/New_York)" */
  endsAt: string;
  endsAtIso: string;
  /** Whole days of access left, counting today, e.g. "7". */
  daysLeft: string;
  /** e.g. "7 days", "1 day" */
  daysLeftText: string;
  /** The threshold this notice stands for, e.g. "14". */
  noticeDaysBefore: string;
  /** The day this notice was due, e.g. "Friday, May 22, 2025". */
  dueOn: string;
  /** "late" when the notice is sent after its day, else "" (so `{{#late}}` works as a condition). */
  late: string;
}

export const NOTICE_FIELDS = [
  'assignmentId',
  'detaileeName',
  'detaileeEmail',
  'homeAgency',
  'hostAgency',
  'hostOffice',
  'sponsorName',
  'sponsorEmail',
  'approverName',
  'approverTitle',
  'agreementReference',
  'timezone',
  'lastDay',
  'lastDayIso',
  'endsAt',
  'endsAtIso',
  'daysLeft',
  'daysLeftText',
  'noticeDaysBefore',
  'dueOn',
  'late',
] as const satisfies readonly (keyof NoticeData)[];

// A fixed locale: the text must not change with the machine the nightly job happens to run on.
const LOCALE = 'en-US';
const LONG_DATE = 'cccc, LLLL d, yyyy';

function longDate(dt: DateTime): string {
  return dt.setLocale(LOCALE).toFormat(LONG_DATE);
}

/** The view for one pre-expiry notice, from the manifest, the term in force and the due threshold. */
export function preExpiryData(input: {
  assignment: Assignment;
  term: Pick<Term, 'endsAt' | 'lastDay' | 'timezone'>;
  notice: Pick<DueNotice, 'daysBefore' | 'late' | 'dueAt'>;
  now: Date;
}): NoticeData {
  const { assignment: a, term, notice, now } = input;
  const zone = term.timezone;
  const end = DateTime.fromISO(term.endsAt, { zone });
  const left = daysLeft(term, now);
  return {
    assignmentId: a.id,
    detaileeName: `${a.detailee.givenName} ${a.detailee.familyName}`,
    detaileeEmail: a.detailee.email,
    homeAgency: a.detailee.homeAgency,
    hostAgency: a.host.agency,
    hostOffice: a.host.office,
    sponsorName: a.host.sponsor.name,
    sponsorEmail: a.host.sponsor.email,
    approverName: a.host.approver.name,
    approverTitle: a.host.approver.title,
    agreementReference: a.agreement.reference,
    timezone: zone,
    lastDay: longDate(DateTime.fromISO(term.lastDay, { zone })),
    lastDayIso: term.lastDay,
    endsAt: `${end.setLocale(LOCALE).toFormat('HH:mm')} on ${longDate(end)} (${zone})`,
    endsAtIso: term.endsAt,
    daysLeft: String(left),
    daysLeftText: left === 1 ? '1 day' : `${left} days`,
    noticeDaysBefore: String(notice.daysBefore),
    dueOn: longDate(DateTime.fromISO(notice.dueAt, { zone })),
    late: notice.late ? 'late' : '',
  };
}

/** The detailee, the sponsor and the approver, each once. */
export function noticeRecipients(a: Assignment): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of [a.detailee.email, a.host.sponsor.email, a.host.approver.email]) {
    const k = e.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(e);
    }
  }
  return out;
}

export function defaultNoticeTemplatesDir(): string {
  return join(packageRoot(), 'templates', 'notices');
}

/**
 * Values are flattened to one line and stripped of control and bidi-override characters: a name
 * with a CR/LF must not start a new header when it reaches the Subject, nor forge lines in the
 * body, and a reordering character must not disguise a date or an address in a mail client.
 */
function cleanValue(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  const oneLine = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
  return oneLine.replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
}

type Token = [string, string, number, number, Token[]?, number?];

/**
 * Templates are user-editable, so they are checked before use: only fields of NoticeData may be
 * named (no `constructor`, no `.`, nothing that could reach a prototype or a function), and
 * partials are refused outright, so a template can read no file and include nothing beyond itself.
 */
function checkTemplate(template: string, name: string): void {
  let tokens: Token[];
  try {
    tokens = Mustache.parse(template) as unknown as Token[];
  } catch (e) {
    throw new InputError(`The notice template ${name} cannot be parsed: ${(e as Error).message}`, {
      code: 'template.invalid',
      actions: ['Fix the Mustache syntax of the template (unclosed sections or tags).'],
    });
  }
  const known = new Set<string>(NOTICE_FIELDS);
  const walk = (ts: Token[]): void => {
    for (const t of ts) {
      const [type, value] = t;
      if (type === 'text' || type === '!' || type === '=') continue;
      if (type === '>') {
        throw new InputError(`The notice template ${name} includes a partial ({{> ${value}}}); partials are disabled.`, {
          code: 'template.partial',
          actions: ['Copy the text into the template itself.'],
        });
      }
      if (!known.has(value)) {
        throw new InputError(`The notice template ${name} uses an unknown field {{${value}}}.`, {
          code: 'template.field',
          actions: [`Use only these fields: ${NOTICE_FIELDS.join(', ')}.`],
        });
      }
      if (t[4]) walk(t[4]);
    }
  };
  walk(tokens);
}

function readTemplate(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`Cannot read the notice template ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      code: 'template.missing',
      actions: [`Restore ${file} in ${dir} (the package ships a default).`],
    });
  }
}

function render(template: string, name: string, data: NoticeData): string {
  checkTemplate(template, name);
  // A prototype-less view holding only strings: nothing in it can be called as a lambda.
  const view = Object.create(null) as Record<string, string>;
  for (const f of NOTICE_FIELDS) {
    const v: unknown = data[f];
    if (typeof v !== 'string') {
      throw new InputError(`Notice field ${f} must be text.`, { code: 'notice.data' });
    }
    view[f] = cleanValue(v);
  }
  // Plain text, not HTML: `&` must stay `&`. Values are already cleaned above.
  return Mustache.render(template, view, undefined, { escape: (v: unknown) => (typeof v === 'string' ? v : '') });
}

export interface RenderedNotice {
  subject: string;
  text: string;
}

export function renderNotice(kind: NoticeKind, data: NoticeData, templatesDir: string = defaultNoticeTemplatesDir()): RenderedNotice {
  if (!(NOTICE_KINDS as readonly string[]).includes(kind)) {
    throw new InputError(`Unknown notice kind ${JSON.stringify(kind)}.`, { code: 'notice.kind', actions: [`Use one of: ${NOTICE_KINDS.join(', ')}.`] });
  }
  const subjectFile = `${kind}.subject.mustache`;
  const textFile = `${kind}.txt.mustache`;
  const subject = render(readTemplate(templatesDir, subjectFile), subjectFile, data).replace(/\s+/g, ' ').trim();
  if (subject === '') {
    throw new InputError(`The notice template ${subjectFile} renders an empty subject.`, { code: 'template.invalid' });
  }
  const body = render(readTemplate(templatesDir, textFile), textFile, data)
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n*$/, '\n');
  return { subject, text: body };
}
