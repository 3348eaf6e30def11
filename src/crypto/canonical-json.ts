import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON: what the audit chain hashes and certificates sign, so that any
 * JCS implementation can recompute them, and the one way two JSON documents are compared.
 */
export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalised');
  return s;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
/** Deeper text answers false (and is parsed and canonicalised instead). */
const MAX_DEPTH = 64;
/** An integer of at most this many digits is a double exactly, written back digit for digit. */
const EXACT_DIGITS = 15;

// The open containers of the text being checked: whether each is an object, and the span of its
// last key. Shared by every call (the check is synchronous), so a call allocates nothing.
const isObject = new Uint8Array(MAX_DEPTH);
const keyStart = new Int32Array(MAX_DEPTH);
const keyEnd = new Int32Array(MAX_DEPTH);

/**
 * Whether `text` is already the RFC 8785 form of the JSON it holds, that is whether
 * `canonicalJson(JSON.parse(text)) === text` (and neither throws). A true answer is never wrong; a
 * case it does not decide cheaply (an escape in a key, nesting deeper than 64) answers false, and
 * the caller then parses and canonicalises as it would have anyway.
 *
 * Canonical means: no whitespace; object keys in strictly increasing UTF-16 code-unit order (so no
 * key twice); strings escaped exactly as JSON.stringify escapes them (`\"`, `\\`, `\b`, `\f`,
 * `\n`, `\r`, `\t`, other control characters as lower-case `\u00xx`, nothing else) and well
 * formed (canonicalJson refuses a lone surrogate); numbers as ECMAScript writes them (no `-0`,
 * `1.0`, `1E2` or `1e+2`).
 */
export function isCanonicalJson(text: string): boolean {
  const n = text.length;
  let depth = 0;
  let i = 0;
  for (;;) {
    // A value starts at i.
    const c = text.charCodeAt(i);
    if (c === LBRACE || c === LBRACKET) {
      if (depth === MAX_DEPTH) return false;
      const obj = c === LBRACE;
      isObject[depth] = obj ? 1 : 0;
      keyEnd[depth] = -1;
      depth++;
      i++;
      if (text.charCodeAt(i) !== (obj ? RBRACE : RBRACKET)) {
        if (obj && (i = member(text, i, depth - 1)) < 0) return false;
        continue;
      }
      i++;
      depth--;
    } else if (c === QUOTE) {
      if ((i = stringEnd(text, i + 1)) < 0) return false;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      if ((i = numberEnd(text, i)) < 0) return false;
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else {
      return false;
    }
    // After a value: close what ends here, then the next member or element, or the end.
    for (;;) {
      if (depth === 0) return i === n;
      const d = text.charCodeAt(i);
      const obj = isObject[depth - 1] === 1;
      if (d === COMMA) {
        i++;
        if (obj && (i = member(text, i, depth - 1)) < 0) return false;
        break;
      }
      if (d !== (obj ? RBRACE : RBRACKET)) return false;
      i++;
      depth--;
    }
  }
}

/**
 * A member's key and its colon at i, inside the object at `level`: the index of its value, or -1.
 * A key with an escape is not decided here (-1): its order would need the decoded text.
 */
function member(text: string, i: number, level: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  const start = i + 1;
  let j = start;
  for (;;) {
    if (j >= text.length) return -1;
    const c = text.charCodeAt(j);
    if (c === QUOTE) break;
    if (c < 0x20 || c === BACKSLASH) return -1;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (!pairAt(text, j)) return -1;
      j += 2;
    } else {
      j++;
    }
  }
  if (keyEnd[level] !== -1 && !before(text, keyStart[level]!, keyEnd[level]!, start, j)) return -1;
  keyStart[level] = start;
  keyEnd[level] = j;
  return text.charCodeAt(j + 1) === COLON ? j + 2 : -1;
}

/** Whether text[a0, a1) sorts strictly before text[b0, b1) by UTF-16 code units, as JCS orders keys. */
function before(text: string, a0: number, a1: number, b0: number, b1: number): boolean {
  const la = a1 - a0;
  const lb = b1 - b0;
  const m = la < lb ? la : lb;
  for (let k = 0; k < m; k++) {
    const ca = text.charCodeAt(a0 + k);
    const cb = text.charCodeAt(b0 + k);
    if (ca !== cb) return ca < cb;
  }
  return la < lb;
}

/** A high surrogate at i followed by a low one. */
function pairAt(text: string, i: number): boolean {
  const hi = text.charCodeAt(i);
  const lo = text.charCodeAt(i + 1);
  return hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}

/** The end (after the closing quote) of a string whose first character is at i, or -1 if it is not canonical. */
function stringEnd(text: string, i: number): number {
  for (;;) {
    if (i >= text.length) return -1;
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = text.charCodeAt(i + 1);
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2; // \" \\ \b \f \n \r \t
        continue;
      }
      // \u00xx, lower-case, only for a control character without a short form.
      if (e !== 0x75 || text.charCodeAt(i + 2) !== ZERO || text.charCodeAt(i + 3) !== ZERO) return -1;
      const hi = text.charCodeAt(i + 4);
      const lo = text.charCodeAt(i + 5);
      const loValue = lo >= ZERO && lo <= NINE ? lo - ZERO : lo >= 0x61 && lo <= 0x66 ? lo - 0x61 + 10 : -1;
      if ((hi !== ZERO && hi !== 0x31) || loValue < 0) return -1;
      const code = (hi - ZERO) * 16 + loValue;
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      i += 6;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      if (!pairAt(text, i)) return -1;
      i += 2;
      continue;
    }
    i++;
  }
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** The end of a number starting at i, or -1 if it is not JSON or not as ECMAScript would write it. */
function numberEnd(text: string, i: number): number {
  const start = i;
  if (text.charCodeAt(i) === MINUS) i++;
  const first = text.charCodeAt(i);
  if (!isDigit(first)) return -1;
  i++;
  if (first !== ZERO) while (isDigit(text.charCodeAt(i))) i++;
  const intEnd = i;
  if (text.charCodeAt(i) === DOT) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 0x2b || sign === MINUS) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const digits = intEnd - start - (text.charCodeAt(start) === MINUS ? 1 : 0);
  if (i === intEnd && digits <= EXACT_DIGITS) {
    // A plain integer: written back as it is, but for -0 (written 0).
    return first === ZERO && digits === 1 && start !== intEnd - 1 ? -1 : i;
  }
  const token = text.slice(start, i);
  return String(Number(token)) === token ? i : -1;
}
