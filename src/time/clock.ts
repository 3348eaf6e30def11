import { DateTime } from 'luxon';
import { InputError } from '../errors.js';

/** The one source of "now". Everything that depends on time takes a Clock, so tests never sleep. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date | string): Clock {
  const d = typeof at === 'string' ? new Date(at) : at;
  return { now: () => new Date(d.getTime()) };
}

/**
 * The CLI's clock. `DETAILEE_NOW` (an ISO-8601 instant) pins it, for end-to-end tests and for
 * rehearsals; every audit event records that the clock was pinned, so it cannot pass unnoticed.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock & { pinned: boolean } {
  const raw = env.DETAILEE_NOW;
  if (raw === undefined || raw === '') return { ...systemClock, pinned: false };
  const dt = DateTime.fromISO(raw, { setZone: true });
  if (!dt.isValid || !/[zZ]|[+-]\d\d:?\d\d$/.test(raw)) {
    throw new InputError(`DETAILEE_NOW is not an ISO-8601 instant with an offset: ${JSON.stringify(raw)}`, {
      code: 'clock.invalid',
      actions: ['Set DETAILEE_NOW like 2025-06-06T00:00:00Z, or unset it to use the system clock.'],
    });
  }
  return { ...fixedClock(dt.toJSDate()), pinned: true };
}
