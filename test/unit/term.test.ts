import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { computeTerm, daysLeft, isDue, renewTerm } from '../../src/assignment/term.js';
import { InputError } from '../../src/errors.js';

describe('term arithmetic', () => {
  it('computes the README example: 120 days from 2025-02-06 in New York', () => {
    const t = computeTerm('2025-02-06', 120, 'America/New_York');
    expect(t.lastDay).toBe('2025-06-05');
    expect(t.endsAt).toBe('2025-06-06T00:00:00-04:00');
    expect(t.startsAt).toBe('2025-02-06T00:00:00-05:00');
  });

  it('spans the spring-forward change: the end is still local midnight, not start + 120×24 h', () => {
    const t = computeTerm('2025-03-01', 10, 'America/New_York'); // DST begins 2025-03-09
    expect(t.lastDay).toBe('2025-03-10');
    expect(t.endsAt).toBe('2025-03-11T00:00:00-04:00');
    expect(Date.parse(t.endsAt) - Date.parse(t.startsAt)).toBe((10 * 24 - 1) * 3600_000);
  });

  it('spans the fall-back change', () => {
    const t = computeTerm('2025-10-30', 5, 'America/New_York'); // DST ends 2025-11-02
    expect(t.lastDay).toBe('2025-11-03');
    expect(t.endsAt).toBe('2025-11-04T00:00:00-05:00');
    expect(Date.parse(t.endsAt) - Date.parse(t.startsAt)).toBe((5 * 24 + 1) * 3600_000);
  });

  it('counts a leap day', () => {
    expect(computeTerm('2024-02-28', 2, 'UTC').lastDay).toBe('2024-02-29');
    expect(computeTerm('2024-02-28', 3, 'UTC').endsAt).toBe('2024-03-02T00:00:00Z');
    expect(computeTerm('2025-02-28', 2, 'UTC').lastDay).toBe('2025-03-01');
  });

  it('handles zones far from UTC', () => {
    const nz = computeTerm('2025-04-01', 10, 'Pacific/Auckland'); // NZDT ends 2025-04-06
    expect(nz.startsAt).toBe('2025-04-01T00:00:00+13:00');
    expect(nz.endsAt).toBe('2025-04-11T00:00:00+12:00');
    const hi = computeTerm('2025-06-01', 1, 'Pacific/Honolulu');
    expect(hi.lastDay).toBe('2025-06-01');
    expect(hi.endsAt).toBe('2025-06-02T00:00:00-10:00');
    expect(new Date(hi.endsAt).toISOString()).toBe('2025-06-02T10:00:00.000Z');
  });

  it('rejects 0 and 121 days', () => {
    expect(() => computeTerm('2025-02-06', 0, 'UTC')).toThrow(InputError);
    expect(() => computeTerm('2025-02-06', 121, 'UTC')).toThrow(/at most 120|1 to 120/);
    expect(() => computeTerm('2025-02-06', 1.5, 'UTC')).toThrow(InputError);
  });

  it('renews by adding whole periods to the current end, never restarting the clock', () => {
    const t = computeTerm('2025-02-06', 120, 'America/New_York');
    const r = renewTerm(t, 120);
    expect(r.start).toBe('2025-02-06');
    expect(r.days).toBe(240);
    expect(r.lastDay).toBe('2025-10-03');
    expect(r.endsAt).toBe('2025-10-04T00:00:00-04:00');
    expect(() => renewTerm(t, 121)).toThrow(InputError);
    expect(() => renewTerm(t, 0)).toThrow(InputError);
  });

  it('is due exactly at endsAt and after, never before', () => {
    const t = computeTerm('2025-02-06', 120, 'America/New_York');
    expect(isDue(t, new Date('2025-06-06T03:59:59.999Z'))).toBe(false);
    expect(isDue(t, new Date('2025-06-06T04:00:00Z'))).toBe(true);
    expect(isDue(t, new Date('2025-07-01T00:00:00Z'))).toBe(true);
  });

  it('counts days left in the host zone', () => {
    const t = computeTerm('2025-02-06', 120, 'America/New_York');
    expect(daysLeft(t, new Date('2025-06-05T12:00:00-04:00'))).toBe(1);
    expect(daysLeft(t, new Date('2025-06-04T23:30:00-04:00'))).toBe(2);
    expect(daysLeft(t, new Date('2025-06-06T00:00:00-04:00'))).toBe(0);
  });

  it('daysLeft agrees with the calendar-day difference in the zone, across DST and far zones, every 7 hours of a term', () => {
    const reference = (endsAt: string, zone: string, now: Date) => {
      const end = DateTime.fromISO(endsAt, { zone }).startOf('day');
      const today = DateTime.fromJSDate(now, { zone }).startOf('day');
      return Date.parse(endsAt) <= now.getTime() ? 0 : Math.max(0, Math.round(end.diff(today, 'days').days));
    };
    for (const zone of ['America/New_York', 'Pacific/Auckland', 'Pacific/Honolulu', 'Europe/London', 'Asia/Kolkata']) {
      for (const [start, days] of [['2025-02-06', 120], ['2025-10-20', 30], ['2024-02-27', 5]] as const) {
        const t = computeTerm(start, days, zone);
        const renewed = renewTerm(t, 45);
        for (const term of [t, renewed]) {
          const from = Date.parse(term.startsAt) - 3 * 86_400_000;
          for (let ms = from; ms <= Date.parse(term.endsAt) + 86_400_000; ms += 7 * 3_600_000) {
            const now = new Date(ms);
            expect(daysLeft(term, now), `${zone} ${term.endsAt} at ${now.toISOString()}`).toBe(reference(term.endsAt, zone, now));
          }
        }
      }
    }
  });
});

