import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DESTINATIONS, SANITIZATION_METHODS, type Destination, type SanitizationMethod } from '../../src/offboarding/answers.js';
import { looksLikeTaxpayerId } from '../../src/offboarding/fields.js';
import { MEDIA, type Media } from '../../src/offboarding/fti.js';
import { checkAnswers } from '../../src/offboarding/rules.js';
import { judgeTreatment, rulesTablePath, type Treatment } from '../../src/offboarding/sanitization.js';
import { ftiEntry, goodAnswers, TODAY } from '../helpers/offboarding-fixtures.js';

/**
 * Properties of the destruction rules over the whole input space, against an oracle read straight
 * from the YAML (not through the module under test): what the table does not list is never
 * accepted, a coarse size is refused whatever its unit or spelling, and no word outside the
 * vocabulary is ever accepted.
 */

interface RawRule {
  media: Media;
  technique: string;
  method: SanitizationMethod;
  attest?: string[];
  particleSize?: { max: string };
  screenSize?: { max: string };
}
const RAW = parse(readFileSync(rulesTablePath(), 'utf8')) as {
  rules: RawRule[];
  techniques: { id: string }[];
  legacy: { spelling: string; technique: string; particleSize?: string; screenSize?: string }[];
  methods: { id: SanitizationMethod; destinations: Destination[] }[];
};
const TERMS = RAW.techniques.map((t) => t.id);
const SPELLINGS = RAW.legacy.map((l) => l.spelling);
const KNOWN = new Set([...TERMS, ...SPELLINGS]);
const termOf = (written: string) => (TERMS.includes(written.trim()) ? written.trim() : RAW.legacy.find((l) => l.spelling === written.trim())?.technique);
const rowOf = (media: Media, term: string | undefined) => RAW.rules.find((r) => r.media === media && r.technique === term);

const RUNS = { numRuns: 500 };

const media = fc.constantFrom(...MEDIA);
const method = fc.constantFrom(...SANITIZATION_METHODS);
const destination = fc.constantFrom(...DESTINATIONS.filter((d) => d !== 'returned to source'));
/** Mostly the vocabulary and its spellings, sometimes anything at all. */
const technique = fc.oneof(fc.constantFrom(...TERMS), fc.constantFrom(...SPELLINGS), fc.string({ maxLength: 30 }));
const unit = fc.constantFrom('mm', 'cm', 'in');
const MM_PER: Record<string, number> = { mm: 1, cm: 10, in: 25.4 };

/** A positive figure as a decimal string or a fraction, with its value. */
const figure = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 9999 })).map(([i, f]) => ({ text: f === 0 ? String(i) : `${i}.${String(f).padStart(4, '0')}`, value: i + f / 10_000 })),
  fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 64 })).map(([n, d]) => ({ text: `${n}/${d}`, value: n / d })),
).filter((f) => f.value > 0);

/** The ways one particle size may be written. */
const spacing = fc.constantFrom('', ' ', '  ');
const times = fc.constantFrom('x', '×');
const particle = fc
  .tuple(figure, figure, unit, unit, fc.boolean(), spacing, spacing, times)
  .map(([a, b, ua, ub, bothUnits, s1, s2, x]) => ({
    text: bothUnits ? `${a.text}${s1}${ua}${s2}${x}${s2}${b.text}${s1}${ub}` : `${a.text}${s2}${x}${s2}${b.text}${s1}${ub}`,
    mm: [a.value * MM_PER[bothUnits ? ua : ub]!, b.value * MM_PER[ub]!] as const,
  }));

/** Clearly on one side of 1 mm x 5 mm, so float noise in the oracle cannot decide a case. */
const MARGIN = 1e-6;
const coarser = ([a, b]: readonly [number, number]) => Math.min(a, b) > 1 + MARGIN || Math.max(a, b) > 5 + MARGIN;
const finer = ([a, b]: readonly [number, number]) => Math.min(a, b) < 1 - MARGIN && Math.max(a, b) < 5 - MARGIN;

