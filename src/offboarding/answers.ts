import { z } from 'zod';
import { InputError } from '../errors.js';
import { dateField, textField } from './fields.js';
import type { FtiEntry } from './fti.js';

/** NIST SP 800-88 sanitisation methods. */
export const SANITIZATION_METHODS = ['Clear', 'Purge', 'Destroy'] as const;
export type SanitizationMethod = (typeof SANITIZATION_METHODS)[number];

const DISPOSITION_ACTIONS = ['destroyed', 'returned'] as const;

/** SP 800-88 verification methods. */
export const VERIFICATION_METHODS = ['full', 'sampling', 'other'] as const;

/** SP 800-88 certificate "destination" values, spelled as the certificate prints them. */
export const DESTINATIONS = ['internal reuse', 'external reuse', 'recycling facility', 'manufacturer', 'returned to source', 'other'] as const;
export type Destination = (typeof DESTINATIONS)[number];

const BACKED_UP = ['yes', 'no', 'unknown'] as const;

const personSchema = z.strictObject({
  name: textField(200),
  title: textField(200),
  organization: textField(200),
  location: textField(300),
  phone: textField(50),
});

export const PERSON_FIELDS = ['name', 'title', 'organization', 'location', 'phone'] as const;

/**
 * The performer and the validating official sign the certificate (SP 800-88), each on a date.
 * Optional in an answers file, so files written before dates were asked for still work:
 * checkAnswers dates an omitted signature on the offboarding day.
 */
const signerSchema = personSchema.extend({ signedOn: dateField.optional() });

/** The two people who sign an offboarding. */
type Signer = 'performedBy' | 'validatedBy';

/** A bare YAML number is kept as text so the rules can say it lacks a unit, rather than "must be text". */
const sizeField = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), textField(50));

export const dispositionSchema = z.strictObject({
  /** The FTI log entry id (F-0001). */
  entry: textField(40),
  action: z.enum(DISPOSITION_ACTIONS, { error: `must be one of ${DISPOSITION_ACTIONS.join(', ')}` }),
  method: z.enum(SANITIZATION_METHODS, { error: `must be one of ${SANITIZATION_METHODS.join(', ')}` }).optional(),
  /** A term of the sanitisation vocabulary (`detailee rules`); checked against the media by the rules. */
  technique: textField(300).optional(),
  /** Cross-cut particle size with its unit ("1 mm x 5 mm"); read strictly by the rules. */
  particleSize: sizeField.optional(),
  /** Disintegrator screen size with its unit ("2.4 mm", "3/32 in"); read strictly by the rules. */
  screenSize: sizeField.optional(),
  /** SP 800-88 "method details" (pattern, passes, notes): free text, recorded, never read by the rules. */
  details: textField(500).optional(),
  tool: z.strictObject({ name: textField(200), version: textField(100).optional() }).optional(),
  /** Date of destruction, or of return to the source. */
  date: dateField,
  verifiedBy: z.strictObject({ name: textField(200), title: textField(200) }).optional(),
  verification: z.enum(VERIFICATION_METHODS, { error: `must be one of ${VERIFICATION_METHODS.join(', ')}` }).default('full'),
  destination: z.enum(DESTINATIONS, { error: `must be one of ${DESTINATIONS.join(', ')}` }).optional(),
  /** The source's acknowledgement of a return (or a destruction vendor's certificate reference). */
  receipt: textField(500).optional(),
  /** SP 800-88 media identification, when the item has any. */
  media: z
    .strictObject({
      make: textField(200).optional(),
      model: textField(200).optional(),
      serialNumber: textField(200).optional(),
      propertyNumber: textField(200).optional(),
    })
    .optional(),
  backedUp: z.enum(BACKED_UP, { error: `must be one of ${BACKED_UP.join(', ')}` }).default('unknown'),
  backupLocation: textField(300).optional(),
  /** Cryptographic erase is only a Purge when the data was encrypted from the start and every key copy is gone. */
  encryptedFromStart: z.boolean({ error: 'must be true or false' }).optional(),
  keyCopiesDestroyed: z.boolean({ error: 'must be true or false' }).optional(),
});

export const answersSchema = z.strictObject({
  performedBy: signerSchema,
  validatedBy: signerSchema,
  dispositions: z.array(dispositionSchema, { error: 'must be a list' }).max(10_000),
  propertyReturned: z.array(textField(100), { error: 'must be a list of the items returned (badge, laptop, tokens…)' }).max(100),
  acknowledgement: z.strictObject({ signedOn: dateField }),
});

