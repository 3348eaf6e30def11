import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAssignment } from '../../src/assignment/load.js';
import { localDate } from '../../src/time/days.js';
import { computeTerm, dateIn, daysLeft, isDue, renewTerm } from '../../src/assignment/term.js';
import { InputError } from '../../src/errors.js';
import { manifest, tempDir } from '../helpers/manifest.js';

/**
 * Property suites over the two places where arithmetic or parsing could be bent by an input no one
 * thought of: term computation (every zone with odd rules, every date) and manifest parsing
 * (arbitrary text in every field, YAML that looks like something else).
 */

/** Zones whose rules have broken date code: negative DST (Dublin; Casablanca's Ramadan hour), half-hour DST (Lord Howe), +2 DST (Troll), a skipped day (Apia 2011), no DST, and UTC. */
const ZONES = [
  'Europe/Dublin',
  'Africa/Casablanca',
  'Australia/Lord_Howe',
  'Antarctica/Troll',
  'Pacific/Apia',
  'America/St_Johns',
  'America/New_York',
  'Asia/Kolkata',
  'Pacific/Chatham',
  'UTC',
];

const isoDate = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const plusDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const localDay = (instant: string | number, zone: string) => DateTime.fromMillis(typeof instant === 'number' ? instant : Date.parse(instant), { zone }).toISODate()!;

