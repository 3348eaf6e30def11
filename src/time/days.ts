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

const dayFormats = new Map<string, Intl.DateTimeFormat | null>();

/**
 * Today's date in an IANA zone, from ICU's time-zone rules through Intl (the same rules luxon
 * uses), without loading luxon. An unknown zone is undefined: the caller's long way then reports
 * it. Nothing global is changed (no TZ).
 */
export function localDate(now: Date, zone: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return undefined;
  let format = dayFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: zone, calendar: 'gregory', numberingSystem: 'latn', year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      format = null; // RangeError: not a zone ICU knows
    }
    dayFormats.set(zone, format);
  }
  if (format === null) return undefined;
  const parts = format.formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const [y, m, d] = [part('year'), part('month'), part('day')];
  if (![y, m, d].every(Number.isInteger)) return undefined;
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
}
