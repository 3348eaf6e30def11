import { dateDiff, hasStarted, localDate, midnightDate } from '../time/days.js';
import type { Term } from '../assignment/term.js';
import type { AssignmentState, Store } from '../store/types.js';
import { nextAction } from './state.js';
import { isFiltered, stateOf, type StatusFilter } from './status-filter.js';

export const HEARTBEAT_KEY = 'expire.heartbeat';
const HEARTBEAT_MAX_AGE_HOURS = 26;

export interface StatusRow {
  id: string;
  username: string;
  state: AssignmentState;
  /** `scheduled` for an active assignment whose start is still ahead. */
  display: string;
  start: string;
  lastDay: string;
  endsAt: string;
  daysLeft: number;
  renewalsLeft: number;
  nextAction: string;
}

export interface StatusResult {
  assignments: StatusRow[];
  heartbeat: { lastRun: string | null; stale: boolean; warning: string | null };
}

export type Summary = Awaited<ReturnType<Store['listSummaries']>>[number];
export type DaysLeft = (term: Pick<Term, 'endsAt' | 'timezone'>) => number;

/**
 * Days left for each active row, counted as term.ts's daysLeft counts them. Today's date is found
 * once per zone the cheap way (days.ts); only a zone or an end it cannot read loads luxon.
 */
export async function dayCounter(terms: Pick<Term, 'endsAt' | 'timezone'>[], now: Date): Promise<DaysLeft> {
  const today = new Map<string, string | undefined>();
  let longWay = false;
  for (const t of terms) {
    if (!today.has(t.timezone)) today.set(t.timezone, localDate(now, t.timezone));
    if (today.get(t.timezone) === undefined || midnightDate(t.endsAt) === undefined) longWay = true;
  }
  const term = longWay ? await import('../assignment/term.js') : undefined;
  return (t) => {
    if (Date.parse(t.endsAt) <= now.getTime()) return 0;
    const from = today.get(t.timezone);
    const to = midnightDate(t.endsAt);
    return from !== undefined && to !== undefined ? Math.max(0, dateDiff(from, to)) : term!.daysLeft(t, now);
  };
}

/** What `status` shows beside the state when the revocation or the onboarding is not what the state implies. */
function condition(s: Summary): { display?: string; nextAction?: string } {
  if (s.state === 'active') {
    return s.provisioned === false ? { display: 'onboarding incomplete', nextAction: 'finish onboarding: run `detailee onboard` with the same manifest again' } : {};
  }
  if (s.revocation === 'regressed') return { display: `${s.state}, REGRESSED`, nextAction: `look now: a revoked account was changed; see \`detailee show ${s.id}\`` };
  if (s.revocation === 'incomplete' || s.revocation === undefined) {
    return { display: `${s.state}, revocation not proven`, nextAction: `finish the revocation: \`detailee offboard ${s.id}\` or the nightly job; \`detailee show ${s.id}\` names what is unproven` };
  }
  return {};
}

export function row(s: Summary, now: Date, daysLeft: DaysLeft): StatusRow {
  const scheduled = s.state === 'active' && !hasStarted(s, now);
  const c = condition(s);
  return {
    id: s.id,
    username: s.username,
    state: s.state,
    display: c.display ?? (scheduled ? 'scheduled' : s.state),
    // The first day, as show and the manifest write it; startsAt (its first instant) is in the term.
    start: s.startsAt.slice(0, 10),
    lastDay: s.lastDay,
    endsAt: s.endsAt,
    daysLeft: s.state === 'active' ? daysLeft(s) : 0,
    renewalsLeft: Math.max(0, s.renewalsMax - s.renewalsUsed),
    nextAction: c.nextAction ?? nextAction(s.state, scheduled, s.id),
  };
}

export async function heartbeat(store: Store, now: Date): Promise<StatusResult['heartbeat']> {
  const hb = await store.getMeta<{ at: string }>(HEARTBEAT_KEY);
  const active = (await store.countAssignments()) > 0;
  if (!hb) {
    return {
      lastRun: null,
      stale: active,
      warning: active ? 'The nightly job (detailee expire) has never completed a run against this store.' : null,
    };
  }
  const ageH = (now.getTime() - Date.parse(hb.at)) / 3_600_000;
  const stale = ageH > HEARTBEAT_MAX_AGE_HOURS;
  return {
    lastRun: hb.at,
    stale,
    warning: stale ? `The nightly job last completed ${Math.floor(ageH)} hours ago (at ${hb.at}); check its timer or cron entry.` : null,
  };
}

/** Rows read from the store at once by `statusPages`: small, because V8 promotes what lives across a
 * read to its old space and collects that lazily; 100 kept `status` over 100,000 rows under 100 MB. */
const STATUS_PAGE = 50;

/**
 * The rows of `status` a page at a time, in id order: what is held at once is one page, however
 * many assignments the store has. Only the days left of a page's active rows are counted.
 */
export async function* statusPages(store: Store, now: Date, filter?: StatusFilter, pageSize = STATUS_PAGE): AsyncGenerator<StatusRow[]> {
  for (let after: string | undefined; ; ) {
    const page = await store.listSummaries(undefined, { after, limit: pageSize });
    if (page.length === 0) return;
    const daysLeft = await dayCounter(page.filter((s) => s.state === 'active'), now);
    let kept = page;
    if (isFiltered(filter)) {
      const { states, endingWithinDays: within } = filter;
      kept = page.filter(
        (s) => (states === undefined || states.has(stateOf(s, now))) && (within === undefined || (s.state === 'active' && daysLeft(s) <= within)),
      );
    }
    if (kept.length > 0) yield kept.map((s) => row(s, now, daysLeft));
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}

/** Every assignment, or those the filter keeps; the heartbeat is about the whole store either way. */
export async function status(store: Store, now: Date, filter?: StatusFilter): Promise<StatusResult> {
  const assignments: StatusRow[] = [];
  for await (const page of statusPages(store, now, filter)) assignments.push(...page);
  return { assignments, heartbeat: await heartbeat(store, now) };
}
