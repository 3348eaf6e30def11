import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DetaileeError } from '../../src/errors.js';
import { DESTINATIONS, SANITIZATION_METHODS } from '../../src/offboarding/answers.js';
import { MEDIA } from '../../src/offboarding/fti.js';
import {
  buildRulesTable,
  findRule,
  judgeTreatment,
  methodsForMedia,
  resolveTechnique,
  rulesTable,
  rulesTablePath,
  techniquesFor,
  type Rule,
} from '../../src/offboarding/sanitization.js';
import { notLonger, parseParticleSize, parseScreenSize, particleWithin } from '../../src/offboarding/measure.js';
import { rulesReport } from '../../src/offboarding/rules-report.js';

const UNITS = { mm: 1, cm: 10, in: 25.4 };
const raw = () => parse(readFileSync(rulesTablePath(), 'utf8')) as Record<string, unknown> & { rules: Record<string, unknown>[]; never: Record<string, unknown>[]; legacy: Record<string, unknown>[] };

function brokenBy(edit: (t: ReturnType<typeof raw>) => void): string {
  const t = raw();
  edit(t);
  try {
    buildRulesTable(t, 'edited.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(DetaileeError);
    expect((e as DetaileeError).code).toBe('rules.table');
    expect((e as DetaileeError).exit).toBe(1);
    return (e as Error).message;
  }
  throw new Error('expected the edited table to be refused');
}

describe('the packaged rules table', () => {
  it('names exactly the media and methods the code is typed by, and cites every row', () => {
    const t = rulesTable();
    expect(t.media.map((m) => m.id).sort()).toEqual([...MEDIA].sort());
    expect(t.methods.map((m) => m.id)).toEqual([...SANITIZATION_METHODS]);
    for (const r of t.rules) expect(r.source, `${r.media}/${r.technique}`).toMatch(/SP 800-88|Pub 1075/);
    for (const m of t.media) expect(m.source).toMatch(/SP 800-88|Pub 1075/);
  });

  it('holds the rules of the issue: no degauss of flash, paper only destroyed, 1 mm x 5 mm, 3/32 in', () => {
    for (const m of ['ssd', 'usb', 'mobile'] as const) expect(findRule(m, 'degauss')).toBeUndefined();
    expect(findRule('hdd', 'degauss')?.method).toBe('Purge');
    expect(methodsForMedia('paper')).toEqual(['Destroy']);
    expect(findRule('paper', 'cross-cut-shred')?.particleMax?.map((l) => l.mm)).toEqual([1, 5]);
    expect(findRule('paper', 'disintegrate')?.screenMax?.mm).toBe(2.4);
    expect(findRule('paper', 'shred')).toBeUndefined();
    expect(findRule('ssd', 'ata-secure-erase')?.method).toBe('Clear');
    expect(findRule('cloud', 'crypto-erase')?.attest).toEqual(['encryptedFromStart', 'keyCopiesDestroyed']);
    expect(methodsForMedia('usb')).toEqual(['Destroy']);
  });

  it('offers in the checklist only what the rules then accept', () => {
    for (const media of MEDIA) {
      for (const method of methodsForMedia(media)) {
        for (const r of techniquesFor(media, method)) {
          const destination = rulesTable().methods.find((m) => m.id === method)!.destinations[0]!;
          const j = judgeTreatment({ ...satisfied(r), media, method, technique: r.technique, destination });
          expect(j.problems, `${media}/${method}/${r.technique}`).toEqual([]);
        }
      }
    }
  });

  it('refuses each row without each of its sizes and attestations', () => {
    for (const r of rulesTable().rules) {
      const destination = rulesTable().methods.find((m) => m.id === r.method)!.destinations[0]!;
      const full = { ...satisfied(r), media: r.media, method: r.method, technique: r.technique, destination };
      for (const key of ['particleSize', 'screenSize', 'encryptedFromStart', 'keyCopiesDestroyed'] as const) {
        if (!(key in full)) continue;
        const without = { ...full, [key]: undefined };
        expect(judgeTreatment(without).problems, `${r.media}/${r.technique} without ${key}`).toEqual([expect.stringContaining(key)]);
        if (typeof full[key] === 'boolean') expect(judgeTreatment({ ...full, [key]: false }).problems).toHaveLength(1);
      }
    }
  });

  it('gives every method only destinations the certificate knows', () => {
    for (const m of rulesTable().methods) for (const d of m.destinations) expect(DESTINATIONS).toContain(d);
  });

  it('reports the whole vocabulary also when one media is shown', () => {
    const r = rulesReport(undefined, 'ssd');
    expect(r.media.map((m) => m.id)).toEqual(['ssd']);
    expect(r.vocabulary.media).toEqual([...MEDIA]);
    expect(r.vocabulary.methods).toEqual(['Clear', 'Purge', 'Destroy']);
    expect(r.media[0]!.never).toEqual([expect.objectContaining({ technique: 'degauss', why: expect.stringMatching(/not magnetic/) })]);
  });
});

/** The sizes and attestations a row needs, at their bound. */
function satisfied(r: Rule) {
  return {
    ...(r.particleMaxText === undefined ? {} : { particleSize: r.particleMaxText }),
    ...(r.screenMaxText === undefined ? {} : { screenSize: r.screenMaxText }),
    ...(r.attest.length === 0 ? {} : { encryptedFromStart: true, keyCopiesDestroyed: true }),
  };
}

describe('a broken table stops every judgement (exit 1, the tool is at fault)', () => {
  it.each([
    ['a rule for a technique not in the vocabulary', (t: ReturnType<typeof raw>) => t.rules.push({ media: 'ssd', technique: 'magic', method: 'Purge', source: 'x' }), /technique magic is not in techniques/],
    ['a pair listed twice', (t: ReturnType<typeof raw>) => t.rules.push({ ...t.rules[0]! }), /the pair is listed twice/],
    ['a pair both valid and never valid', (t: ReturnType<typeof raw>) => t.rules.push({ media: 'ssd', technique: 'degauss', method: 'Purge', source: 'x' }), /\(ssd, degauss\) is also listed as valid/],
    ['a media with no rule', (t: ReturnType<typeof raw>) => (t.rules = t.rules.filter((r) => r.media !== 'optical')), /media optical has no rule/],
    ['a media the code does not know', (t: ReturnType<typeof raw>) => (t.media as unknown[]).push({ id: 'floppy', label: 'floppy', source: 'x' }), /media/],
    ['a size bound without a unit', (t: ReturnType<typeof raw>) => (t.rules[0]!.particleSize = { max: '1 x 5' }), /particleSize\.max has no unit/],
    ['a legacy spelling of an unknown term', (t: ReturnType<typeof raw>) => t.legacy.push({ spelling: 'zap', technique: 'zap' }), /technique zap is not in techniques/],
    ['a legacy spelling that is already a term', (t: ReturnType<typeof raw>) => t.legacy.push({ spelling: 'pulp', technique: 'pulp' }), /"pulp" is already a term/],
  ])('refuses %s', (_, edit, why) => expect(brokenBy(edit)).toMatch(why));
});

describe('sizes are parsed whole, with their units', () => {
  it.each([
    ['1 mm x 5 mm', [1, 5]],
    ['1x5 mm', [1, 5]],
    ['1x5mm', [1, 5]],
    ['0.8 mm × 4 mm', [0.8, 4]],
    ['1x5 cm', [10, 50]],
    ['1 mm x 0.5 cm', [1, 5]],
    ['1/32 in x 3/16 in', [0.79375, 4.7625]],
  ])('reads %j as %j mm', (text, mm) => {
    const p = parseParticleSize(text, UNITS);
    expect(p.ok).toBe(true);
    if (p.ok) mm.forEach((v, i) => expect(p.value[i]!.mm).toBeCloseTo(v, 9));
  });

  it.each([
    ['1x5', /has no unit after its last figure/],
    ['1 mm x 5', /has no unit after its last figure/],
    ['1x5 mils', /has the unit "mils"/],
    ['1x5 MM', /has the unit "MM"/],
    ['1,0 x 5 mm', /is not a particle size/],
    ['1 by 5 mm', /is not a particle size/],
    ['-1 x 5 mm', /is not a particle size/],
    ['0 x 5 mm', /has 0, which is not a size greater than 0/],
    ['1/0 x 5 mm', /not a size greater than 0/],
    ['cross-cut 1x5 mm', /is not a particle size/],
    ['1x5 mm particles', /has the unit "mm particles"|is not a particle size/],
  ])('refuses the particle size %j', (text, why) => {
    const p = parseParticleSize(text, UNITS);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.problem).toMatch(why);
  });

  it('compares exactly: a size at the bound passes in any unit, one a hair over does not', () => {
    const max = findRule('paper', 'disintegrate')!.screenMax!;
    const at = parseScreenSize('0.24 cm', UNITS);
    expect(at.ok && notLonger(at.value, max)).toBe(true);
    const over = parseScreenSize('0.2400001 cm', UNITS);
    expect(over.ok && notLonger(over.value, max)).toBe(false);
    const particle = findRule('paper', 'cross-cut-shred')!.particleMax!;
    const p = parseParticleSize('0.1 cm x 0.5 cm', UNITS);
    expect(p.ok && particleWithin(p.value, particle)).toBe(true);
    const q = parseParticleSize('1.0000000000000000001 mm x 5 mm', UNITS);
    expect(q.ok && particleWithin(q.value, particle)).toBe(false);
    expect(Number('1.0000000000000000001')).toBe(1); // what a float comparison would have seen
  });

  it('reads screen sizes and refuses a bare figure or an unknown unit', () => {
    expect(parseScreenSize('3/32 in', UNITS)).toMatchObject({ ok: true, value: { num: 762n, den: 320n } });
    expect(parseScreenSize('2.4 mm', UNITS)).toMatchObject({ ok: true, value: { mm: 2.4 } });
    expect(parseScreenSize('2.4', UNITS)).toEqual({ ok: false, problem: 'has no unit: write it like "2.4 mm"' });
    expect(parseScreenSize('3/32 in.', UNITS).ok).toBe(false);
    expect(parseScreenSize('2.4 mm screen', UNITS).ok).toBe(false);
  });
});

describe('techniques are terms, or exactly a known spelling', () => {
  it('reads the terms and the exact legacy spellings only', () => {
    expect(resolveTechnique('crypto-erase')).toEqual({ technique: 'crypto-erase' });
    expect(resolveTechnique('  cryptographic erase ')).toMatchObject({ technique: 'crypto-erase' });
    expect(resolveTechnique('cross-cut shred 1x5 mm')).toMatchObject({ technique: 'cross-cut-shred', legacy: { particleSize: '1 mm x 5 mm' } });
    for (const near of ['Crypto-erase', 'cryptographic  erase', 'cryptographic erase (KMS)', 'de-gauss', 'degauss!', 'burn bag', 'strip-cut shred, burn']) {
      expect(resolveTechnique(near), near).toBeUndefined();
    }
  });
});