export type Person = z.output<typeof personSchema>;
/** A person who signs, with the date; always dated once the answers are checked. */
export type SigningPerson = Person & { signedOn: string };
export type Disposition = z.output<typeof dispositionSchema>;
/** Answers that passed checkAnswers: both signatures dated. */
export type Answers = Omit<z.output<typeof answersSchema>, Signer> & { performedBy: SigningPerson; validatedBy: SigningPerson };
/** The answers file as written: the same shape, with the defaulted fields optional. */
export type DispositionInput = Omit<Disposition, 'verification' | 'backedUp'> & Partial<Pick<Disposition, 'verification' | 'backedUp'>>;
export type AnswersInput = Omit<Answers, 'dispositions' | Signer> & {
  dispositions: DispositionInput[];
  performedBy: Person & { signedOn?: string };
  validatedBy: Person & { signedOn?: string };
};

type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Answers as far as they go: an incomplete answers file, or an interrupted interactive run. */
export type PartialAnswers = DeepPartial<{
  performedBy: SigningPerson;
  validatedBy: SigningPerson;
  dispositions: Disposition[];
  propertyReturned: string[];
  acknowledgement: { signedOn: string };
}>;

/** How rules and prompts name one disposition, e.g. `dispositions[2] (entry F-0003, paper)`. */
export function dispositionLabel(index: number, entry: Pick<FtiEntry, 'id' | 'media'> | { id: string; media?: string }): string {
  return `dispositions[${index}] (entry ${entry.id}${entry.media ? `, ${entry.media}` : ''})`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** Fields a disposition still needs, by its action; `action` first when even that is unknown. */
export function missingDispositionFields(d: Record<string, unknown>): string[] {
  if (blank(d.action)) return ['action'];
  const out: string[] = [];
  if (d.action === 'returned') {
    if (blank(d.date)) out.push('date');
    if (blank(d.receipt)) out.push('receipt');
    return out;
  }
  if (blank(d.method)) out.push('method');
  if (blank(d.technique)) out.push('technique');
  const tool = isObject(d.tool) ? d.tool : {};
  if (blank(tool.name)) out.push('tool.name');
  if (blank(d.date)) out.push('date');
  const verifier = isObject(d.verifiedBy) ? d.verifiedBy : {};
  if (blank(verifier.name)) out.push('verifiedBy.name');
  if (blank(verifier.title)) out.push('verifiedBy.title');
  if (blank(d.destination)) out.push('destination');
  return out;
}

/**
 * Everything still unanswered, named so a person can find it: `performedBy.phone`,
 * `disposition for entry F-0002 (usb)`, `dispositions[0] (entry F-0001, paper).technique`.
 * Used to refuse an incomplete answers file (exit 2) and to resume an interactive run.
 */
export function missingItems(partial: unknown, entries: readonly FtiEntry[]): string[] {
  const a = isObject(partial) ? partial : {};
  const out: string[] = [];
  for (const role of ['performedBy', 'validatedBy'] as const) {
    const p = isObject(a[role]) ? a[role] : {};
    for (const f of PERSON_FIELDS) if (blank(p[f])) out.push(`${role}.${f}`);
  }
  const dispositions = Array.isArray(a.dispositions) ? a.dispositions : [];
  for (const entry of entries) {
    const index = dispositions.findIndex((d) => isObject(d) && d.entry === entry.id);
    if (index < 0) {
      out.push(`disposition for entry ${entry.id} (${entry.media})`);
      continue;
    }
    for (const f of missingDispositionFields(dispositions[index] as Record<string, unknown>)) {
      out.push(`${dispositionLabel(index, entry)}.${f}`);
    }
  }
  if (!Array.isArray(a.propertyReturned)) out.push('propertyReturned');
  const ack = isObject(a.acknowledgement) ? a.acknowledgement : {};
  if (blank(ack.signedOn)) out.push('acknowledgement.signedOn');
  return out;
}

/** A non-interactive run cannot ask, so an unanswered item is bad input (exit 2), never a hang. */
export function requireComplete(partial: unknown, entries: readonly FtiEntry[]): void {
  const missing = missingItems(partial, entries);
  if (missing.length === 0) return;
  throw new InputError(`The offboarding answers are incomplete; missing:\n${missing.map((m) => `  - ${m}`).join('\n')}`, {
    code: 'answers.missing',
    details: { missing },
    actions: ['Add the items named above to the answers file, or run `detailee offboard` in a terminal to be asked.'],
  });
}