describe('term arithmetic (property)', () => {
  it('covers exactly `days` calendar days in the zone: starts at the first instant of start, ends at the first instant after lastDay', () => {
    fc.assert(
      fc.property(isoDate, fc.integer({ min: 1, max: 120 }), fc.constantFrom(...ZONES), (start, days, zone) => {
        const t = computeTerm(start, days, zone);
        expect(t.lastDay).toBe(plusDays(start, days - 1));
        const s = Date.parse(t.startsAt);
        const e = Date.parse(t.endsAt);
        expect(e).toBeGreaterThan(s);
        // Pacific/Apia skipped 2011-12-30 entirely: a day the zone never had starts where the next one does.
        expect([start, plusDays(start, 1)]).toContain(localDay(s, zone));
        expect(localDay(s - 1, zone) < start).toBe(true);
        expect(localDay(e - 1, zone) <= t.lastDay).toBe(true);
        expect(localDay(e, zone) > t.lastDay).toBe(true);
        expect(isDue(t, new Date(e - 1))).toBe(false);
        expect(isDue(t, new Date(e))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('counts days left as calendar days in the zone, never increasing, 0 exactly from the end', () => {
    fc.assert(
      fc.property(isoDate, fc.integer({ min: 1, max: 120 }), fc.constantFrom(...ZONES), fc.array(fc.integer({ min: -2 * 86_400_000, max: 125 * 86_400_000 }), { minLength: 2, maxLength: 8 }), (start, days, zone, offsets) => {
        const t = computeTerm(start, days, zone);
        const s = Date.parse(t.startsAt);
        const e = Date.parse(t.endsAt);
        const instants = offsets.map((o) => s + o).sort((a, b) => a - b);
        let previous = Infinity;
        for (const at of instants) {
          const left = daysLeft(t, new Date(at));
          expect(left).toBeLessThanOrEqual(previous);
          previous = left;
          if (at >= e) expect(left).toBe(0);
          else expect(left).toBe(Math.round((Date.parse(`${t.lastDay}T00:00:00Z`) - Date.parse(`${localDay(at, zone)}T00:00:00Z`)) / 86_400_000) + 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("the fast local date (TZ-based) agrees with luxon's whenever it answers", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }), fc.constantFrom(...ZONES), (now, zone) => {
        const fast = localDate(now, zone);
        const slow = DateTime.fromJSDate(now, { zone }).toISODate();
        if (fast !== undefined) expect(fast).toBe(slow);
        expect(dateIn(now, zone)).toBe(slow);
      }),
      { numRuns: 500 },
    );
  });

  it('renewal adds whole periods to the end and never moves the start', () => {
    fc.assert(
      fc.property(isoDate, fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 120 }), fc.constantFrom(...ZONES), (start, days, renewal, zone) => {
        const t = computeTerm(start, days, zone);
        const r = renewTerm(t, renewal);
        expect(r.start).toBe(t.start);
        expect(r.startsAt).toBe(t.startsAt);
        expect(r.days).toBe(days + renewal);
        expect(r.lastDay).toBe(plusDays(t.lastDay, renewal));
        expect(Date.parse(r.endsAt)).toBeGreaterThan(Date.parse(t.endsAt));
      }),
      { numRuns: 300 },
    );
  });
});

describe('terms in Europe/Dublin (negative DST: GMT is the "winter" offset, IST the standard)', () => {
  it('a term across the spring change ends at local midnight, IST', () => {
    const t = computeTerm('2025-03-01', 30, 'Europe/Dublin');
    expect(t).toMatchObject({ lastDay: '2025-03-30', startsAt: '2025-03-01T00:00:00+00:00', endsAt: '2025-03-31T00:00:00+01:00' });
    // 23:30 UTC on 30 March is already 31 March in Dublin: access has ended.
    expect(isDue(t, new Date('2025-03-30T23:00:00Z'))).toBe(true);
    expect(isDue(t, new Date('2025-03-30T22:59:59Z'))).toBe(false);
    expect(daysLeft(t, new Date('2025-03-30T01:30:00Z'))).toBe(1);
  });

  it('a term across the autumn change ends at local midnight, GMT', () => {
    const t = computeTerm('2025-10-01', 30, 'Europe/Dublin');
    expect(t).toMatchObject({ startsAt: '2025-10-01T00:00:00+01:00', lastDay: '2025-10-30', endsAt: '2025-10-31T00:00:00+00:00' });
    expect(isDue(t, new Date('2025-10-30T23:59:59Z'))).toBe(false);
    expect(isDue(t, new Date('2025-10-31T00:00:00Z'))).toBe(true);
    // 23:30 UTC on 25 October is 00:30 IST on the 26th, the day the clocks go back.
    expect(dateIn(new Date('2025-10-25T23:30:00Z'), 'Europe/Dublin')).toBe('2025-10-26');
    expect(daysLeft(t, new Date('2025-10-25T23:30:00Z'))).toBe(5);
  });

  it('a summer day is counted in IST (UTC+1): 23:30 UTC is already tomorrow', () => {
    const t = computeTerm('2025-06-01', 16, 'Europe/Dublin');
    expect(t.endsAt).toBe('2025-06-17T00:00:00+01:00');
    expect(dateIn(new Date('2025-06-15T23:30:00Z'), 'Europe/Dublin')).toBe('2025-06-16');
    expect(daysLeft(t, new Date('2025-06-15T23:30:00Z'))).toBe(1);
    expect(isDue(t, new Date('2025-06-16T23:00:00Z'))).toBe(true);
  });
});

// ── Manifest parsing ────────────────────────────────────────────────────────────────────────────

const dir = tempDir('detailee-prop-');
let n = 0;

/** Load `text` as a manifest file: the document, or the InputError; anything else is a bug. */
function load(text: string): { doc?: ReturnType<typeof loadAssignment>['doc']; error?: InputError } {
  const p = join(dir, `m${n++ % 8}.yaml`);
  writeFileSync(p, text);
  try {
    return { doc: loadAssignment(p).doc };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    expect(e.exit).toBe(2);
    return { error: e };
  }
}

const issuesOf = (e: InputError) => ((e.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? []);
// eslint-disable-next-line no-control-regex -- the characters the guard refuses
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

const TEXT_FIELDS = [
  ['detailee', 'givenName'],
  ['detailee', 'familyName'],
  ['host', 'office'],
  ['agreement', 'reference'],
  ['purpose'],
  ['fti', 'scope'],
] as const;

function set(doc: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(doc);
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

/** Any text, weighted towards the characters that matter: controls, bidi, quotes, YAML indicators. */
const hostileText = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('a', 'Z', ' ', '1', ':', '-', '#', '&', '*', '!', '|', '>', "'", '"', '%', '@', '`', '{', '}', '[', ']', ',', '?', '<', '\\', 'é', '李', 'ע') },
    { weight: 2, arbitrary: fc.constantFrom('\u0000', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b', '\u202e', '\u2066', '\u200f', '\u2028', '\ufeff') },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 1 }) },
  ),
  minLength: 1,
  maxLength: 40,
});

describe('manifest parsing (property)', () => {
  it('any text in a text field, written by a YAML or JSON serialiser, comes back unchanged or is refused naming that field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TEXT_FIELDS), hostileText, fc.boolean(), (path, value, json) => {
        const doc = set(manifest(), path, value);
        const r = load(json ? JSON.stringify(doc) : stringify(doc));
        const field = path.join('.');
        if (r.doc) {
          let got: unknown = r.doc;
          for (const k of path) got = (got as Record<string, unknown>)[k];
          expect(got).toBe(value);
          expect(FORBIDDEN.test(value)).toBe(false);
        } else {
          const issues = issuesOf(r.error!);
          expect(issues.length, r.error!.message).toBeGreaterThan(0);
          expect(issues.every((i) => i.path === field), r.error!.message).toBe(true);
          // Refused for a reason that holds: a forbidden character, or the field's own limits.
          expect(FORBIDDEN.test(value) || value.trim() === '' || value.length > 200 || /must not be empty/.test(r.error!.message), r.error!.message).toBe(true);
        }
      }),
      { numRuns: 250 },
    );
  });

  it('a plain (unquoted) YAML scalar that YAML 1.1 would read as a number, time, date or boolean is text, or refused as not text', () => {
    const magic = fc.oneof(
      fc.constantFrom('yes', 'no', 'on', 'off', 'y', 'n', 'Yes', 'NO', '~', 'null', 'Null', 'true', 'False', '.inf', '-.Inf', '.nan', '0o17', '0x1F', '017', '0b101', '1_000', '+12', '1e3'),
      fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 59 })).map(([a, b]) => `${a}:${String(b).padStart(2, '0')}`),
      fc.tuple(isoDate, fc.integer({ min: 0, max: 23 })).map(([d, h]) => `${d} ${String(h).padStart(2, '0')}:00:00`),
      isoDate.map((d) => `${d}t12:00:00Z`),
    );
    fc.assert(
      fc.property(magic, (value) => {
        const text = stringify(manifest()).replace(/^ {2}givenName: .*$/m, `  givenName: ${value}`);
        const r = load(text);
        if (r.doc) {
          expect(r.doc.detailee.givenName).toBe(value);
        } else {
          expect(issuesOf(r.error!), r.error!.message).toEqual([{ path: 'detailee.givenName', message: expect.stringMatching(/^(must be text|is required)/) }]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('arbitrary bytes of text never crash the loader: a manifest or an exit-2 refusal', () => {
    const yamlish = fc.string({
      unit: fc.oneof(fc.constantFrom('\n', ' ', ':', '-', '{', '}', '[', ']', '&a', '*a', '<<', '!!', '%YAML 1.1\n', '---\n', '? ', '"', "'", '|', '>', '#', 'id', 'a', '1'), fc.string({ unit: 'grapheme', maxLength: 1 })),
      maxLength: 200,
    });
    fc.assert(
      fc.property(yamlish, (text) => {
        load(text);
      }),
      { numRuns: 250 },
    );
  });

  it('any manifest with a key repeated is refused, in YAML and in JSON', () => {
    fc.assert(
      fc.property(fc.constantFrom('id', 'purpose', 'kind', 'apiVersion'), fc.boolean(), (key, json) => {
        const base = json ? JSON.stringify(manifest(), null, 1) : stringify(manifest());
        const dup = json ? base.replace(/^\{/, `{\n "${key}": "x",`) : `${key}: x\n${base}`;
        const r = load(dup);
        expect(r.error?.message).toMatch(/Map keys must be unique/);
      }),
      { numRuns: 50 },
    );
  });

  it('valid manifests round-trip: what YAML and JSON serialisers write, both load to the same document', () => {
    const name = fc.stringMatching(/^[A-Z][a-z]{0,15}( [A-Z][a-z]{0,15})?$/);
    fc.assert(
      fc.property(name, name, isoDate, fc.integer({ min: 1, max: 120 }), fc.constantFrom(...ZONES), (given, family, start, days, zone) => {
        const doc = set(set(set(manifest(), ['detailee', 'givenName'], given), ['detailee', 'familyName'], family), ['term'], { start, days, timezone: zone, renewals: { max: 1, days: 120 } });
        const a = load(stringify(doc));
        const b = load(JSON.stringify(doc));
        expect(a.error?.message).toBeUndefined();
        expect(a.doc).toEqual(b.doc);
        expect(a.doc!.term).toEqual({ start, days, timezone: zone, renewals: { max: 1, days: 120 } });
      }),
      { numRuns: 100 },
    );
  });
});
