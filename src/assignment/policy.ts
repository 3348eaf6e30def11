/**
 * The admission policy of an assignment, beyond its schema and signatures: the one function both
 * `assignment verify` and `onboard` apply, so that a manifest verify calls good is one onboard
 * accepts (and one it refuses, verify refuses too).
 */
import { DateTime } from 'luxon';
import { InputError } from '../errors.js';
import type { Assignment } from './schema.js';
import { dateIn, type Term } from './term.js';

/** How far ahead a start may be: a signed manifest for a detail years away is a mistake or a plant. */
const MAX_START_AHEAD_YEARS = 1;

export interface PolicyProblem {
  /** The manifest field at fault, as the schema errors name fields. */
  field: string;
  message: string;
}

/**
 * Every reason the assignment may not be admitted at `now`, or none. Dates are compared as
 * calendar dates in the term's zone: "today" is the host office's today.
 *
 * PS-6: access agreements are signed, and the investigation adjudicated, before access begins; a
 * prerequisite dated after today is not on record yet, however the manifest was signed.
 */
export function assignmentPolicy(doc: Assignment, term: Pick<Term, 'start' | 'timezone'>, now: Date): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const today = dateIn(now, term.timezone);
  const start = doc.term.start;
  const latestStart = DateTime.fromISO(today, { zone: 'UTC' }).plus({ years: MAX_START_AHEAD_YEARS }).toISODate()!;
  if (start > latestStart) {
    problems.push({
      field: 'term.start',
      message: `term.start (${start}) is more than ${MAX_START_AHEAD_YEARS} year ahead of today (${today}); the latest start accepted today is ${latestStart}`,
    });
  }
  const p = doc.prerequisites;
  const check = (path: string, date: string | undefined, what: string) => {
    const field = `prerequisites.${path}`;
    if (date === undefined) problems.push({ field, message: `${field} is missing: ${what} must be on record before access` });
    // After the start is wrong whenever it is read; in the future is wrong until that day comes.
    else if (date > start) problems.push({ field, message: `${field} (${date}) is after the term start (${start}): ${what} must precede access` });
    else if (date > today) problems.push({ field, message: `${field} (${date}) is in the future (today is ${today}): ${what} cannot be on record yet` });
  };
  check('backgroundInvestigation.adjudicated', p.backgroundInvestigation?.adjudicated, 'a favourably adjudicated background investigation');
  check('disclosureTraining', p.disclosureTraining, 'disclosure awareness training');
  check('confidentialityAgreement', p.confidentialityAgreement, 'a signed confidentiality agreement');
  return problems;
}

/** The policy as a refusal: exit 2, every problem named, nothing changed. */
export function assertPolicy(doc: Assignment, term: Pick<Term, 'start' | 'timezone'>, now: Date, doing: string, code = 'assignment.policy'): void {
  const problems = assignmentPolicy(doc, term, now);
  if (problems.length === 0) return;
  throw new InputError(`Assignment ${doc.id} cannot be ${doing}:\n${problems.map((x) => `  - ${x.message}`).join('\n')}`, {
    code,
    actions: ['Record the prerequisites, with the dates they were met, and a start within a year, in a corrected, re-signed manifest.'],
    details: { problems: problems.map((x) => x.message), fields: problems.map((x) => x.field) },
  });
}
