import { DateTime } from 'luxon';
import { InputError } from '../errors.js';

export interface DueNoticesInput {
  /** ISO instant with offset: 00:00 after the last day, in the host's zone. */
  endsAt: string;
  /** The host's IANA zone, in which "d days before" is counted. */
  timezone: string;
  daysBefore: number[];
  /** Keys already recorded as sent. */
  sent: Set<string>;
  now: Date;
  /** ISO instant at which the current end was set; omitted means every past threshold counts. */
  termSetAt?: string | undefined;
  /** Mail only the most urgent of several due at once; see above. */
  collapse?: boolean | undefined;
}

export interface DueNotice {
  key: string;
  daysBefore: number;
  /** The threshold's day is before today (host zone): the job did not run on it. */
  late: boolean;
  /** Record as sent without mailing (only with `collapse`). */
  superseded: boolean;
  /** ISO instant with offset at which this threshold opened. */
  dueAt: string;
}

export const PRE_EXPIRY = 'pre-expiry';

export function preExpiryKey(endsAt: string, daysBefore: number): string {
  return `${PRE_EXPIRY}:${endsAt}:${daysBefore}`;
}

function parseInstant(iso: string, zone: string, what: string): DateTime {
  const dt = DateTime.fromISO(iso, { zone });
  if (!dt.isValid) {
    throw new InputError(`Cannot read ${what} ${JSON.stringify(iso)} in time zone ${zone}: ${dt.invalidExplanation ?? dt.invalidReason}`, {
      code: 'notice.time',
      actions: ['Pass an ISO-8601 instant and an IANA time zone.'],
    });
  }
  return dt;
}

/** 00:00 (or the first instant, where DST skips midnight) of the day `days` before endsAt's day. */
export function thresholdStart(endsAt: string, timezone: string, days: number): DateTime {
  const endDay = parseInstant(endsAt, timezone, 'endsAt').toISODate()!;
  // Subtract in UTC so the arithmetic is on calendar dates only, then place the date in the zone.
  const day = DateTime.fromISO(endDay, { zone: 'UTC' }).minus({ days }).toISODate()!;
  return DateTime.fromISO(day, { zone: timezone }).startOf('day');
}

/**
 * Which pre-expiry notices are due now. Pure: a function of the term, the configured thresholds,
 * the keys already recorded as sent, and the clock.
 *
 * Policy (DESIGN: "each threshold's notice is sent exactly once, even if the job runs twice in a
 * night, and a threshold missed because the job did not run is sent once, late, not skipped"):
 *
 * - Threshold d opens at 00:00, in the host's zone, of the calendar day d days before the end's
 *   day, and stays open until the end itself. Calendar days, not 24-hour periods, so a DST change
 *   between the threshold and the end does not move it by an hour.
 * - A key names the threshold *and the end it counts down to*. Once the caller records a key as
 *   sent, it is never due again (a second run in the same night finds it in `sent`); a renewal
 *   moves the end, so the new end's thresholds have new keys and fire in their turn.
 * - Every open, unsent threshold is returned, oldest first. When the job was down across several
 *   thresholds, each is still sent, once, late: the literal reading of the rule, and each mail is
 *   distinct (it names the threshold it stands for and the day it was due), so the record shows
 *   per threshold that the people concerned were told. `collapse: true` opts into mailing only the
 *   most urgent of several due at once and marks the others `superseded`, so the caller records
 *   them without mailing; it is off by default because it skips notices the rule says to send.
 * - `termSetAt` (when the current end was set: onboarding, or the last renewal) keeps thresholds
 *   that were already past when the end was set from counting as "missed": they never applied,
 *   and firing them would mail a burst of "late" notices the moment a short detail is onboarded
 *   or a detail is renewed by a few days. A threshold on the very day the end was set still fires.
 * - A threshold of 0 days opens at the end itself, when nothing is due any more; it never fires.
 */
export function dueNotices(input: DueNoticesInput): DueNotice[] {
  const { endsAt, timezone, now } = input;
  const end = parseInstant(endsAt, timezone, 'endsAt');
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) {
    throw new InputError('dueNotices was given an invalid clock reading.', { code: 'notice.time' });
  }
  if (nowMs >= end.toMillis()) return [];
  const today = DateTime.fromJSDate(now, { zone: timezone }).toISODate()!;
  const setDay = input.termSetAt === undefined ? undefined : parseInstant(input.termSetAt, timezone, 'termSetAt').toISODate()!;

  const thresholds = [...new Set(input.daysBefore)].filter((d) => Number.isInteger(d) && d > 0).sort((a, b) => b - a);
  const due: DueNotice[] = [];
  for (const d of thresholds) {
    const key = preExpiryKey(endsAt, d);
    if (input.sent.has(key)) continue;
    const opens = thresholdStart(endsAt, timezone, d);
    if (nowMs < opens.toMillis()) continue;
    const day = opens.toISODate()!;
    // ISO dates compare correctly as strings.
    if (setDay !== undefined && day < setDay) continue;
    due.push({ key, daysBefore: d, late: day < today, superseded: false, dueAt: opens.toISO({ suppressMilliseconds: true })! });
  }
  if (input.collapse && due.length > 1) {
    for (const n of due.slice(0, -1)) n.superseded = true;
  }
  return due;
}
