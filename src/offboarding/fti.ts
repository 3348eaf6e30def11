import { z } from 'zod';
import { InputError } from '../errors.js';
import { validate } from '../validation.js';
import { assertIsoDate, dateField, refuseTaxpayerIds, textField } from './fields.js';


/** Where the information sits; the sanitisation rules (NIST SP 800-88) depend on it. */
export const MEDIA = ['paper', 'hdd', 'ssd', 'usb', 'mobile', 'optical', 'cloud', 'email', 'other'] as const;
export type Media = (typeof MEDIA)[number];

export const MEDIA_LABELS: Record<Media, string> = {
  paper: 'paper',
  hdd: 'hard disk drive',
  ssd: 'solid-state drive',
  usb: 'USB flash drive or memory card',
  mobile: 'mobile device',
  optical: 'optical disc',
  cloud: 'cloud or virtual storage',
  email: 'email',
  other: 'other',
};

/** One disclosure of FTI to the detailee, as the Pub 1075 FTI log records it: references only, never the data. */
export interface FtiEntryInput {
  description: string;
  type: string;
  taxYears: number[];
  records: number;
  media: Media;
  location: string;
  /** ISO date the information was received. */
  received: string;
  sender?: string;
  reason?: string;
}

export interface FtiEntry extends FtiEntryInput {
  id: string;
  assignmentId: string;
  recordedAt: string;
  recordedBy: string;
}

/** The first federal income tax year; anything earlier is a typo. */
const FIRST_TAX_YEAR = 1913;
/** A range wider than this is a typo ("2019-2910"), not a disclosure. */
const MAX_TAX_YEAR_SPAN = 50;

function taxYearsError(message: string): InputError {
  return new InputError(`taxYears ${message}`, {
    code: 'fti.tax-years',
    actions: ['Write tax years like "2021", "2021,2022" or "2019-2021".'],
  });
}

/** "2021", "2021,2022", "2019-2021", "2019-2021, 2023" → sorted distinct years. */
export function parseTaxYears(text: string): number[] {
  const tokens = text
    .split(/[\s,;]+/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tokens.length === 0) throw taxYearsError('is empty.');
  const years = new Set<number>();
  for (const token of tokens) {
    const m = /^(\d{4})(?:\s*[-–]\s*(\d{4}))?$/.exec(token);
    if (!m) throw taxYearsError(`has ${JSON.stringify(token)}, which is neither a year (YYYY) nor a range (YYYY-YYYY).`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw taxYearsError(`range ${token} runs backwards.`);
    if (to - from >= MAX_TAX_YEAR_SPAN) throw taxYearsError(`range ${token} spans more than ${MAX_TAX_YEAR_SPAN} years.`);
    for (let y = from; y <= to; y++) years.add(y);
  }
  return [...years].sort((a, b) => a - b);
}

function ftiEntrySchema(today: string) {
  const thisYear = Number(today.slice(0, 4));
  const year = z
    .number({ error: 'must be a year' })
    .int({ error: 'must be a whole year' })
    .min(FIRST_TAX_YEAR, { error: `must be ${FIRST_TAX_YEAR} or later` })
    .max(thisYear, { error: `must not be after the current year (${thisYear})` });
  return z.strictObject({
    description: textField(500),
    type: textField(200),
    taxYears: z.preprocess(
      (v) => (typeof v === 'string' ? parseTaxYears(v) : typeof v === 'number' ? [v] : v),
      z
        .array(year, { error: 'must be a list of years, or text like "2021,2022" or "2019-2021"' })
        .min(1, { error: 'must name at least one tax year' })
        .transform((ys) => [...new Set(ys)].sort((a, b) => a - b)),
    ),
    records: z.preprocess(
      (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
      z
        .number({ error: 'must be a whole number greater than 0' })
        .int({ error: 'must be a whole number greater than 0' })
        .positive({ error: 'must be a whole number greater than 0' })
        .max(1_000_000_000, { error: 'is implausibly large' }),
    ),
    media: z.enum(MEDIA, { error: `must be one of ${MEDIA.join(', ')}` }),
    location: textField(500),
    received: dateField.refine((d) => d <= today, { error: `must not be after today (${today})` }),
    sender: textField(200).optional(),
    reason: textField(500).optional(),
  });
}

const FREE_TEXT_FIELDS = ['description', 'type', 'location', 'sender', 'reason'] as const;

/**
 * Validate one FTI log entry. Free text that looks like a taxpayer identifier is refused first,
 * whatever else is wrong, so an identifier never reaches the store.
 */
export function validateFtiEntry(input: unknown, today: string): FtiEntryInput {
  assertIsoDate(today, 'today');
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    const record = input as Record<string, unknown>;
    // Only free text: a records count of 123456789 is a number, not an identifier.
    const freeText = Object.fromEntries(FREE_TEXT_FIELDS.filter((k) => k in record).map((k) => [k, record[k]]));
    refuseTaxpayerIds(freeText, 'The FTI log entry', 'fti.identifier');
  }
  const parsed = validate(ftiEntrySchema(today), input, 'The FTI log entry', 'fti.invalid');
  const out: FtiEntryInput = {
    description: parsed.description,
    type: parsed.type,
    taxYears: parsed.taxYears,
    records: parsed.records,
    media: parsed.media,
    location: parsed.location,
    received: parsed.received,
  };
  if (parsed.sender !== undefined) out.sender = parsed.sender;
  if (parsed.reason !== undefined) out.reason = parsed.reason;
  return out;
}

/**
 * Entry ids are `F-0001`, `F-0002`, … from the store's per-assignment sequence: short enough to
 * type in an answers file, stable because a sequence number is never reused. They are unique only
 * within an assignment (the store keys FTI rows by assignment and id); certificates always name
 * the assignment beside them. Past 9999 the number simply grows a digit.
 */
export function ftiEntryId(assignmentId: string, seq: number): string {
  if (assignmentId === '') throw new TypeError('ftiEntryId needs the assignment the entry belongs to');
  if (!Number.isSafeInteger(seq) || seq < 1) throw new TypeError(`FTI sequence numbers start at 1, got ${seq}`);
  return `F-${String(seq).padStart(4, '0')}`;
}

