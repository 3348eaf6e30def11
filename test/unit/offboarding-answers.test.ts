import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { missingItems, type DispositionInput } from '../../src/offboarding/answers.js';
import type { Media } from '../../src/offboarding/fti.js';
import { checkAnswers, paperTechniqueProblem, particleSizeMm, screenSizeMm } from '../../src/offboarding/rules.js';
import { entries, ftiEntry, goodAnswers, TODAY } from './offboarding-fixtures.js';

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
      'cross-cut shred 1x5 mm',
      'cross cut shredder, 0.8 mm × 4 mm particles',
      'micro-cut shred 1 mm by 5 mm',
      'incinerate',
      'burned in the agency burn bag programme',
      'mulch',
      'pulped by contractor',
      'disintegrate, 3/32 in screen',
      'disintegrator with 2.4 mm screen',
    ])('accepts Destroy by %j', (technique) => accepts('paper', { method: 'Destroy', technique }));

    it.each([
      ['a shred without particle size', 'cross-cut shred', /particle size/],
      ['a strip-cut shred', 'strip-cut shred 6 mm', /strip-cut/],
      ['particles too large', 'cross-cut shred 2x15 mm', /larger than the 1 mm × 5 mm/],
      ['a coarse disintegrator screen', 'disintegrate 1/4 in screen', /coarser than/],
      ['a disintegrator without screen size', 'disintegrate', /screen size/],
      ['a method Pub 1075 does not list', 'pulverize', /Pub 1075 method for paper/],
    ])('refuses %s', (_, technique, why) => refuses('paper', { method: 'Destroy', technique }, why));

    it('refuses any method but Destroy', () => refuses('paper', { method: 'Purge', technique: 'cross-cut shred 1x5 mm' }, /only be destroyed/));

    it('accepts a return to the source with a receipt (IRC 6103(p)(4)(F))', () => {
      const e = [ftiEntry(1, { media: 'paper' })];
      const a = { ...goodAnswers(), dispositions: [{ entry: 'F-0001', action: 'returned' as const, date: '2025-06-05', receipt: 'R-1' }] };
      expect(() => checkAnswers(a, e, TODAY)).not.toThrow();
    });

    it('understands particle and screen sizes in mm and inches', () => {
      expect(particleSizeMm('1x5 mm')).toEqual([1, 5]);
      expect(particleSizeMm('1/32 x 3/16 in')![1]).toBeCloseTo(4.7625);
      expect(screenSizeMm('3/32 in. screen')).toBeCloseTo(2.38125);
      expect(paperTechniqueProblem('shred 1x5mm')).toBeUndefined();
    });
  });

  describe('electronic media (NIST SP 800-88)', () => {
    it.each(['ssd', 'usb', 'mobile'] as const)('refuses degaussing %s (flash)', (media) =>
      refuses(media, { method: 'Purge', technique: 'degauss with Garner HD-3' }, /never degauss flash/),
    );

    it('accepts degaussing a hard disk as Purge', () => accepts('hdd', { method: 'Purge', technique: 'degauss' }));
    it('refuses degaussing recorded as Clear', () => refuses('hdd', { method: 'Clear', technique: 'degauss', destination: 'internal reuse' }, /Purge technique/));

    it('refuses Clear of a USB drive', () => refuses('usb', { method: 'Clear', technique: 'overwrite' }, /Purge or Destroy, not Clear/));
    it('accepts Destroy of a USB drive', () => accepts('usb', { method: 'Destroy', technique: 'disintegrate' }));

    it('refuses ATA secure erase as Purge of an SSD', () => refuses('ssd', { method: 'Purge', technique: 'ATA secure erase' }, /only as Clear/));
    it('accepts sanitize block erase as Purge of an SSD', () => accepts('ssd', { method: 'Purge', technique: 'sanitize block erase' }));

    it('refuses a factory reset as Purge of a phone', () => refuses('mobile', { method: 'Purge', technique: 'factory reset' }, /cryptographic erase/));
    it('accepts cryptographic erase as Purge of a phone', () => accepts('mobile', { method: 'Purge', technique: 'cryptographic erase via MDM wipe' }));

    it('refuses Clear of a drive that leaves the organisation', () => refuses('hdd', { method: 'Clear', technique: 'overwrite' }, /leaving the organisation/));
    it('accepts Clear of a drive kept for internal reuse', () => accepts('hdd', { method: 'Clear', technique: 'overwrite', destination: 'internal reuse' }));

    it('refuses anything but Destroy for optical media', () => refuses('optical', { method: 'Purge', technique: 'overwrite' }, /only be sanitised by Destroy/));
    it('refuses reuse of destroyed media', () => refuses('hdd', { method: 'Destroy', technique: 'shred', destination: 'internal reuse' }, /cannot go to internal reuse/));
  });

  describe('cloud storage', () => {
    const attested = { encryptedFromStart: true, keyCopiesDestroyed: true, destination: 'other' as const };
    it('accepts an attested cryptographic erase', () => accepts('cloud', { method: 'Purge', technique: 'cryptographic erase', ...attested }));
    it('refuses Destroy', () => refuses('cloud', { method: 'Destroy', technique: 'delete bucket', ...attested }, /not applicable/));
    it('refuses a Purge that is not a cryptographic erase', () => refuses('cloud', { method: 'Purge', technique: 'delete objects', ...attested }, /must be a cryptographic erase/));
    it('refuses a cryptographic erase without the key attestation', () =>
      refuses('cloud', { method: 'Purge', technique: 'crypto erase', destination: 'other', encryptedFromStart: true }, /every copy of the key/));
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