describe('properties of the destruction rules', () => {
  /** A listed row, filled in as it needs, then maybe one aspect changed: near the boundary, where bugs live. */
  const nearRow = fc
    .tuple(fc.constantFrom(...RAW.rules), fc.constantFrom('none', 'media', 'method', 'destination', 'size', 'attest', 'extra-size'), media, method, destination, fc.boolean())
    .map(([r, change, m, meth, dest, flag]): Treatment => {
      const t: Treatment = {
        media: r.media,
        method: r.method,
        technique: r.technique,
        destination: RAW.methods.find((x) => x.id === r.method)!.destinations[0]!,
        ...(r.particleSize ? { particleSize: r.particleSize.max } : {}),
        ...(r.screenSize ? { screenSize: r.screenSize.max } : {}),
        ...(r.attest ? { encryptedFromStart: true, keyCopiesDestroyed: true } : {}),
      };
      if (change === 'media') t.media = m;
      if (change === 'method') t.method = meth;
      if (change === 'destination') t.destination = dest;
      if (change === 'size') [t.particleSize, t.screenSize] = [undefined, undefined];
      if (change === 'attest') t[flag ? 'encryptedFromStart' : 'keyCopiesDestroyed'] = false;
      if (change === 'extra-size') t[flag ? 'particleSize' : 'screenSize'] = flag ? '1 mm x 5 mm' : '2 mm';
      return t;
    });
  const anyTreatment = fc
    .tuple(
      media,
      method,
      technique,
      fc.option(particle.map((p) => p.text), { nil: undefined }),
      fc.option(fc.tuple(figure, unit).map(([f, u]) => `${f.text} ${u}`), { nil: undefined }),
      fc.option(fc.boolean(), { nil: undefined }),
      fc.option(fc.boolean(), { nil: undefined }),
      destination,
    )
    .map(([m, meth, tech, particleSize, screenSize, encryptedFromStart, keyCopiesDestroyed, dest]): Treatment => ({
      media: m,
      method: meth,
      technique: tech,
      particleSize,
      screenSize,
      encryptedFromStart,
      keyCopiesDestroyed,
      destination: dest,
    }));

  it('never accepts a (media, technique, method) the table does not list, nor one without its size, attestation or destination', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(nearRow, anyTreatment), (t) => {
        const j = judgeTreatment(t);
        if (j.problems.length > 0) return;
        accepted++;
        const tech = t.technique;
        const row = rowOf(t.media, termOf(tech));
        expect(row, JSON.stringify(t)).toBeDefined();
        expect(row!.method).toBe(t.method);
        expect(RAW.methods.find((x) => x.id === t.method)!.destinations).toContain(t.destination);
        for (const a of row!.attest ?? []) expect(t[a as 'encryptedFromStart' | 'keyCopiesDestroyed']).toBe(true);
        const legacy = RAW.legacy.find((l) => l.spelling === tech.trim());
        if (row!.particleSize) expect(t.particleSize ?? legacy?.particleSize).toBeDefined();
        else expect(t.particleSize).toBeUndefined();
        if (row!.screenSize) expect(t.screenSize ?? legacy?.screenSize).toBeDefined();
        else expect(t.screenSize).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
    // Both sides of the boundary were visited.
    expect(accepted).toBeGreaterThan(50);
  });

  it('accepts every listed pair with its method, size, attestation and an open destination (the oracle is not vacuous)', () => {
    for (const r of RAW.rules) {
      const dest = RAW.methods.find((x) => x.id === r.method)!.destinations[0]!;
      const t: Treatment = {
        media: r.media,
        method: r.method,
        technique: r.technique,
        destination: dest,
        ...(r.particleSize ? { particleSize: r.particleSize.max } : {}),
        ...(r.screenSize ? { screenSize: r.screenSize.max } : {}),
        ...(r.attest ? { encryptedFromStart: true, keyCopiesDestroyed: true } : {}),
      };
      expect(judgeTreatment(t).problems, `${r.media}/${r.technique}`).toEqual([]);
    }
  });

  it('never accepts degaussing flash (ssd, usb, mobile), whatever the method or destination', () => {
    fc.assert(
      fc.property(fc.constantFrom<Media>('ssd', 'usb', 'mobile'), method, destination, fc.constantFrom('degauss', 'degaussing'), (m, meth, dest, tech) => {
        expect(judgeTreatment({ media: m, method: meth, technique: tech, destination: dest }).problems).not.toEqual([]);
      }),
      RUNS,
    );
  });

  it('refuses any cross-cut particle coarser than 1 mm x 5 mm, in any unit and spelling', () => {
    fc.assert(
      fc.property(
        particle.filter((p) => coarser(p.mm)),
        (p) => {
          const j = judgeTreatment({ media: 'paper', method: 'Destroy', technique: 'cross-cut-shred', particleSize: p.text, destination: 'recycling facility' });
          expect(j.problems, p.text).toEqual([expect.stringMatching(/coarser than the 1 mm x 5 mm/)]);
        },
      ),
      RUNS,
    );
  });

  it('accepts any cross-cut particle finer than 1 mm x 5 mm, in any unit and spelling', () => {
    fc.assert(
      fc.property(
        particle.filter((p) => finer(p.mm)),
        (p) => {
          expect(judgeTreatment({ media: 'paper', method: 'Destroy', technique: 'cross-cut-shred', particleSize: p.text, destination: 'recycling facility' }).problems, p.text).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it('refuses a disintegrator screen coarser than 2.4 mm in any unit', () => {
    fc.assert(
      fc.property(
        fc.tuple(figure, unit).filter(([f, u]) => f.value * MM_PER[u]! > 2.4 + MARGIN),
        fc.constantFrom('', ' '),
        ([f, u], s) => {
          const j = judgeTreatment({ media: 'paper', method: 'Destroy', technique: 'disintegrate', screenSize: `${f.text}${s}${u}`, destination: 'other' });
          expect(j.problems).toEqual([expect.stringMatching(/coarser than the 2.4 mm/)]);
        },
      ),
      RUNS,
    );
  });

  it('refuses a size without a unit, or in a unit outside the table', () => {
    fc.assert(
      fc.property(
        figure,
        figure,
        fc.constantFrom('', 'MM', 'mils', 'pt', 'millimetres', '"', 'in.', 'µm'),
        (a, b, u) => {
          const j = judgeTreatment({ media: 'paper', method: 'Destroy', technique: 'cross-cut-shred', particleSize: `${a.text} x ${b.text} ${u}`.trim(), destination: 'other' });
          expect(j.problems).toHaveLength(1);
          expect(j.problems[0]).not.toMatch(/coarser/);
        },
      ),
      RUNS,
    );
  });

  it('refuses every word outside the vocabulary and its exact spellings, for every media and method', () => {
    /** Near misses of known words: case, spacing, punctuation, additions; and arbitrary text. */
    const nearMiss = fc
      .tuple(fc.constantFrom(...KNOWN), fc.constantFrom('upper', 'space', 'hyphen', 'prefix', 'suffix', 'drop'), fc.string({ minLength: 1, maxLength: 5 }), fc.nat())
      .map(([w, how, extra, i]) => {
        const at = i % Math.max(1, w.length);
        switch (how) {
          case 'upper':
            return w.toUpperCase();
          case 'space':
            return `${w.slice(0, at)} ${w.slice(at)}`;
          case 'hyphen':
            return w.replace(/[- ]/g, (c) => (c === '-' ? ' ' : '-'));
          case 'prefix':
            return `${extra}${w}`;
          case 'suffix':
            return `${w}${extra}`;
          default:
            return w.slice(0, at) + w.slice(at + 1);
        }
      });
    fc.assert(
      fc.property(
        fc.oneof(nearMiss, fc.string({ maxLength: 40 }), fc.constantFrom('de-gauss', 'burn bag', 'strip-cut shred, then burn', 'shredded then pulped', 'cross-cut shred 1x5 cm')),
        media,
        method,
        destination,
        (word, m, meth, dest) => {
          fc.pre(!KNOWN.has(word.trim()));
          const j = judgeTreatment({ media: m, method: meth, technique: word, destination: dest, particleSize: '1 mm x 5 mm', screenSize: '2 mm', encryptedFromStart: true, keyCopiesDestroyed: true });
          expect(j.problems).toHaveLength(1);
          expect(j.problems[0]).toMatch(/is not a term of the vocabulary; accepted for \w+: .*\(see `detailee rules`\)$/);
        },
      ),
      RUNS,
    );
  });

  it('never lets free text (details, tool, receipt) change whether a disposition is accepted', () => {
    const entries = [ftiEntry(1, { media: 'paper' })];
    const base = { entry: 'F-0001', action: 'destroyed' as const, method: 'Destroy' as const, tool: { name: 'Intimus 007 S' }, date: '2025-06-05', verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' }, destination: 'recycling facility' as const };
    const accepted = { ...base, technique: 'cross-cut-shred', particleSize: '1 mm x 5 mm' };
    const refused = { ...base, technique: 'cross-cut-shred', particleSize: '1 mm x 6 mm' };
    const outcome = (d: object) => {
      try {
        checkAnswers({ ...goodAnswers(), dispositions: [d] }, entries, TODAY);
        return 'accepted';
      } catch {
        return 'refused';
      }
    };
    const text = fc.string({ minLength: 1, maxLength: 80 }).filter((s) => s.trim() !== '' && !looksLikeTaxpayerId(s));
    fc.assert(
      fc.property(text, text, (details, tool) => {
        expect(outcome({ ...accepted, details, tool: { name: tool } })).toBe('accepted');
        expect(outcome({ ...refused, details, tool: { name: tool } })).toBe('refused');
      }),
      { numRuns: 200 },
    );
  });
});
