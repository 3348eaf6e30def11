import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, isCanonicalJson } from '../../src/crypto/canonical-json.js';

/**
 * isCanonicalJson lets audit verification hash a stored details text as it is. It must never say
 * yes to a text whose canonical form (what the old path hashed) differs: that would accept content
 * the old path refused. The oracle is the definition itself, canonicalJson(JSON.parse(text)).
 */
function oracle(text: string): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/** A key isCanonicalJson leaves undecided (false): one JSON.stringify writes with an escape. */
function hasEscapedKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasEscapedKey);
  if (v === null || typeof v !== 'object') return false;
  return Object.entries(v).some(([k, x]) => JSON.stringify(k) !== `"${k}"` || hasEscapedKey(x));
}

const ALPHABET = ['{', '}', '[', ']', ',', ':', '"', '\\', '-', '+', '.', '0', '1', '9', 'e', 'E', 'u', 'a', 'n', 't', ' ', '\n', '\t', '/', 'é', '\u2028', '\ud800', '\udc00', '\u0001', '\u007f'];

/** Small edits of a canonical text: most are not JSON, some are the same value written otherwise. */
const edited = fc
  .tuple(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace', 'swap'), fc.constantFrom(...ALPHABET)), { minLength: 1, maxLength: 3 }))
  .map(([v, edits]) => {
    let t = canonicalJson(v);
    for (const [at, op, ch] of edits) {
      const i = t.length === 0 ? 0 : at % t.length;
      if (op === 'insert') t = t.slice(0, i) + ch + t.slice(i);
      else if (op === 'delete') t = t.slice(0, i) + t.slice(i + 1);
      else if (op === 'replace') t = t.slice(0, i) + ch + t.slice(i + 1);
      else t = t.slice(0, i) + t.charAt(i + 1) + t.charAt(i) + t.slice(i + 2);
    }
    return t;
  });

describe('isCanonicalJson', () => {
  it('says yes to canonicalJson output, unless a key needs an escape (left undecided)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const t = canonicalJson(v);
        expect(isCanonicalJson(t)).toBe(!hasEscapedKey(v));
      }),
      { numRuns: 2000, seed: 8785 },
    );
  });

  it('never says yes where parsing and canonicalising would give other text, or throw', () => {
    const texts = fc.oneof(
      edited,
      // The same values written as JSON.stringify writes them (insertion order), and spaced out.
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 1)),
      fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 12 }),
    );
    fc.assert(
      fc.property(texts, (t) => {
        if (isCanonicalJson(t)) expect(oracle(t)).toBe(true);
      }),
      { numRuns: 20000, seed: 8785 },
    );
  });

  it.each([
    ['{"a":1,"b":[true,false,null],"c":{"d":"x"}}', true],
    ['{}', true],
    ['[]', true],
    ['"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f"', true],
    ['"é\u2028\u007f😀"', true],
    ['{"__proto__":1}', true],
    ['1e+21', true],
    ['-1.5e-7', true],
    ['9007199254740993', false], // written back as 9007199254740992
    ['123456789012345', true],
    ['{"b":1,"a":2}', false],
    ['{"a":1,"a":2}', false],
    ['{"a":1, "b":2}', false],
    [' {"a":1}', false],
    ['{"a":1}\n', false],
    ['-0', false],
    ['0', true],
    ['1.0', false],
    ['1e2', false],
    ['1E+21', false],
    ['1e21', false],
    ['01', false],
    ['1e999', false],
    ['"\\/"', false],
    ['"\\u0041"', false],
    ['"\\u001F"', false],
    ['"\\u000a"', false],
    ['"\\ud800"', false],
    ['"\ud800"', false],
    ['"\udc00\ud800"', false],
    ['"a\nb"', false],
    ['{"a\\nb":1}', false], // canonical, but an escaped key is left to the long way
    ['[1,]', false],
    ['{"a":}', false],
    ['', false],
    ['tru', false],
    ['"abc', false],
    ['nul', false],
  ])('%j: %s', (text, expected) => {
    expect(isCanonicalJson(text)).toBe(expected);
    if (expected) expect(oracle(text)).toBe(true);
  });

  it('answers false for nesting deeper than it tracks, without throwing', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    expect(oracle(deep)).toBe(true);
    expect(isCanonicalJson(deep)).toBe(false);
    expect(isCanonicalJson('['.repeat(64) + ']'.repeat(64))).toBe(true);
    expect(isCanonicalJson('['.repeat(100_000))).toBe(false);
  });
});
