import { DateTime } from 'luxon';
import { InputError } from '../errors.js';
import { dateDiff, hasStarted, localDate, midnightDate } from '../time/days.js';

export { hasStarted };

/**
 * The term of a detail, computed (never typed): the last day of access is start + days − 1 in the
 * host's zone, and access ends at 00:00 of the following day in that zone.
 */
export interface Term {
  start: string; // ISO date
  timezone: string;
  days: number; // total days including renewals applied so far
  lastDay: string; // ISO date
  startsAt: string; // ISO instant with the zone's offset: 00:00 of start
  endsAt: string; // ISO instant with the zone's offset: 00:00 after lastDay
}

export const MAX_PERIOD_DAYS = 120;

function checkDays(days: number, what: string): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_PERIOD_DAYS) {
    throw new InputError(`${what} must be a whole number from 1 to ${MAX_PERIOD_DAYS}; got ${days}.`, {
      code: 'term.days',
      actions: ['5 U.S.C. 3341 limits a detail, and each renewal, to 120 days.'],
    });
  }
}

function midnight(date: string, zone: string): DateTime {
  // startOf('day') resolves a midnight that DST skips to the first instant of the day.
  const dt = DateTime.fromISO(date, { zone }).startOf('day');
  if (!dt.isValid) {
    throw new InputError(`Cannot place ${date} in time zone ${zone}: ${dt.invalidExplanation ?? dt.invalidReason}`, {
      code: 'term.date',
      actions: ['Use a real calendar date (YYYY-MM-DD) and an IANA time zone.'],
    });
  }
  return dt;
}

export function computeTerm(start: string, days: number, timezone: string): Term {
  checkDays(days, 'term.days');
  return termSpanning(start, days, timezone);
}

/** The term covering `days` calendar days from start; the 120-day cap applies per period, not here. */
function termSpanning(start: string, days: number, timezone: string): Term {
  const startsAt = midnight(start, timezone);
  // Calendar arithmetic on dates, not 24-hour periods: a DST change does not move the end.
  const lastDay = startsAt.plus({ days: days - 1 });
  const endsAt = midnight(lastDay.plus({ days: 1 }).toISODate()!, timezone);
  return {
    start,
    timezone,
    days,
    lastDay: lastDay.toISODate()!,
    startsAt: startsAt.toISO({ suppressMilliseconds: true })!,
    endsAt: endsAt.toISO({ suppressMilliseconds: true })!,
  };
}

/** Renewal adds whole periods to the current end; it never shortens and never restarts the clock. */
export function renewTerm(term: Term, renewalDays: number): Term {
  checkDays(renewalDays, 'renewalDays');
  return termSpanning(term.start, term.days + renewalDays, term.timezone);
}

/** "Due" means endsAt <= now; nothing keys on an exact date, so a missed night is caught up. */
export function isDue(term: Pick<Term, 'endsAt'>, now: Date): boolean {
  return Date.parse(term.endsAt) <= now.getTime();
}

/** Today's date in a zone, per (zone, instant): `status` asks it for every row with the same `now`. */
const todayCache = new Map<string, string>();

function todayIn(now: Date, zone: string): string {
  const key = `${zone}|${now.getTime()}`;
  let d = todayCache.get(key);
  if (d === undefined) {
    if (todayCache.size > 256) todayCache.clear();
    d = dateIn(now, zone);
    todayCache.set(key, d);
  }
  return d;
}

/** Whole days of access left, counted in the host's zone (0 on and after the end). */
export function daysLeft(term: Pick<Term, 'endsAt' | 'timezone'>, now: Date): number {
  if (Date.parse(term.endsAt) <= now.getTime()) return 0;
  const endDate = midnightDate(term.endsAt) ?? DateTime.fromISO(term.endsAt, { zone: term.timezone }).toISODate()!;
  return Math.max(0, dateDiff(todayIn(now, term.timezone), endDate));
}

/**
 * The ISO date of `now` in a zone: the cheap way when it can be trusted (days.ts), else luxon,
 * whose first use sets up ICU's locale data (~30 ms, more than an answers check or a status run).
 */
export function dateIn(now: Date, zone: string): string {
  return localDate(now, zone) ?? DateTime.fromJSDate(now, { zone }).toISODate()!;
}
