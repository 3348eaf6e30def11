import type { z } from 'zod';
import { InputError } from '../errors.js';
import { validate } from '../validation.js';
import { answersSchema, dispositionLabel, requireComplete, type Answers, type Disposition, type SigningPerson } from './answers.js';
import { assertIsoDate, refuseTaxpayerIds } from './fields.js';
import type { FtiEntry, Media } from './fti.js';

/** Names compared the way people write them: case, outer and doubled spaces do not make a second person. */
export function samePerson(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(a) === norm(b);
}

const MM_PER_INCH = 25.4;
/** Pub 1075: cross-cut to 1 mm × 5 mm or smaller. */
const MAX_SHRED_MM: readonly [number, number] = [1, 5];
/** Pub 1075: a disintegrator screen of 3/32 in. (2.4 mm); 3/32 in. is 2.38 mm, so 2.4 is the bound. */
const MAX_SCREEN_MM = 2.4;
const EPSILON = 1e-9;

const NUMBER = String.raw`(\d+\s*\/\s*\d+|\d+(?:[.,]\d+)?)`;
const UNIT = String.raw`(mm|millimet(?:er|re)s?|in(?:ch(?:es)?)?\.?|"|″)?`;

function toNumber(text: string): number {
  const frac = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
  if (frac) return Number(frac[1]) / Number(frac[2]);
  return Number(text.replace(',', '.'));
}

