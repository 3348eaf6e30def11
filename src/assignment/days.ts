/**
 * Day counting for `status` and `show`, without luxon and, in the common case, without ICU's
 * locale data: loading those costs more than the rest of a `status` run, and monitoring runs it
 * every few minutes. Where the cheap way cannot be trusted it says so (undefined), and the caller
 * takes the long way through luxon (term.ts).
 */

export function hasStarted(term: { startsAt: string }, now: Date): boolean {
  return Date.parse(term.startsAt) <= now.getTime();
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a YYYY-MM-DD string names a day of the proleptic Gregorian calendar, as luxon's
 * DateTime.fromISO(s, { zone: 'UTC' }).isValid decides it (a test compares the two). Asking luxon
 * the first time sets up its system locale through ICU, which cost more than checking all fifty
 * dispositions of a certificate.
 */
export function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const year = Number(s.slice(0, 4));
  const month = Number(s.slice(5, 7));
  const day = Number(s.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/** Days from one ISO calendar date to another. */
export function dateDiff(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * endsAt's date in its zone, when it is written as local midnight with the zone's offset (as
 * computeTerm writes it): its first ten characters. Undefined for any other form.
 */
export function midnightDate(endsAt: string): string | undefined {
  return /^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?[+-]\d{2}:\d{2}$/.test(endsAt) ? endsAt.slice(0, 10) : undefined;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * Today's date in an IANA zone from the Date object's local time with TZ set to the zone. V8
 * takes local time from ICU's time-zone rules (the same ones Intl uses) without loading its
 * locale data. An unknown zone silently reads as UTC, so a zone at +00:00 both in January and in
 * July is not trusted (UTC itself included: the caller's long way is right for it, only slower).
 * TZ is restored before returning, and nothing can run in between.
 */
export function localDate(now: Date, zone: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return undefined;
  const prev = process.env.TZ;
  try {
    process.env.TZ = zone;
    const year = now.getUTCFullYear();
    if (new Date(Date.UTC(year, 0, 1)).getTimezoneOffset() === 0 && new Date(Date.UTC(year, 6, 1)).getTimezoneOffset() === 0) return undefined;
    return `${pad(now.getFullYear(), 4)}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  } finally {
    if (prev === undefined) delete process.env.TZ;
    else process.env.TZ = prev;
  }
}
