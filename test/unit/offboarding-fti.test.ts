import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { ftiEntryId, parseTaxYears, validateFtiEntry } from '../../src/offboarding/fti.js';
import { looksLikeTaxpayerId } from '../../src/offboarding/fields.js';

const TODAY = '2025-06-06';
const good = {
  description: 'TY2021 extract batch 7',
  type: 'IRTF extract',
  taxYears: '2019-2021',
  records: 40,
  media: 'paper',
  location: 'HQ room 4-210, safe B',
  received: '2025-03-01',
};

function thrown(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('looksLikeTaxpayerId', () => {
  it.each([
    ['SSN', 'case of 123-45-6789'],
    ['ITIN', 'ITIN 912-70-1234 reviewed'],
    ['EIN', 'employer 12-3456789'],
    ['nine digits', 'TIN 123456789 extract'],
    ['nine digits glued to letters', 'TIN123456789'],
  ])('flags an %s', (_, text) => {
    expect(looksLikeTaxpayerId(text)).toBe(true);
  });

  it.each([
    'TY2021 extract batch 7',
    'HQ room 4-210, safe B',
    'received 2025-03-01, tax years 2019-2021',
    'phone 202-555-0143',
    'batch 1234567890 (ten digits)',
    'case 12345678 (eight digits)',
  ])('accepts ordinary text: %s', (text) => {
    expect(looksLikeTaxpayerId(text)).toBe(false);
  });
});

describe('validateFtiEntry', () => {
  it('accepts a reference and normalises tax years and records', () => {
    const e = validateFtiEntry({ ...good, records: '40', sender: 'IRS Office of Safeguards' }, TODAY);
    expect(e).toEqual({ ...good, taxYears: [2019, 2020, 2021], records: 40, sender: 'IRS Office of Safeguards' });
  });

  it.each([
    ['description', '123-45-6789 Smith'],
    ['location', 'cabinet for EIN 12-3456789'],
    ['reason', 'asked about 123456789'],
    ['type', 'ITIN 912-70-1234'],
  ])('refuses a taxpayer identifier in %s without repeating it', (field, value) => {
    const err = thrown(() => validateFtiEntry({ ...good, [field]: value }, TODAY));
    expect(err.code).toBe('fti.identifier');
    expect(err.exit).toBe(2);
    expect(err.message).toContain(field);
    expect(err.message).toContain('the FTI log must never hold FTI itself; write a reference, not a taxpayer identifier');
    expect(err.message).not.toContain(value);
  });

  it('refuses an identifier even when other fields are also wrong', () => {
    expect(thrown(() => validateFtiEntry({ description: '123-45-6789', records: -1 }, TODAY)).code).toBe('fti.identifier');
  });

  it('does not mistake a nine-digit record count for an identifier', () => {
    expect(validateFtiEntry({ ...good, records: 123456789 }, TODAY).records).toBe(123456789);
  });

  it.each([
    ['records', { records: 0 }],
    ['records', { records: 2.5 }],
    ['media', { media: 'floppy' }],
    ['received', { received: '2025-02-30' }],
    ['received', { received: '2025-06-07' }],
    ['taxYears', { taxYears: [2030] }],
    ['description', { description: '   ' }],
    ['extra', { extra: 'x' }],
  ])('refuses a bad %s, naming it', (field, patch) => {
    const err = thrown(() => validateFtiEntry({ ...good, ...patch }, TODAY));
    expect(err.exit).toBe(2);
    expect(err.message).toContain(field);
  });

  it('accepts a YAML date for received', () => {
    expect(validateFtiEntry({ ...good, received: new Date('2025-03-01T00:00:00Z') }, TODAY).received).toBe('2025-03-01');
  });
});

describe('parseTaxYears', () => {
  it.each([
    ['2021', [2021]],
    ['2021,2022', [2021, 2022]],
    ['2019-2021', [2019, 2020, 2021]],
    ['2022, 2019–2020 2022', [2019, 2020, 2022]],
  ])('%s', (text, years) => {
    expect(parseTaxYears(text)).toEqual(years);
  });

  it.each(['', '21', '2021-2019', '2019-2100', 'TY2021', '2021;x'])('refuses %j', (text) => {
    expect(thrown(() => parseTaxYears(text)).code).toBe('fti.tax-years');
  });
});

describe('ftiEntryId', () => {
  it('is short, padded and stable', () => {
    expect(ftiEntryId('irs-2025-017', 1)).toBe('F-0001');
    expect(ftiEntryId('irs-2025-017', 42)).toBe('F-0042');
    expect(ftiEntryId('irs-2025-017', 12345)).toBe('F-12345');
  });

  it('refuses sequence numbers that a store never hands out', () => {
    expect(() => ftiEntryId('a', 0)).toThrow();
    expect(() => ftiEntryId('a', 1.5)).toThrow();
  });
});
