import { InputError } from '../errors.js';
import {
  DESTINATIONS,
  dispositionSchema,
  missingDispositionFields,
  PERSON_FIELDS,
  VERIFICATION_METHODS,
  type Answers,
  type PartialAnswers,
  type SanitizationMethod,
} from './answers.js';
import { acknowledgementStatement, offboardingChecklist, propertyOptions, type Checklist } from './checklist.js';
import { dateField, looksLikeTaxpayerId, TAXPAYER_ID_MESSAGE } from './fields.js';
import { MEDIA_LABELS, type FtiEntry, type Media } from './fti.js';
import { checkAnswers, dispositionProblems, lastWorkDate, samePerson } from './rules.js';
import { notLonger, parseParticleSize, parseScreenSize, particleWithin } from './measure.js';
import { findRule, methodsForMedia, rulesTable, techniquesFor, type Rule } from './sanitization.js';

/**
 * The three prompt functions of @inquirer/prompts the checklist needs. Passed in rather than
 * imported: the command loads the prompt library lazily and only with a TTY, and tests drive
 * real prompts through @inquirer/testing.
 */
export interface Prompts {
  input(config: { message: string; default?: string; validate?: (value: string) => boolean | string }): Promise<string>;
  select<V extends string>(config: { message: string; choices: { value: V; name?: string; description?: string }[]; default?: V }): Promise<V>;
  confirm(config: { message: string; default?: boolean }): Promise<boolean>;
}

export interface AskOptions {
  /** The host's calendar date: dates after it are refused. */
  today: string;
  /** Called with a copy of the answers after every answer, so an interrupted run can resume. */
  onProgress?: (partial: PartialAnswers) => void | Promise<void>;
  checklist?: Checklist;
}

const PERSON_LABELS: Record<(typeof PERSON_FIELDS)[number], string> = {
  name: 'name',
  title: 'title',
  organization: 'organisation',
  location: 'location (building, room or site)',
  phone: 'phone',
};

/** The methods the rules table has a technique for on this medium: nothing else is offered. */
function methodsFor(media: Media): SanitizationMethod[] {
  return methodsForMedia(media);
}

/** A size answer is checked as the rules will check it, so a refusal is shown at the question. */
function sizeValidator(rule: Rule, kind: 'particleSize' | 'screenSize'): (value: string) => boolean | string {
  return (value) => {
    const units = rulesTable().units;
    if (kind === 'particleSize') {
      const p = parseParticleSize(value, units);
      if (!p.ok) return `That ${p.problem}.`;
      return particleWithin(p.value, rule.particleMax!) ? true : `That is coarser than ${rule.particleMaxText} (${rule.source}).`;
    }
    const s = parseScreenSize(value, units);
    if (!s.ok) return `That ${s.problem}.`;
    return notLonger(s.value, rule.screenMax!) ? true : `That is coarser than ${rule.screenMaxText} (${rule.source}).`;
  };
}

const clone = <T>(v: T): T => structuredClone(v);

function required(value: string): boolean | string {
  if (value.trim() === '') return 'An answer is required.';
  if (looksLikeTaxpayerId(value)) return `That looks like a taxpayer identifier: ${TAXPAYER_ID_MESSAGE}.`;
  return true;
}

function optional(value: string): boolean | string {
  return value.trim() === '' ? true : required(value);
}

function dateValidator(today: string, notBefore?: string, before = 'the information was received'): (value: string) => boolean | string {
  return (value) => {
    const r = dateField.safeParse(value.trim());
    if (!r.success) return 'Write a date as YYYY-MM-DD.';
    if (r.data > today) return `That is after today (${today}).`;
    if (notBefore !== undefined && r.data < notBefore) return `That is before ${before} (${notBefore}).`;
    return true;
  };
}

/**
 * Ask every item of the offboarding checklist that `partial` does not answer yet, in checklist
 * order, and return answers that pass checkAnswers. A disposition that breaks a rule is shown
 * with its problems and asked again rather than failing the whole run at the end.
 */
