import { join } from 'node:path';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { pinnedNow } from '../../src/cli/fast-status.js';
import { clockFromEnv } from '../../src/time/clock.js';
import { isCalendarDate, localDate } from '../../src/time/days.js';
import { daysLeft } from '../../src/assignment/term.js';
import { status } from '../../src/lifecycle/status.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/manifest.js';
import { makeRecord } from '../helpers/pg.js';

const ZONES = [
  'America/New_York',
  'America/Los_Angeles',
  'Pacific/Honolulu',
  'Pacific/Auckland',
  'Pacific/Chatham', // +12:45 / +13:45
  'Asia/Kathmandu', // +05:45
  'Australia/Lord_Howe', // a 30-minute DST shift
  'Europe/London',
  'America/Sao_Paulo',
  'Asia/Tehran',
  'America/St_Johns', // -03:30
];

describe("today's date in a zone without luxon (days.ts)", () => {
  it('agrees with luxon every 211 minutes across 2024–2026, DST changes and leap day included, in zones far from UTC', () => {
    const from = Date.parse('2024-01-01T00:00:00Z');
    const to = Date.parse('2026-12-31T00:00:00Z');
    let checked = 0;
    for (const zone of ZONES) {
      for (let t = from; t < to; t += 211 * 60_000) {
        const now = new Date(t);
        const fast = localDate(now, zone);
        const luxon = DateTime.fromJSDate(now, { zone }).toISODate();
        if (fast !== luxon) expect(`${zone} ${now.toISOString()} ${fast}`).toBe(luxon);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(80_000);
  });

  it('is undefined for a zone ICU does not know and for odd TZ syntax, and right for zones at +00:00', () => {
    const now = new Date('2025-03-01T23:30:00Z');
    for (const zone of ['Mars/Olympus_Mons', ':America/New_York', 'EST5EDT,M3.2.0,M11.1.0', '../etc/passwd', '']) {
      expect(localDate(now, zone), zone).toBeUndefined();
    }
    for (const zone of ['UTC', 'Etc/UTC', 'Africa/Abidjan']) expect(localDate(now, zone), zone).toBe('2025-03-01');
    expect(localDate(now, 'Pacific/Kiritimati')).toBe('2025-03-02');
  });

  it('changes nothing global: TZ is never set, and local time is not disturbed', () => {
    const prev = process.env.TZ;
    const before = new Date(Date.UTC(2025, 0, 1)).getTimezoneOffset();
    localDate(new Date(), 'Pacific/Auckland');
    expect(process.env.TZ).toBe(prev);
    expect(new Date(Date.UTC(2025, 0, 1)).getTimezoneOffset()).toBe(before);
  });

  it('status counts days left as daysLeft does, taking the long way for UTC and for an end not written at midnight', async () => {
    const store = await SqliteStore.open(join(tempDir(), 'days.db'));
    const odd = makeRecord('odd-end', { start: '2025-02-10' });
    odd.term = { ...odd.term, endsAt: '2025-06-10T04:00:00Z' };
    const recs = [
      makeRecord('ny', { start: '2025-02-10' }),
      makeRecord('akl', { start: '2025-02-10', timezone: 'Pacific/Auckland' }),
      makeRecord('utc', { start: '2025-02-10', timezone: 'UTC' }),
      makeRecord('hnl', { start: '2025-02-10', timezone: 'Pacific/Honolulu' }),
      odd,
    ];
    await store.transaction(async (tx) => {
      for (const r of recs) await tx.insertAssignment(r);
    });
    for (const at of ['2025-03-01T04:59:00Z', '2025-03-01T05:00:00Z', '2025-03-09T07:30:00Z', '2025-06-09T11:00:00Z', '2025-06-10T03:59:59Z']) {
      const now = new Date(at);
      const rows = (await status(store, now)).assignments;
      for (const r of recs) expect(rows.find((x) => x.id === r.id)!.daysLeft, `${r.id} at ${at}`).toBe(daysLeft(r.term, now));
    }
    await store.close();
  });

  it('DETAILEE_NOW: the fast start reads the plain forms as clock.ts does and leaves the rest to it', () => {
    for (const raw of ['2025-06-06T00:00:00Z', '2025-06-06T00:00Z', '2025-06-06T09:30:15.25+05:30', '2025-12-31T23:59:59.999-10:00']) {
      expect(pinnedNow({ DETAILEE_NOW: raw })!.getTime(), raw).toBe(clockFromEnv({ DETAILEE_NOW: raw }).now().getTime());
    }
    for (const raw of ['2025-06-06', '2025-06-06T24:00:00Z', '2025-06-06T00:00:00', '2025-02-30T00:00:00Z', 'yesterday', '20250606T000000Z', '2025-06-06T00:00:00.1234Z']) {
      expect(pinnedNow({ DETAILEE_NOW: raw }), raw).toBeUndefined();
    }
    expect(Math.abs(pinnedNow({})!.getTime() - Date.now())).toBeLessThan(60_000);
  });
});

describe('calendar dates without luxon (days.ts isCalendarDate)', () => {
  it('decides every day of the leap-year edge cases exactly as luxon does', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    for (const year of [0, 1, 4, 100, 400, 1900, 1999, 2000, 2023, 2024, 2025, 2100, 2400, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
          expect(isCalendarDate(s), s).toBe(DateTime.fromISO(s, { zone: 'UTC' }).isValid);
        }
      }
    }
  });

  it('refuses what is not written YYYY-MM-DD', () => {
    for (const s of ['2025-6-05', '2025-06-5', '20250605', '2025-06-05T00:00', ' 2025-06-05', '2025-06-05\n', '२०२५-06-05', '']) expect(isCalendarDate(s), s).toBe(false);
  });
});
