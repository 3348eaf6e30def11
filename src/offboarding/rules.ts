import type { z } from 'zod';
import { InputError } from '../errors.js';
import { validate } from '../validation.js';
import { answersSchema, dispositionLabel, requireComplete, type Answers, type Disposition, type SigningPerson } from './answers.js';
import { assertIsoDate, refuseTaxpayerIds } from './fields.js';
import type { FtiEntry } from './fti.js';
import { judgeTreatment } from './sanitization.js';

/** Names compared the way people write them: case, outer and doubled spaces do not make a second person. */
export function samePerson(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  return norm(a) === norm(b);
}

export interface RuleContext {
  today: string;
  performedBy?: string | undefined;
}

/**
 * What is wrong with one disposition of one FTI log entry, without the item's label, so the
 * interactive checklist can show it beside the question. Empty when it is acceptable.
 *
 * Which technique is valid for which medium, and as which method, is the table of
 * templates/rules/sanitization.yaml (see sanitization.ts); this adds what belongs to the
 * disposition as a whole: dates, the second person, and what a return carries. A return to the
 * source with a receipt is accepted for any medium: IRC 6103(p)(4)(F) and Pub 1075 accept a
 * return as well as destruction. Free text (details, tool, receipt) is recorded and never decides.
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
    for (const f of ['method', 'technique', 'tool', 'particleSize', 'screenSize'] as const) {
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

  const judged = judgeTreatment({
    media: entry.media,
    method: d.method,
    technique: d.technique,
    particleSize: d.particleSize,
    screenSize: d.screenSize,
    encryptedFromStart: d.encryptedFromStart,
    keyCopiesDestroyed: d.keyCopiesDestroyed,
    destination: d.destination,
  });
  problems.push(...judged.problems);
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
  return normalise(answers, signedOn, entries);
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

/**
 * A return needs no destination in the file; the certificate still states one. Signatures carry
 * their dates. A technique written in a legacy spelling is stored as its term, with the size that
 * spelling carried, so the certificate names the vocabulary term.
 */
function normalise(a: z.output<typeof answersSchema>, signedOn: { performedBy: string; validatedBy: string }, entries: readonly FtiEntry[]): Answers {
  const dated = (p: z.output<typeof answersSchema>['performedBy'], date: string): SigningPerson => ({ ...p, signedOn: date });
  const media = new Map(entries.map((e) => [e.id, e.media]));
  return {
    ...a,
    performedBy: dated(a.performedBy, signedOn.performedBy),
    validatedBy: dated(a.validatedBy, signedOn.validatedBy),
    dispositions: a.dispositions.map((d) => {
      if (d.action === 'returned') return d.destination === undefined ? { ...d, destination: 'returned to source' } : d;
      if (d.method === undefined || d.technique === undefined) return d;
      const judged = judgeTreatment({ ...d, media: media.get(d.entry)!, method: d.method, technique: d.technique });
      const out: Disposition = { ...d, technique: judged.technique ?? d.technique };
      if (judged.particleSize !== undefined) out.particleSize = judged.particleSize;
      if (judged.screenSize !== undefined) out.screenSize = judged.screenSize;
      if (judged.carried !== undefined) out.details = d.details === undefined ? judged.carried : `${judged.carried}; ${d.details}`;
      return out;
    }),
  };
}
