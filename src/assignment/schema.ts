import { IANAZone } from 'luxon';
import { z } from 'zod';
import { isCalendarDate } from '../time/days.js';

const API_VERSION = 'detailee/v1';

/**
 * A missing field and a field of the wrong type need different fixes: "tier: 2" is there, it is
 * just a number, and telling its author the field "is required" sends them looking in vain.
 */
function textTypeError(issue: { input?: unknown }): string {
  return issue.input === undefined || issue.input === null ? 'is required' : `must be text, not ${typeof issue.input === 'object' ? (Array.isArray(issue.input) ? 'a list' : 'a mapping') : `a ${typeof issue.input}`} (quote it: "...")`;
}

/** `id` names store rows and certificate files: no path separators, no `..`. */
const idSchema = z
  .string({ error: textTypeError })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    error: 'must be 1–64 characters: a letter or digit, then letters, digits, ".", "_" or "-"',
  })
  .refine((s) => !s.includes('..'), { error: 'must not contain ".."' });

/** Used verbatim as LDAP `uid` and IAM user name, so nothing that needs escaping in either. */
const usernameSchema = z
  .string({ error: textTypeError })
  .regex(/^[a-z][a-z0-9._-]{0,31}$/, {
    error: 'must be 1–32 characters: a lower-case letter, then lower-case letters, digits, ".", "_" or "-"',
  });

export const isoDateSchema = z
  .string({ error: 'must be a date written YYYY-MM-DD' })
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date written YYYY-MM-DD' })
  .refine(isCalendarDate, { error: 'is not a calendar date' });

/** YAML reads an unquoted 2025-02-06 as a Date; accept it as the date it spells. */
const dateField = z.preprocess(
  (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString().slice(0, 10) : v),
  isoDateSchema,
);

export const timezoneSchema = z
  .string({ error: 'must be an IANA time zone name' })
  .refine((s) => IANAZone.isValidZone(s), { error: 'is not a known IANA time zone (e.g. America/New_York)' });

const text = (max = 2000) => z.string({ error: textTypeError }).min(1, { error: 'must not be empty' }).max(max);
const email = z.email({ error: 'must be an e-mail address' }).max(254);
const days = z
  .number({ error: 'must be a whole number of days' })
  .int({ error: 'must be a whole number of days' })
  .min(1, { error: 'must be at least 1 (5 U.S.C. 3341: 1–120 days)' })
  .max(120, { error: 'must be at most 120 (5 U.S.C. 3341: a detail or renewal is at most 120 days)' });

const person = z.strictObject({ name: text(200), email });
const groupName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,127}$/, { error: 'must be a plain group name (letters, digits, space, ". _ + -")' });
const arn = z.string().regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/[\w+=,.@/-]{1,512}$/, {
  error: 'must be an IAM policy ARN (arn:aws:iam::ACCOUNT:policy/NAME)',
});

export const assignmentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal('Assignment', { error: 'must be "Assignment"' }),
  id: idSchema,
  detailee: z.strictObject({
    givenName: text(200),
    familyName: text(200),
    email,
    username: usernameSchema,
    homeAgency: text(200),
  }),
  host: z.strictObject({
    agency: text(200),
    office: text(200),
    sponsor: person,
    approver: z.strictObject({ name: text(200), title: text(200), email }),
  }),
  agreement: z.strictObject({
    reference: text(200),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lower-case hex digits' })
      .optional(),
  }),
  purpose: text(4000),
  term: z.strictObject({
    start: dateField,
    days: days.default(120),
    timezone: timezoneSchema.optional(),
    renewals: z
      .strictObject({
        max: z.number().int().min(0, { error: 'must be 0 or more' }).max(100).default(1),
        days: days.default(120),
      })
      .default({ max: 1, days: 120 }),
  }),
  access: z
    .strictObject({
      ldap: z.strictObject({ groups: z.array(groupName).max(100).default([]) }).default({ groups: [] }),
      aws: z
        .strictObject({
          groups: z.array(groupName).max(10).default([]),
          policies: z.array(arn).max(20).default([]),
        })
        .default({ groups: [], policies: [] }),
      /** Active Directory group names (cn under targets.ad.groupsDN); optional, so v1 manifests stay valid. */
      ad: z.strictObject({ groups: z.array(groupName).max(100).default([]) }).optional(),
    })
    .default({ ldap: { groups: [] }, aws: { groups: [], policies: [] } }),
  fti: z.strictObject({ authorized: z.boolean({ error: 'must be true or false' }), scope: text(2000).optional() }),
  prerequisites: z
    .strictObject({
      backgroundInvestigation: z.strictObject({ tier: text(50), adjudicated: dateField }).optional(),
      disclosureTraining: dateField.optional(),
      confidentialityAgreement: dateField.optional(),
    })
    .default({}),
});

export type Assignment = z.output<typeof assignmentSchema>;

export const amendmentSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal('Amendment', { error: 'must be "Amendment"' }),
  assignment: idSchema,
  renewalDays: days,
  reason: text(4000),
  agreement: z.strictObject({ reference: text(200) }).optional(),
});

export type Amendment = z.output<typeof amendmentSchema>;
