import { z } from 'zod';
import { isoDateSchema } from '../assignment/schema.js';
import { InputError } from '../errors.js';

/**
 * What a taxpayer identifier looks like in free text: SSN or ITIN (###-##-####), EIN (##-#######)
 * and nine digits in a row. Digit look-arounds rather than \b, so "TIN123456789" or "x_123456789"
 * are caught too, while longer digit runs (batch numbers, phone numbers) are not.
 */
const TAXPAYER_ID_PATTERNS: readonly RegExp[] = [
  /(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)/,
  /(?<!\d)\d{2}-\d{7}(?!\d)/,
  /(?<!\d)\d{9}(?!\d)/,
];

export function looksLikeTaxpayerId(text: string): boolean {
  return TAXPAYER_ID_PATTERNS.some((re) => re.test(text));
}

/** Paths (`a.b[2].c`) of every string in `value` that looks like a taxpayer identifier. */
function findTaxpayerIds(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return looksLikeTaxpayerId(value) ? [path || '(document)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => findTaxpayerIds(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => findTaxpayerIds(v, path ? `${path}.${k}` : k));
  }
  return [];
}

export const TAXPAYER_ID_MESSAGE = 'the FTI log must never hold FTI itself; write a reference, not a taxpayer identifier';

/**
 * Refuse before schema validation so the refusal is the error the user sees. The message names
 * the field but never repeats its value: echoing it would put the identifier into terminals,
 * `--json` output and CI logs, which is the very disclosure being prevented.
 */
export function refuseTaxpayerIds(value: unknown, what: string, code: string): void {
  const paths = findTaxpayerIds(value);
  if (paths.length === 0) return;
  throw new InputError(`${what}: ${paths.join(', ')} looks like a taxpayer identifier (SSN, ITIN or EIN): ${TAXPAYER_ID_MESSAGE}.`, {
    code,
    details: { fields: paths },
    actions: [
      'Describe the information by reference (case number, extract name, batch or file name), never by SSN, ITIN or EIN.',
    ],
  });
}

/** YAML can hand over an unquoted date as a Date; accept it as the calendar date it spells. */
export const dateField = z.preprocess(
  (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString().slice(0, 10) : v),
  isoDateSchema,
);

export function textField(max: number) {
  return z
    .string({ error: 'is required and must be text' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` });
}

export function assertIsoDate(value: string, name: string): void {
  if (!isoDateSchema.safeParse(value).success) throw new TypeError(`${name} must be an ISO date (YYYY-MM-DD), got ${JSON.stringify(value)}`);
}
