import type { AssignmentRecord } from '../store/types.js';
import type { Assignment } from './schema.js';
import { isDue, renewTerm, type Term } from './term.js';

/** What a renewal is judged against: the store's record of the detail, or its manifest before onboarding. */
export interface RenewalBasis {
  source: 'store' | 'manifest';
  /** The store's state; `new` for a manifest not yet onboarded. */
  state: string;
  term: Term;
  renewalsUsed: number;
  renewalsMax: number;
  /** term.renewals.days of the manifest: the longest period one amendment may add. */
  periodDays: number;
  /** SHA-256 of the amendments already applied. */
  applied: string[];
}

/** The public shape of the renewal part of `assignment verify --json` for an amendment. */
export interface RenewalPreview {
  source: 'store' | 'manifest';
  state: string;
  current: { lastDay: string; endsAt: string };
  /** The term after this amendment (the current one when it cannot be applied). */
  renewed: { lastDay: string; endsAt: string; days: number };
  renewalsUsed: number;
  renewalsMax: number;
  /** Renewals left once this amendment is applied (as now, when it cannot be). */
  renewalsLeft: number;
  alreadyApplied: boolean;
  /** Why `renew` would refuse it; empty when it would apply. */
  problems: string[];
}

export function basisFromRecord(rec: AssignmentRecord): RenewalBasis {
  const applied = ((rec.data.amendments as { sha256: string }[] | undefined) ?? []).map((a) => a.sha256);
  return { source: 'store', state: rec.state, term: rec.term, renewalsUsed: rec.renewalsUsed, renewalsMax: rec.renewalsMax, periodDays: rec.manifest.term.renewals.days, applied };
}

export function basisFromManifest(doc: Assignment, term: Term): RenewalBasis {
  return { source: 'manifest', state: 'new', term, renewalsUsed: 0, renewalsMax: doc.term.renewals.max, periodDays: doc.term.renewals.days, applied: [] };
}

/**
 * The renewal an amendment would make, and every reason `renew` would refuse it (the same rules,
 * in the same words). Pure: the basis and the clock are given.
 */
export function previewRenewal(b: RenewalBasis, amendment: { renewalDays: number; sha256: string }, now: Date): RenewalPreview {
  const alreadyApplied = b.applied.includes(amendment.sha256);
  const problems: string[] = [];
  if (!alreadyApplied) {
    if (b.source === 'store' && b.state !== 'active') problems.push(`the assignment is ${b.state}; only an active detail can be renewed`);
    if (isDue(b.term, now)) problems.push(`the term ended at ${b.term.endsAt}; a lapsed detail cannot be renewed`);
    if (b.renewalsUsed >= b.renewalsMax) problems.push(`${b.renewalsUsed} of ${b.renewalsMax} renewal(s) allowed by the manifest are used`);
    if (amendment.renewalDays > b.periodDays) problems.push(`renewalDays ${amendment.renewalDays} exceeds the ${b.periodDays} days the manifest allows per renewal (term.renewals.days)`);
  }
  const applies = !alreadyApplied && problems.length === 0;
  const renewed = applies ? renewTerm(b.term, amendment.renewalDays) : b.term;
  return {
    source: b.source,
    state: b.state,
    current: { lastDay: b.term.lastDay, endsAt: b.term.endsAt },
    renewed: { lastDay: renewed.lastDay, endsAt: renewed.endsAt, days: renewed.days },
    renewalsUsed: b.renewalsUsed,
    renewalsMax: b.renewalsMax,
    renewalsLeft: Math.max(0, b.renewalsMax - b.renewalsUsed - (applies ? 1 : 0)),
    alreadyApplied,
    problems,
  };
}
