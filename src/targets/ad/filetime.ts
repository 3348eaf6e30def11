/**
 * Windows FILETIME as Active Directory stores it in `accountExpires`, `pwdLastSet` and friends:
 * 100-nanosecond intervals since 1601-01-01T00:00:00Z, written as a decimal integer.
 *
 * JavaScript Dates carry milliseconds, so every conversion here is exact in both directions for
 * instants on a millisecond: 1 ms is exactly 10,000 intervals. BigInt keeps the 64-bit values
 * whole (they pass 2^53 long before today).
 */

/** Intervals between 1601-01-01 and 1970-01-01 (369 years, 89 of them leap years). */
export const EPOCH_OFFSET = 116_444_736_000_000_000n;
const PER_MS = 10_000n;

/** `accountExpires` values that both mean "never expires" (AD writes either). */
const NEVER_ZERO = 0n;
export const NEVER_MAX = 0x7fff_ffff_ffff_ffffn;

export function isNever(filetime: bigint): boolean {
  return filetime === NEVER_ZERO || filetime === NEVER_MAX;
}

/**
 * The FILETIME of an exact instant. Only a full ISO 8601 date-time with a zone (Z or ±hh:mm)
 * is accepted: a bare date would leave the time of day and the zone to guesswork, and an
 * expiry must not move by a time zone.
 */
export function toFileTime(iso: string): bigint {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(iso)) {
    throw new RangeError(`Not an exact instant (ISO 8601 date-time with a zone): ${JSON.stringify(iso)}`);
  }
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`Not an instant: ${JSON.stringify(iso)}`);
  return fileTimeOfMs(ms);
}

export function fileTimeOfMs(ms: number): bigint {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`Not a whole number of milliseconds: ${ms}`);
  const ft = BigInt(ms) * PER_MS + EPOCH_OFFSET;
  // Before 1601 or at/after the "never" sentinel is not an expiry AD can hold.
  if (ft <= NEVER_ZERO || ft >= NEVER_MAX) throw new RangeError(`Instant out of FILETIME range: ${new Date(ms).toISOString()}`);
  return ft;
}

/** Parse the decimal text AD returns; undefined for anything that is not a FILETIME. */
export function parseFileTime(text: string | undefined): bigint | undefined {
  if (text === undefined || !/^-?\d{1,20}$/.test(text.trim())) return undefined;
  const v = BigInt(text.trim());
  // Negative or above the sentinel: not a value AD writes.
  if (v < 0n || v > NEVER_MAX) return undefined;
  return v;
}

/**
 * The instant a FILETIME names, as an ISO string, or 'never' for the two sentinels. Sub-millisecond
 * remainders are truncated (towards the past), which for an expiry errs on the early side.
 */
export function fromFileTime(filetime: bigint): string | 'never' {
  if (isNever(filetime)) return 'never';
  if (filetime < 0n || filetime > NEVER_MAX) throw new RangeError(`Not a FILETIME: ${filetime}`);
  const delta = filetime - EPOCH_OFFSET;
  // BigInt division truncates towards zero; floor it, so instants before 1970 round to the past too.
  const ms = delta / PER_MS - (delta < 0n && delta % PER_MS !== 0n ? 1n : 0n);
  const d = new Date(Number(ms));
  // Years past 275760 are beyond Date; AD's own UI treats them as never as well.
  return Number.isNaN(d.getTime()) ? 'never' : d.toISOString();
}
