import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { missingItems, type DispositionInput } from '../../src/offboarding/answers.js';
import type { Media } from '../../src/offboarding/fti.js';
import { checkAnswers } from '../../src/offboarding/rules.js';
import { entries, ftiEntry, goodAnswers, TODAY } from '../helpers/offboarding-fixtures.js';

function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exit).toBe(2);
    return e as InputError;
  }
  throw new Error('expected the answers to be refused');
}

const destroyedBase = {
  entry: 'F-0001',
  action: 'destroyed' as const,
  tool: { name: 'tool', version: '1' },
  date: '2025-06-05',
  verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' },
  destination: 'recycling facility' as const,
};

/** One FTI log entry on `media` and one disposition of it. */
function single(media: Media, d: Partial<DispositionInput>) {
  const e = [ftiEntry(1, { media })];
  const a = { ...goodAnswers(), dispositions: [{ ...destroyedBase, ...d } as DispositionInput] };
  return { run: () => checkAnswers(a, e, TODAY), label: `dispositions[0] (entry F-0001, ${media})` };
}

function accepts(media: Media, d: Partial<DispositionInput>): void {
  expect(() => single(media, d).run()).not.toThrow();
}

function refuses(media: Media, d: Partial<DispositionInput>, why: RegExp): void {
  const s = single(media, d);
  const err = refusal(s.run);
  expect(err.code).toBe('answers.rule');
  expect(err.message).toContain(s.label);
  expect(err.message).toMatch(why);
}