function toMm(value: number, unit: string | undefined): number {
  return unit !== undefined && /^(in|"|″)/.test(unit) ? value * MM_PER_INCH : value;
}

/** "1x5 mm", "1 mm × 5 mm", "0.8mm by 4mm", "1/32 x 3/16 in" → particle size in mm. */
export function particleSizeMm(text: string): [number, number] | undefined {
  const m = new RegExp(`${NUMBER}\\s*${UNIT}\\s*(?:x|×|\\*|by)\\s*${NUMBER}\\s*${UNIT}`, 'i').exec(text);
  if (!m) return undefined;
  const unit = (m[4] ?? m[2])?.toLowerCase();
  return [toMm(toNumber(m[1]!), m[2]?.toLowerCase() ?? unit), toMm(toNumber(m[3]!), unit)];
}

/** "3/32 in screen", "2.4 mm screen" → screen size in mm; a bare number is not a size. */
export function screenSizeMm(text: string): number | undefined {
  const m = new RegExp(`${NUMBER}\\s*(mm|millimet(?:er|re)s?|in(?:ch(?:es)?)?\\.?|"|″)`, 'i').exec(text);
  if (!m) return undefined;
  return toMm(toNumber(m[1]!), m[2]!.toLowerCase());
}

const PAPER_METHODS =
  'burn/incinerate, mulch, pulp, cross-cut shred (1 mm × 5 mm or smaller) or disintegrate (3/32 in. / 2.4 mm screen or smaller)';

/** Whether a paper destruction technique is one Pub 1075 accepts; the reason when it is not. */
export function paperTechniqueProblem(technique: string): string | undefined {
  const t = technique.toLowerCase();
  // A compliant final step makes the whole chain compliant ("shred, then pulp").
  if (/\b(burn|burned|burnt|burning|incinerat\w*)\b/.test(t) || /\bmulch/.test(t) || /\bpulp/.test(t)) return undefined;
  if (/shred/.test(t)) {
    if (/strip/.test(t) && !/cross|micro|confetti|particle/.test(t)) {
      return 'strip-cut shredding does not meet Pub 1075; paper must be cross-cut to 1 mm × 5 mm or smaller';
    }
    const size = particleSizeMm(t);
    if (!size) return 'name the cross-cut particle size (1 mm × 5 mm or smaller), e.g. "cross-cut shred 1x5 mm"';
    const [small, large] = [Math.min(...size), Math.max(...size)];
    if (small > MAX_SHRED_MM[0] + EPSILON || large > MAX_SHRED_MM[1] + EPSILON) {
      return `particles of ${fmt(size[0])} mm × ${fmt(size[1])} mm are larger than the 1 mm × 5 mm Pub 1075 allows`;
    }
    return undefined;
  }
  if (/disintegrat/.test(t)) {
    const screen = screenSizeMm(t);
    if (screen === undefined) return 'name the disintegrator screen size (3/32 in. or 2.4 mm, or smaller)';
    if (screen > MAX_SCREEN_MM + EPSILON) return `a ${fmt(screen)} mm screen is coarser than the 3/32 in. (2.4 mm) Pub 1075 allows`;
    return undefined;
  }
  return `the technique must name a Pub 1075 method for paper: ${PAPER_METHODS}`;
}

function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

const DEGAUSSABLE: ReadonlySet<Media> = new Set(['hdd', 'other']);
const FLASH: ReadonlySet<Media> = new Set(['ssd', 'usb', 'mobile']);
/** Physical media that Clear leaves recoverable in a laboratory, so it may not leave the organisation. */
const CLEARABLE_HARDWARE: ReadonlySet<Media> = new Set(['hdd', 'ssd', 'mobile']);

const mentionsDegauss = (t: string) => /degauss/i.test(t);
const mentionsCryptoErase = (t: string) => /crypto(graphic)?[\s-]*(erase|erasure|shred)|\bcrypto[\s-]*erase|\bCE\b/i.test(t);

export interface RuleContext {
  today: string;
  performedBy?: string | undefined;
}

/**
 * What is wrong with one disposition of one FTI log entry, without the item's label, so the
 * interactive checklist can show it beside the question. Empty when it is acceptable.
 *
 * Judgement calls (the rules in docs/rules.md leave them open):
 * - Paper may be returned to its source with a receipt: IRC 6103(p)(4)(F) and Pub 1075 accept a
 *   return as well as destruction. When it is destroyed, only Destroy with a Pub 1075 technique.
 * - Clear of a drive or phone is accepted only for internal reuse: SP 800-88's decision flow asks
 *   for Purge (or Destroy) whenever media leaves the organisation's control.
 * - Cloud and virtual storage cannot be destroyed or meaningfully cleared by the agency: only a
 *   Purge by cryptographic erase, attested to have had the data encrypted from the start and every
 *   copy of the key destroyed.
 * - Email and "other" get only the generic rules; the technique is recorded as written.
 */
export function dispositionProblems(d: Disposition, entry: FtiEntry, ctx: RuleContext): string[] {
  const problems: string[] = [];
  if (d.date > ctx.today) problems.push(`date ${d.date} is after today (${ctx.today})`);
  if (d.date < entry.received) problems.push(`date ${d.date} is before the information was received (${entry.received})`);
  if (d.verifiedBy && ctx.performedBy !== undefined && samePerson(d.verifiedBy.name, ctx.performedBy)) {
    problems.push(`verifiedBy must be someone other than the person performing it (${ctx.performedBy})`);
  }

  if (d.action === 'returned') {
    if (d.receipt === undefined) problems.push('a return needs the receipt from the source (receipt)');
    for (const f of ['method', 'technique', 'tool'] as const) {
      if (d[f] !== undefined) problems.push(`${f} applies only to destroyed information, not to a return`);
    }
    if (d.destination !== undefined && d.destination !== 'returned to source') {
      problems.push(`destination of a return must be "returned to source", not "${d.destination}"`);
    }
    return problems;
  }

  const needs: string[] = [];
  if (d.method === undefined) needs.push('method (Clear, Purge or Destroy)');
  if (d.technique === undefined) needs.push('technique');
  if (d.tool === undefined) needs.push('tool');
  if (d.verifiedBy === undefined) needs.push('verifiedBy');
  if (d.destination === undefined) needs.push('destination');
  if (needs.length > 0) problems.push(`destroyed information needs ${needs.join(', ')}`);
  if (d.method === undefined || d.technique === undefined) return problems;

  const technique = [d.technique, d.details ?? ''].join(' ');
  const media = entry.media;

  if (d.method === 'Destroy' && (d.destination === 'internal reuse' || d.destination === 'external reuse')) {
    problems.push(`destroyed media cannot go to ${d.destination}`);
  }
  if (mentionsDegauss(technique) && !DEGAUSSABLE.has(media)) {
    problems.push(
      FLASH.has(media)
        ? `degaussing does not sanitise ${media} (flash) media; SP 800-88 says never degauss flash — use Purge by block or cryptographic erase, or Destroy`
        : `degaussing only works on magnetic media, not ${media}`,
    );
  }

  switch (media) {
    case 'paper': {
      if (d.method !== 'Destroy') problems.push(`paper can only be destroyed (method Destroy), not ${d.method}`);
      const p = paperTechniqueProblem(technique);
      if (p) problems.push(p);
      break;
    }
    case 'optical':
      if (d.method !== 'Destroy') problems.push(`optical discs can only be sanitised by Destroy (shred, disintegrate, incinerate), not ${d.method}`);
      break;
    case 'usb':
      if (d.method === 'Clear') problems.push('a USB drive or memory card needs Purge or Destroy, not Clear');
      break;
    case 'ssd':
      if (d.method === 'Purge' && /secure[\s-]*erase/i.test(technique) && !/sanitize|sanitise|block[\s-]*erase|crypto/i.test(technique)) {
        problems.push('ATA secure erase counts only as Clear on an SSD; Purge needs a sanitize block erase or cryptographic erase');
      }
      break;
    case 'mobile':
      if (d.method === 'Purge' && !mentionsCryptoErase(technique)) {
        problems.push('Purge of a mobile device is a cryptographic erase; a factory reset alone counts as Clear');
      }
      break;
    case 'cloud':
      if (d.method !== 'Purge') {
        problems.push(`cloud or virtual storage is sanitised by Purge with cryptographic erase; ${d.method} is not applicable`);
      } else if (!mentionsCryptoErase(technique)) {
        problems.push('Purge of cloud or virtual storage must be a cryptographic erase');
      } else {
        if (d.encryptedFromStart !== true) problems.push('cryptographic erase is valid only if the data was encrypted from the start (encryptedFromStart: true)');
        if (d.keyCopiesDestroyed !== true) problems.push('cryptographic erase is valid only once every copy of the key is destroyed (keyCopiesDestroyed: true)');
      }
      break;
    default:
      break;
  }
  if (d.method === 'Clear' && CLEARABLE_HARDWARE.has(media) && d.destination !== 'internal reuse') {
    problems.push(`Clear leaves ${media} recoverable in a laboratory; media leaving the organisation (${d.destination ?? 'no destination'}) needs Purge or Destroy`);
  }
  if (media === 'hdd' && d.method === 'Clear' && mentionsDegauss(technique)) {
    problems.push('degaussing is a Purge technique; record it as Purge');
  }
  return problems;
}

/**
 * Validate a complete answers document against the FTI log. Each problem names its item, all of
 * them at once, so one edit of the file can fix everything.
 */
export function checkAnswers(raw: unknown, entries: readonly FtiEntry[], today: string): Answers {
  assertIsoDate(today, 'today');
  refuseTaxpayerIds(raw, 'The offboarding answers', 'answers.identifier');
  requireComplete(raw, entries);
  const answers = validate(answersSchema, raw, 'The offboarding answers', 'answers.invalid');

  const problems: string[] = [];
  const performer = answers.performedBy.name;
  if (samePerson(answers.validatedBy.name, performer)) {
    problems.push(`validatedBy: the validating official must be someone other than the person performing the sanitisation (${performer})`);
  }
  if (answers.acknowledgement.signedOn > today) {
    problems.push(`acknowledgement.signedOn: ${answers.acknowledgement.signedOn} is after today (${today})`);
  }

  const signedOn = signatureDates(answers, entries, today);
  problems.push(...signedOn.problems);

  const byId = new Map(entries.map((e) => [e.id, e]));
  const seen = new Map<string, number>();
  answers.dispositions.forEach((d, i) => {
    const entry = byId.get(d.entry);
    if (!entry) {
      problems.push(`${dispositionLabel(i, { id: d.entry })}: names an entry that is not in this assignment's FTI log`);
      return;
    }
    const label = dispositionLabel(i, entry);
    const first = seen.get(d.entry);
    if (first !== undefined) {
      problems.push(`${label}: entry ${d.entry} already has a disposition (dispositions[${first}]); each entry needs exactly one`);
      return;
    }
    seen.set(d.entry, i);
    for (const p of dispositionProblems(d, entry, { today, performedBy: performer })) problems.push(`${label}: ${p}`);
  });

  if (problems.length > 0) {
    throw new InputError(`The offboarding answers break ${problems.length === 1 ? 'a rule' : `${problems.length} rules`}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      code: 'answers.rule',
      details: { problems },
      actions: ['Correct the items named above (see docs/rules.md in the detailee package: the accepted destruction methods and NIST SP 800-88 sanitisation) and run again.'],
    });
  }
  return normalise(answers, signedOn);
}

/**
 * The latest date the work itself carries, the last disposition or the last receipt if later, and
 * what carries it; undated dispositions (of an interactive run under way) are skipped.
 */
export function lastWorkDate(
  dispositions: readonly ({ entry?: string | undefined; date?: string | undefined } | undefined)[],
  entries: readonly FtiEntry[],
): { date: string; what: string } | undefined {
  let last: { date: string; what: string } | undefined;
  for (const e of entries) if (!last || e.received > last.date) last = { date: e.received, what: `the receipt of FTI log entry ${e.id}` };
  const byId = new Map(entries.map((e) => [e.id, e]));
  dispositions.forEach((d, i) => {
    if (typeof d?.date !== 'string' || (last && d.date <= last.date)) return;
    last = { date: d.date, what: dispositionLabel(i, byId.get(d.entry ?? '') ?? { id: d.entry ?? '?' }) };
  });
  return last;
}

/**
 * The two certificate signatures (SP 800-88: performer and validating official, each dated). An
 * omitted date is the offboarding day. The performer signs once every item is disposed of, and the
 * validating official accepts the result after that, so neither may precede the work or each other.
 */
function signatureDates(
  answers: { performedBy: { signedOn?: string | undefined }; validatedBy: { signedOn?: string | undefined }; dispositions: readonly Disposition[] },
  entries: readonly FtiEntry[],
  today: string,
): { performedBy: string; validatedBy: string; problems: string[] } {
  const problems: string[] = [];
  const dated = (role: 'performedBy' | 'validatedBy') => {
    const given = answers[role].signedOn;
    return { date: given ?? today, given: given !== undefined, shown: given ?? `${today} (the offboarding day: ${role}.signedOn is not given)` };
  };
  const performer = dated('performedBy');
  const validator = dated('validatedBy');
  const work = lastWorkDate(answers.dispositions, entries);
  for (const [role, s] of [['performedBy', performer], ['validatedBy', validator]] as const) {
    if (s.date > today) problems.push(`${role}.signedOn: ${s.date} is after today (${today}); write the date it was signed, today or earlier`);
  }
  if (work && performer.date < work.date) {
    problems.push(
      `performedBy.signedOn: ${performer.shown} is before ${work.what} (${work.date}); the performer signs once the work is done: write ${work.date} or later`,
    );
  }
  if (performer.date > today) {
    // Already refused above; an order against a date that must change anyway would only add noise.
  } else if (validator.date < performer.date) {
    const ref = performer.given ? `performedBy.signedOn ${performer.date}` : performer.shown;
    problems.push(
      `validatedBy.signedOn: ${validator.shown} is before the performer's signature, ${ref}; the validating official signs after the performer: write ${performer.date} or later`,
    );
  } else if (work && validator.date < work.date) {
    problems.push(`validatedBy.signedOn: ${validator.shown} is before ${work.what} (${work.date}); the validating official signs after the work is done: write ${work.date} or later`);
  }
  return { performedBy: performer.date, validatedBy: validator.date, problems };
}

/** A return needs no destination in the file; the certificate still states one. Signatures carry their dates. */
function normalise(a: z.output<typeof answersSchema>, signedOn: { performedBy: string; validatedBy: string }): Answers {
  const dated = (p: z.output<typeof answersSchema>['performedBy'], date: string): SigningPerson => ({ ...p, signedOn: date });
  return {
    ...a,
    performedBy: dated(a.performedBy, signedOn.performedBy),
    validatedBy: dated(a.validatedBy, signedOn.validatedBy),
    dispositions: a.dispositions.map((d) => (d.action === 'returned' && d.destination === undefined ? { ...d, destination: 'returned to source' } : d)),
  };
}