export async function askAnswers(entries: readonly FtiEntry[], partial: PartialAnswers, prompts: Prompts, options: AskOptions): Promise<Answers> {
  const { today } = options;
  const checklist = options.checklist ?? offboardingChecklist();
  const a: PartialAnswers = clone(partial ?? {});
  const save = async () => {
    await options.onProgress?.(clone(a));
  };

  async function askPerson(role: 'performedBy' | 'validatedBy', title: string): Promise<void> {
    const p = (a[role] ??= {});
    for (const f of PERSON_FIELDS) {
      if (typeof p[f] === 'string' && p[f].trim() !== '') continue;
      const performer = a.performedBy?.name;
      const value = await prompts.input({
        message: `${title}: ${PERSON_LABELS[f]}`,
        validate: (v) => {
          const r = required(v);
          if (r !== true) return r;
          if (f === 'name' && role === 'validatedBy' && performer && samePerson(v, performer)) {
            return `The validating official must be someone other than ${performer}.`;
          }
          return true;
        },
      });
      p[f] = value.trim();
      await save();
    }
  }

  /** Asked once the work it attests is answered: the performer after the dispositions, the official last. */
  async function askSignedOn(role: 'performedBy' | 'validatedBy', title: string): Promise<void> {
    const p = (a[role] ??= {});
    if (typeof p.signedOn === 'string' && p.signedOn.trim() !== '') return;
    const work = lastWorkDate(a.dispositions ?? [], entries)?.date;
    const performed = role === 'validatedBy' ? a.performedBy?.signedOn : undefined;
    const [notBefore, what] = performed !== undefined && (work === undefined || performed > work) ? [performed, 'the performer signed'] : [work, 'the work it certifies'];
    p.signedOn = (await prompts.input({ message: `${title}: date signed (YYYY-MM-DD)`, default: today, validate: dateValidator(today, notBefore, what) })).trim();
    await save();
  }

  await askPerson('performedBy', 'Person performing the return or destruction');

  a.dispositions ??= [];
  for (const entry of entries) {
    let index = a.dispositions.findIndex((d) => d?.entry === entry.id);
    if (index < 0) {
      a.dispositions.push({ entry: entry.id });
      index = a.dispositions.length - 1;
      await save();
    }
    let notice = '';
    for (;;) {
      await askDisposition(index, entry, notice);
      const d = a.dispositions[index]!;
      const parsed = dispositionSchema.safeParse(d);
      const problems = parsed.success
        ? dispositionProblems(parsed.data, entry, { today, performedBy: a.performedBy?.name })
        : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      if (problems.length === 0) break;
      notice = `Not accepted: ${problems.join('; ')}. `;
      a.dispositions[index] = { entry: entry.id };
      await save();
    }
  }

  async function askDisposition(index: number, entry: FtiEntry, notice: string): Promise<void> {
    const d = a.dispositions![index]!;
    const about = `${entry.id} "${entry.description}" (${MEDIA_LABELS[entry.media]}, received ${entry.received})`;
    let first = notice;
    const msg = (text: string) => {
      const m = `${first}${about}: ${text}`;
      first = '';
      return m;
    };
    for (;;) {
      const missing = missingDispositionFields(d as Record<string, unknown>);
      const next = missing[0];
      if (next === undefined) return;
      switch (next) {
        case 'action':
          d.action = await prompts.select({
            message: msg('returned to the source, or destroyed?'),
            choices: [
              { value: 'destroyed' as const, name: 'destroyed' },
              { value: 'returned' as const, name: 'returned to the source (with a receipt)' },
            ],
          });
          if (d.action === 'returned') d.destination = 'returned to source';
          break;
        case 'date':
          d.date = (
            await prompts.input({
              message: msg(d.action === 'returned' ? 'date returned (YYYY-MM-DD)' : 'date destroyed (YYYY-MM-DD)'),
              default: today,
              validate: dateValidator(today, entry.received),
            })
          ).trim();
          break;
        case 'receipt':
          d.receipt = (await prompts.input({ message: msg('receipt from the source (reference or who signed for it)'), validate: required })).trim();
          break;
        case 'method': {
          const methods = methodsFor(entry.media);
          d.method =
            methods.length === 1
              ? methods[0]!
              : await prompts.select({
                  message: msg('sanitisation method (NIST SP 800-88)'),
                  choices: methods.map((m) => ({ value: m, name: m })),
                });
          break;
        }
        case 'technique': {
          // A select list of the table's techniques for this medium and method: no free text to misread.
          const method = d.method ?? 'Destroy';
          const rules = techniquesFor(entry.media, method);
          const labels = new Map(rulesTable().techniques.map((t) => [t.id, t.label]));
          d.technique = await prompts.select({
            message: msg(`technique (${method} of ${MEDIA_LABELS[entry.media]})`),
            choices: rules.map((r) => ({ value: r.technique, name: `${r.technique}: ${labels.get(r.technique) ?? r.technique}`, description: r.note ?? r.source })),
          });
          const rule = findRule(entry.media, d.technique)!;
          if (rule.particleMax) {
            d.particleSize = (await prompts.input({ message: msg(`particle size, with its unit (${rule.particleMaxText} or finer)`), validate: sizeValidator(rule, 'particleSize') })).trim();
          }
          if (rule.screenMax !== undefined) {
            d.screenSize = (await prompts.input({ message: msg(`screen size, with its unit (${rule.screenMaxText} or finer)`), validate: sizeValidator(rule, 'screenSize') })).trim();
          }
          if (rule.attest.includes('encryptedFromStart')) {
            d.encryptedFromStart = await prompts.confirm({ message: msg('was the data encrypted from the moment it was stored?'), default: false });
          }
          if (rule.attest.includes('keyCopiesDestroyed')) {
            d.keyCopiesDestroyed = await prompts.confirm({ message: msg('has every copy of the encryption key been destroyed?'), default: false });
          }
          break;
        }
        case 'tool.name': {
          const name = (await prompts.input({ message: msg('tool used (make and model, or software)'), validate: required })).trim();
          const version = (await prompts.input({ message: msg('tool version (blank if none)'), validate: optional })).trim();
          d.tool = version === '' ? { name } : { name, version };
          break;
        }
        case 'verifiedBy.name':
        case 'verifiedBy.title': {
          const performer = a.performedBy?.name;
          const v = (d.verifiedBy ??= {});
          if (!v.name) {
            v.name = (
              await prompts.input({
                message: msg('verified by (name; not the person who performed it)'),
                validate: (x) => {
                  const r = required(x);
                  if (r !== true) return r;
                  return performer && samePerson(x, performer) ? `The verifier must be someone other than ${performer}.` : true;
                },
              })
            ).trim();
          }
          if (!v.title) v.title = (await prompts.input({ message: msg("verifier's title"), validate: required })).trim();
          d.verification ??= await prompts.select({
            message: msg('verification method'),
            choices: VERIFICATION_METHODS.map((m) => ({ value: m, name: m })),
            default: 'full' as const,
          });
          break;
        }
        case 'destination': {
          const open = rulesTable().methods.find((m) => m.id === d.method)?.destinations;
          const choices = DESTINATIONS.filter((x) => x !== 'returned to source' && (open === undefined || open.includes(x)));
          d.destination = await prompts.select({
            message: msg('destination of the media afterwards'),
            choices: choices.map((x) => ({ value: x, name: x })),
          });
          break;
        }
        default:
          throw new Error(`no question for ${next}`);
      }
      await save();
    }
  }

  await askSignedOn('performedBy', 'Person performing the return or destruction');

  if (!Array.isArray(a.propertyReturned)) {
    const returned: string[] = [];
    for (const item of propertyOptions(checklist)) {
      if (await prompts.confirm({ message: `Returned: ${item.label}?`, default: true })) returned.push(item.id);
    }
    const other = await prompts.input({ message: 'Any other property returned (comma-separated, blank for none)', validate: optional });
    returned.push(...other.split(',').map((s) => s.trim()).filter((s) => s !== ''));
    a.propertyReturned = returned;
    await save();
  }

  a.acknowledgement ??= {};
  if (!a.acknowledgement.signedOn) {
    const agreed = await prompts.confirm({ message: `The detailee acknowledges: ${acknowledgementStatement(checklist)}`, default: false });
    if (!agreed) {
      throw new InputError('The detailee did not sign the acknowledgement of continuing obligations (PS-4(1)); no certificate can be issued.', {
        code: 'answers.acknowledgement',
        actions: ['Run `detailee offboard` again once the detailee acknowledges; the other answers are kept.'],
      });
    }
    a.acknowledgement.signedOn = (await prompts.input({ message: 'Acknowledgement signed on (YYYY-MM-DD)', default: today, validate: dateValidator(today) })).trim();
    await save();
  }

  await askPerson('validatedBy', 'Validating official');
  await askSignedOn('validatedBy', 'Validating official');

  return checkAnswers(a, entries, today);
}