describe('checkAnswers', () => {
  it('accepts a complete, lawful set and fills defaults', () => {
    const a = checkAnswers(goodAnswers(), entries(), TODAY);
    expect(a.dispositions[0]!.verification).toBe('full');
    expect(a.dispositions[0]!.backedUp).toBe('unknown');
    expect(a.dispositions[1]!.destination).toBe('returned to source');
  });

  describe('paper (Pub 1075)', () => {
    it.each([
      { technique: 'cross-cut-shred', particleSize: '1 mm x 5 mm' },
      { technique: 'cross-cut-shred', particleSize: '0.8 mm × 4 mm' },
      { technique: 'cross-cut-shred', particleSize: '5x1 mm' },
      { technique: 'incinerate' },
      { technique: 'mulch' },
      { technique: 'pulp' },
      { technique: 'disintegrate', screenSize: '3/32 in' },
      { technique: 'disintegrate', screenSize: '2.4 mm' },
    ])('accepts Destroy by %j', (d) => accepts('paper', { method: 'Destroy', ...d }));

    it.each([
      ['a shred without particle size', { technique: 'cross-cut-shred' }, /needs particleSize \(1 mm x 5 mm or finer/],
      ['a strip-cut shred', { technique: 'strip-cut shred 6 mm' }, /not a term of the vocabulary; accepted for paper: cross-cut-shred \(Destroy\)/],
      ['a plain shred', { technique: 'shred' }, /shred is never valid for paper: .*strip-cut does not qualify/],
      ['particles too large', { technique: 'cross-cut-shred', particleSize: '2x15 mm' }, /is 2 mm x 15 mm, coarser than the 1 mm x 5 mm paper needs/],
      ['a size in centimetres read as centimetres', { technique: 'cross-cut-shred', particleSize: '1x5 cm' }, /is 10 mm x 50 mm, coarser/],
      ['a size without a unit', { technique: 'cross-cut-shred', particleSize: '1x5' }, /has no unit after its last figure/],
      ['a size in an unknown unit', { technique: 'cross-cut-shred', particleSize: '1x5 mils' }, /has the unit "mils"; write one of mm, cm, in/],
      ['a coarse disintegrator screen', { technique: 'disintegrate', screenSize: '1/4 in' }, /is 6.35 mm, coarser than the 2.4 mm/],
      ['a disintegrator without screen size', { technique: 'disintegrate' }, /needs screenSize/],
      ['a technique the table does not list for paper', { technique: 'pulverize' }, /pulverize is not valid for paper; accepted for paper: cross-cut-shred \(Destroy\), disintegrate/],
      ['words that merely mention burning', { technique: 'strip-cut shred, then burn' }, /not a term of the vocabulary/],
      ['a size on a technique that takes none', { technique: 'pulp', particleSize: '1 mm x 5 mm' }, /particleSize applies only to cross-cut-shred of paper, not to pulp of paper/],
    ])('refuses %s', (_, d, why) => refuses('paper', { method: 'Destroy', ...d }, why));

    it('refuses any method but Destroy', () =>
      refuses('paper', { method: 'Purge', technique: 'cross-cut-shred', particleSize: '1 mm x 5 mm' }, /cross-cut-shred of paper is Destroy, not Purge .*paper has no Purge technique/));

    it('accepts a return to the source with a receipt (IRC 6103(p)(4)(F))', () => {
      const e = [ftiEntry(1, { media: 'paper' })];
      const a = { ...goodAnswers(), dispositions: [{ entry: 'F-0001', action: 'returned' as const, date: '2025-06-05', receipt: 'R-1' }] };
      expect(() => checkAnswers(a, e, TODAY)).not.toThrow();
    });

    it('refuses a size on a return', () => {
      const e = [ftiEntry(1, { media: 'paper' })];
      const a = { ...goodAnswers(), dispositions: [{ entry: 'F-0001', action: 'returned' as const, date: '2025-06-05', receipt: 'R-1', particleSize: '1 mm x 5 mm' }] };
      expect(refusal(() => checkAnswers(a, e, TODAY)).message).toContain('particleSize applies only to destroyed information');
    });

    it('never reads a size or a method out of the free-text details', () => {
      refuses('paper', { method: 'Destroy', technique: 'cross-cut-shred', details: 'cross-cut shred 1x5 mm, then burned' }, /needs particleSize/);
      accepts('paper', { method: 'Destroy', technique: 'pulp', details: 'strip-cut shred 6 mm first, de-gauss' });
    });
  });

  describe('answers written before the vocabulary', () => {
    it('reads exactly the known spellings as their terms, with the size the spelling carried', () => {
      const e = [ftiEntry(1, { media: 'paper' })];
      const a = { ...goodAnswers(), dispositions: [{ ...destroyedBase, method: 'Destroy' as const, technique: 'cross-cut shred 1x5 mm' }] };
      const d = checkAnswers(a, e, TODAY).dispositions[0]!;
      expect(d).toMatchObject({ technique: 'cross-cut-shred', particleSize: '1 mm x 5 mm' });
    });

    it.each(['Cross-cut shred 1x5 mm', 'cross-cut shred 1x5mm', 'cross-cut shred 0.8x4 mm', 'cross cut shred 1x5 mm'])('refuses the near miss %j, naming the accepted values', (technique) =>
      refuses('paper', { method: 'Destroy', technique }, /not a term of the vocabulary; accepted for paper: cross-cut-shred \(Destroy\), disintegrate \(Destroy\), incinerate \(Destroy\), pulp \(Destroy\), mulch \(Destroy\)/),
    );

    it('keeps a size the spelling carried that the media does not judge, as details, and reads the result again unchanged', () => {
      const e = [ftiEntry(1, { media: 'usb' })];
      const a = { ...goodAnswers(), dispositions: [{ ...destroyedBase, method: 'Destroy' as const, technique: 'disintegrate, 2 mm screen', details: 'by contractor' }] };
      const once = checkAnswers(a, e, TODAY);
      expect(once.dispositions[0]).toMatchObject({ technique: 'disintegrate', details: 'screen size 2 mm (written as "disintegrate, 2 mm screen"); by contractor' });
      expect(once.dispositions[0]!.screenSize).toBeUndefined();
      expect(checkAnswers(once, e, TODAY)).toEqual(once);
    });

    it('reads normalised answers again to the same answers (offboard checks twice)', () => {
      const once = checkAnswers(goodAnswers(), entries(), TODAY);
      expect(checkAnswers(once, entries(), TODAY)).toEqual(once);
    });

    it('refuses a legacy spelling that carries a size beside a size field', () =>
      refuses('paper', { method: 'Destroy', technique: 'cross-cut shred 1x5 mm', particleSize: '1 mm x 5 mm' }, /already carries its size/));
  });

  describe('electronic media (NIST SP 800-88)', () => {
    it.each(['ssd', 'usb', 'mobile'] as const)('refuses degaussing %s (flash)', (media) =>
      refuses(media, { method: 'Purge', technique: 'degauss' }, /degauss is never valid for \w+: flash memory is not magnetic/),
    );
    it('refuses "de-gauss" as an unknown word, naming what an SSD accepts', () =>
      refuses('ssd', { method: 'Purge', technique: 'de-gauss' }, /"de-gauss" is not a term of the vocabulary; accepted for ssd: overwrite \(Clear\), ata-secure-erase \(Clear\), block-erase \(Purge\)/));

    it('accepts degaussing a hard disk as Purge', () => accepts('hdd', { method: 'Purge', technique: 'degauss' }));
    it('refuses degaussing recorded as Clear', () =>
      refuses('hdd', { method: 'Clear', technique: 'degauss', destination: 'internal reuse' }, /degauss of hdd is Purge, not Clear .*write method: Purge, or a Clear technique for hdd: overwrite/));

    it('refuses Clear of a USB drive', () => refuses('usb', { method: 'Clear', technique: 'overwrite' }, /overwrite is not valid for usb; accepted for usb: shred \(Destroy\)/));
    it('accepts Destroy of a USB drive', () => accepts('usb', { method: 'Destroy', technique: 'disintegrate' }));

    it('refuses ATA secure erase as Purge of an SSD', () => refuses('ssd', { method: 'Purge', technique: 'ata-secure-erase' }, /ata-secure-erase of ssd is Clear, not Purge \(on flash .* counts only as Clear/));
    it('accepts sanitize block erase as Purge of an SSD', () => accepts('ssd', { method: 'Purge', technique: 'block-erase' }));

    it('refuses a factory reset as Purge of a phone', () => refuses('mobile', { method: 'Purge', technique: 'factory-reset' }, /factory-reset of mobile is Clear, not Purge.*crypto-erase/));
    it('accepts cryptographic erase as Purge of a phone', () => accepts('mobile', { method: 'Purge', technique: 'crypto-erase', details: 'MDM wipe' }));

    it('refuses Clear of a drive that leaves the organisation', () =>
      refuses('hdd', { method: 'Clear', technique: 'overwrite' }, /Clear media cannot go to recycling facility: media leaving the organisation's control needs Purge or Destroy/));
    it('accepts Clear of a drive kept for internal reuse', () => accepts('hdd', { method: 'Clear', technique: 'overwrite', destination: 'internal reuse' }));

    it('refuses anything but Destroy for optical media', () => refuses('optical', { method: 'Purge', technique: 'overwrite' }, /overwrite is not valid for optical; accepted for optical: shred \(Destroy\)/));
    it('refuses reuse of destroyed media', () => refuses('hdd', { method: 'Destroy', technique: 'shred', destination: 'internal reuse' }, /Destroy media cannot go to internal reuse/));
    it('accepts only physical destruction of other media', () => {
      accepts('other', { method: 'Destroy', technique: 'pulverize' });
      refuses('other', { method: 'Purge', technique: 'degauss' }, /degauss is never valid for other: degaussing works only on magnetic media/);
    });
  });

  describe('cloud storage and email', () => {
    const attested = { encryptedFromStart: true, keyCopiesDestroyed: true, destination: 'other' as const };
    it.each(['cloud', 'email'] as const)('accepts an attested cryptographic erase of %s', (media) => accepts(media, { method: 'Purge', technique: 'crypto-erase', ...attested }));
    it('refuses Destroy', () => refuses('cloud', { method: 'Destroy', technique: 'shred', ...attested }, /shred is not valid for cloud; accepted for cloud: crypto-erase \(Purge\)/));
    it('refuses a Purge that is not a cryptographic erase', () => refuses('cloud', { method: 'Purge', technique: 'delete objects', ...attested }, /not a term of the vocabulary; accepted for cloud: crypto-erase/));
    it('refuses a cryptographic erase without the key attestation', () =>
      refuses('cloud', { method: 'Purge', technique: 'crypto erase', destination: 'other', encryptedFromStart: true }, /valid only if every copy of the key is destroyed \(keyCopiesDestroyed: true/));
  });

  describe('people', () => {
    it('refuses a verifier who performed the work (case and spaces ignored)', () =>
      refuses('paper', { method: 'Destroy', technique: 'incinerate', verifiedBy: { name: '  pat  LEE ', title: 'x' } }, /verifiedBy must be someone other/));

    it('refuses a validating official who performed the work', () => {
      const a = goodAnswers();
      a.validatedBy = { ...a.validatedBy, name: 'PAT LEE' };
      const err = refusal(() => checkAnswers(a, entries(), TODAY));
      expect(err.message).toMatch(/validatedBy: the validating official must be someone other/);
    });
  });

  describe('dates', () => {
    it('refuses a date after today', () => refuses('paper', { method: 'Destroy', technique: 'incinerate', date: '2025-06-07' }, /after today/));
    it('refuses a date before the information was received', () =>
      refuses('paper', { method: 'Destroy', technique: 'incinerate', date: '2025-02-28' }, /before the information was received \(2025-03-01\)/));
    it('refuses an acknowledgement signed after today', () => {
      const err = refusal(() => checkAnswers({ ...goodAnswers(), acknowledgement: { signedOn: '2025-07-01' } }, entries(), TODAY));
      expect(err.message).toContain('acknowledgement.signedOn');
    });
  });

  describe('signature dates of the performer and the validating official', () => {
    const signed = (performedOn?: string, validatedOn?: string) => {
      const a = goodAnswers();
      return {
        ...a,
        performedBy: { ...a.performedBy, ...(performedOn === undefined ? {} : { signedOn: performedOn }) },
        validatedBy: { ...a.validatedBy, ...(validatedOn === undefined ? {} : { signedOn: validatedOn }) },
      };
    };
    const refusedWith = (a: unknown): string[] => {
      const err = refusal(() => checkAnswers(a, entries(), TODAY));
      expect(err.code).toBe('answers.rule');
      return (err.details as { problems: string[] }).problems;
    };

    it('dates both on the offboarding day when an answers file of the earlier format gives none', () => {
      const a = checkAnswers(goodAnswers(), entries(), TODAY);
      expect(a.performedBy.signedOn).toBe(TODAY);
      expect(a.validatedBy.signedOn).toBe(TODAY);
    });

    it('keeps the dates given, the official on or after the performer, both on or after the last disposition', () => {
      const a = checkAnswers(signed('2025-06-05', '2025-06-05'), entries(), TODAY);
      expect([a.performedBy.signedOn, a.validatedBy.signedOn]).toEqual(['2025-06-05', '2025-06-05']);
    });

    it('refuses a signature after today, naming the field and the fix', () => {
      expect(refusedWith(signed('2025-06-07'))).toEqual([
        'performedBy.signedOn: 2025-06-07 is after today (2025-06-06); write the date it was signed, today or earlier',
      ]);
      expect(refusedWith(signed(undefined, '2025-06-07'))).toEqual([
        'validatedBy.signedOn: 2025-06-07 is after today (2025-06-06); write the date it was signed, today or earlier',
      ]);
    });

    it('refuses a performer who signs before the work is done, naming the last disposition', () => {
      const [p, ...rest] = refusedWith(signed('2025-06-04', '2025-06-06'));
      expect(rest).toEqual([]);
      expect(p).toMatch(/^performedBy\.signedOn: 2025-06-04 is before dispositions\[\d\] \(entry F-000\d, \w+\) \(2025-06-05\); .* write 2025-06-05 or later$/);
    });

    it('refuses an official who signs before the performer, also when the performer\'s date is the default', () => {
      expect(refusedWith(signed('2025-06-06', '2025-06-05'))).toEqual([
        "validatedBy.signedOn: 2025-06-05 is before the performer's signature, performedBy.signedOn 2025-06-06; the validating official signs after the performer: write 2025-06-06 or later",
      ]);
      expect(refusedWith(signed(undefined, '2025-06-05'))[0]).toContain(
        "before the performer's signature, 2025-06-06 (the offboarding day: performedBy.signedOn is not given)",
      );
    });

    it('refuses an official who signs before the work, naming both problems at once', () => {
      const problems = refusedWith(signed('2025-03-02', '2025-03-02'));
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^performedBy\.signedOn: 2025-03-02 is before/);
      expect(problems[1]).toMatch(/^validatedBy\.signedOn: 2025-03-02 is before .*signs after the work is done: write 2025-06-05 or later$/);
    });

    it('refuses a signature date that is not a date', () => {
      const err = refusal(() => checkAnswers(signed('June 5'), entries(), TODAY));
      expect(err.code).toBe('answers.invalid');
      expect(err.message).toContain('performedBy.signedOn');
    });
  });

  describe('one disposition per entry', () => {
    it('refuses an answers file missing an entry, naming it', () => {
      const a = goodAnswers();
      a.dispositions = a.dispositions.filter((d) => d.entry !== 'F-0003');
      const err = refusal(() => checkAnswers(a, entries(), TODAY));
      expect(err.code).toBe('answers.missing');
      expect(err.message).toContain('disposition for entry F-0003 (hdd)');
    });

    it('refuses two dispositions of one entry', () => {
      const a = goodAnswers();
      a.dispositions.push({ ...a.dispositions[0]! });
      const err = refusal(() => checkAnswers(a, entries(), TODAY));
      expect(err.message).toContain('dispositions[4] (entry F-0001, paper): entry F-0001 already has a disposition (dispositions[0])');
    });

    it('refuses a disposition of an entry that is not in the log', () => {
      const a = goodAnswers();
      a.dispositions.push({ ...a.dispositions[0]!, entry: 'F-0009' });
      expect(refusal(() => checkAnswers(a, entries(), TODAY)).message).toContain("dispositions[4] (entry F-0009): names an entry that is not in this assignment's FTI log");
    });

    it('refuses a return without a receipt, naming the item', () => {
      const a = goodAnswers();
      delete a.dispositions[1]!.receipt;
      expect(refusal(() => checkAnswers(a, entries(), TODAY)).message).toContain('dispositions[1] (entry F-0002, usb).receipt');
    });

    it('refuses a destruction without method, technique or tool', () => {
      const a = goodAnswers();
      delete a.dispositions[0]!.method;
      delete a.dispositions[0]!.tool;
      const msg = refusal(() => checkAnswers(a, entries(), TODAY)).message;
      expect(msg).toContain('dispositions[0] (entry F-0001, paper).method');
      expect(msg).toContain('dispositions[0] (entry F-0001, paper).tool.name');
    });

    it('refuses method details on a return', () => {
      const a = goodAnswers();
      a.dispositions[1] = { ...a.dispositions[1]!, method: 'Destroy' };
      expect(refusal(() => checkAnswers(a, entries(), TODAY)).message).toContain('dispositions[1] (entry F-0002, usb): method applies only to destroyed');
    });
  });

  it('names the path of a schema error', () => {
    const a = goodAnswers() as unknown as { dispositions: Record<string, unknown>[] };
    a.dispositions[0]!.method = 'Shred';
    const err = refusal(() => checkAnswers(a, entries(), TODAY));
    expect(err.code).toBe('answers.invalid');
    expect(err.message).toContain('dispositions[0].method');
  });

  it('refuses a taxpayer identifier anywhere in the answers', () => {
    const a = goodAnswers();
    a.dispositions[1]!.receipt = 'receipt for 123-45-6789';
    const err = refusal(() => checkAnswers(a, entries(), TODAY));
    expect(err.code).toBe('answers.identifier');
    expect(err.message).toContain('dispositions[1].receipt');
    expect(err.message).not.toContain('123-45-6789');
  });
});

describe('missingItems', () => {
  it('is empty for complete answers', () => {
    expect(missingItems(goodAnswers(), entries())).toEqual([]);
  });

  it('lists everything for an empty document', () => {
    const m = missingItems({}, entries());
    expect(m).toContain('performedBy.name');
    expect(m).toContain('validatedBy.phone');
    expect(m).toContain('disposition for entry F-0001 (paper)');
    expect(m).toContain('disposition for entry F-0004 (cloud)');
    expect(m).toContain('propertyReturned');
    expect(m).toContain('acknowledgement.signedOn');
  });

  it('asks for the fields a chosen action needs', () => {
    const m = missingItems({ dispositions: [{ entry: 'F-0002', action: 'returned' }, { entry: 'F-0001', action: 'destroyed', method: 'Destroy' }] }, entries());
    expect(m).toContain('dispositions[0] (entry F-0002, usb).receipt');
    expect(m).toContain('dispositions[0] (entry F-0002, usb).date');
    expect(m).toContain('dispositions[1] (entry F-0001, paper).technique');
    expect(m).toContain('dispositions[1] (entry F-0001, paper).verifiedBy.name');
    expect(m).not.toContain('dispositions[1] (entry F-0001, paper).method');
    expect(m).toContain('disposition for entry F-0003 (hdd)');
  });

  it('treats blank strings as unanswered', () => {
    expect(missingItems({ ...goodAnswers(), performedBy: { ...goodAnswers().performedBy, phone: '  ' } }, entries())).toEqual(['performedBy.phone']);
  });
});
