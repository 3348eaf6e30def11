import { inflateSync } from 'node:zlib';
import { VerificationError } from '../errors.js';

/**
 * Reads the signed JSON back out of a certificate PDF without pdfkit, poppler or any PDF library,
 * so `certificate verify` works offline on a bare install. It understands what detailee writes
 * (and what qpdf-style rewriters keep): an uncompressed object holding a stream dictionary with
 * /Type /EmbeddedFile, unfiltered or /FlateDecode, its /Length direct or indirect. Object streams
 * never hold streams (ISO 32000-1 §7.5.7), so the embedded file is always reachable this way.
 */

function fail(code: string, message: string): VerificationError {
  return new VerificationError(message, {
    code,
    actions: ['Verify the <id>.json file issued with the PDF, or obtain the original PDF from the issuing office.'],
  });
}

/**
 * Bounds on inflating attachments, which an attacker controls: DEFLATE reaches about 1000:1, so a
 * 64 MiB "PDF" could otherwise ask for tens of gigabytes. A signed certificate record is a few
 * kilobytes of JSON that compresses perhaps 5:1, so these leave two orders of magnitude of room.
 * zlib stops at the limit, so the work done on a bomb is bounded by the limit, not by the bomb.
 */
export const MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024;
const MAX_INFLATE_RATIO = 100;
/** Small streams may exceed the ratio (a tiny header inflates well); never past this floor. */
const RATIO_FLOOR_BYTES = 64 * 1024;

/** How much one compressed stream of `compressed` bytes may inflate to, given what is left overall. */
export function inflateLimit(compressed: number, budgetLeft: number): number {
  return Math.max(0, Math.min(MAX_ATTACHMENT_BYTES, budgetLeft, Math.max(RATIO_FLOOR_BYTES, compressed * MAX_INFLATE_RATIO)));
}

function bomb(limit: number, compressed: number): VerificationError {
  return new VerificationError(
    `An attachment in the PDF inflates to more than ${limit} bytes from ${compressed} compressed bytes (limits: ${MAX_ATTACHMENT_BYTES} bytes in all, ${MAX_INFLATE_RATIO}:1 per stream); a certificate record is far smaller, so the file was built to exhaust memory and is refused.`,
    {
      code: 'certificate.pdf-bomb',
      actions: ['Verify the <id>.json file issued with the PDF, or obtain the original PDF from the issuing office.'],
    },
  );
}

const WS = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);

/** Index just past the dictionary starting at `start` (which must be `<<`), or -1. */
function endOfDictionary(s: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '(') {
      // Literal strings nest and escape; a ">>" inside one is not the end of anything.
      let paren = 1;
      i++;
      while (i < s.length && paren > 0) {
        const d = s[i]!;
        if (d === '\\') i++;
        else if (d === '(') paren++;
        else if (d === ')') paren--;
        i++;
      }
      continue;
    }
    if (c === '%') {
      while (i < s.length && s[i] !== '\n' && s[i] !== '\r') i++;
      continue;
    }
    if (c === '<' && s[i + 1] === '<') {
      depth++;
      i += 2;
      continue;
    }
    if (c === '>' && s[i + 1] === '>') {
      depth--;
      i += 2;
      if (depth === 0) return i;
      continue;
    }
    if (c === '<') {
      const close = s.indexOf('>', i);
      if (close < 0) return -1;
      i = close + 1;
      continue;
    }
    i++;
  }
  return -1;
}

/** Top-level keys only: a nested /Params << /Size … >> must not answer for the stream's own /Length. */
function topLevel(dict: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < dict.length; i++) {
    if (dict[i] === '<' && dict[i + 1] === '<') {
      depth++;
      i++;
      if (depth === 1) out += '<<';
      continue;
    }
    if (dict[i] === '>' && dict[i + 1] === '>') {
      depth--;
      i++;
      if (depth === 0) out += '>>';
      continue;
    }
    out += depth === 1 ? dict[i] : ' ';
  }
  return out;
}

function resolveLength(s: string, top: string): number | undefined {
  const m = /\/Length\s+(\d+)(?:\s+(\d+)\s+R)?/.exec(top);
  if (!m) return undefined;
  if (m[2] === undefined) return Number(m[1]);
  const ref = new RegExp(`(?:^|[^0-9])${m[1]}\\s+${m[2]}\\s+obj\\s*(\\d+)\\s*endobj`).exec(s);
  return ref ? Number(ref[1]) : undefined;
}

interface RawEmbedded {
  data: Buffer;
  filter: 'none' | 'flate' | 'unsupported';
}

function embeddedStreams(bytes: Buffer): RawEmbedded[] {
  // latin1 maps every byte to one code unit, so string offsets are byte offsets.
  const s = bytes.toString('latin1');
  const found: RawEmbedded[] = [];
  const header = /(\d+)\s+(\d+)\s+obj\s*<</g;
  let m: RegExpExecArray | null;
  while ((m = header.exec(s)) !== null) {
    const dictStart = m.index + m[0].length - 2;
    const dictEnd = endOfDictionary(s, dictStart);
    if (dictEnd < 0) continue;
    const top = topLevel(s.slice(dictStart, dictEnd));
    if (!/\/Type\s*\/EmbeddedFile(?![A-Za-z])/.test(top)) continue;
    let i = dictEnd;
    while (i < s.length && WS.has(s.charCodeAt(i))) i++;
    if (!s.startsWith('stream', i)) continue;
    i += 'stream'.length;
    if (s[i] === '\r') i++;
    if (s[i] === '\n') i++;
    const length = resolveLength(s, top);
    let end = length === undefined ? -1 : i + length;
    // A /Length that does not land on endstream means an edited file: fall back to the marker,
    // so the damage shows up as a failed check instead of a confusing parse error.
    if (end < 0 || !/^\s*endstream/.test(s.slice(end, end + 20))) {
      end = s.indexOf('endstream', i);
      if (end < 0) continue;
      if (s[end - 1] === '\n') end--;
      if (s[end - 1] === '\r') end--;
    }
    const filterMatch = /\/Filter\s*(\[\s*)?\/([A-Za-z0-9]+)/.exec(top);
    const filter = !filterMatch ? 'none' : filterMatch[2] === 'FlateDecode' && !/\/DecodeParms/.test(top) ? 'flate' : 'unsupported';
    found.push({ data: bytes.subarray(i, end), filter });
    header.lastIndex = end;
  }
  return found;
}

/**
 * The signed certificate attached to a certificate PDF, parsed but not verified: pass the result
 * to verifySignedCertificate. Damage to the attachment is a VerificationError (exit 3).
 */
export function extractFromPdf(pdfBytes: Uint8Array): unknown {
  const bytes = Buffer.from(pdfBytes.buffer, pdfBytes.byteOffset, pdfBytes.byteLength);
  if (!bytes.subarray(0, 1024).toString('latin1').includes('%PDF-')) throw fail('certificate.pdf-format', 'The file is not a PDF.');
  const candidates: unknown[] = [];
  const seen = new Set<string>();
  let damaged = 0;
  let budget = MAX_ATTACHMENT_BYTES;
  for (const raw of embeddedStreams(bytes)) {
    if (raw.filter === 'unsupported') {
      damaged++;
      continue;
    }
    let data: Buffer;
    if (raw.filter === 'flate') {
      const limit = inflateLimit(raw.data.length, budget);
      try {
        data = inflateSync(raw.data, { maxOutputLength: Math.max(1, limit) });
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw bomb(limit, raw.data.length);
        damaged++;
        continue;
      }
      if (data.length > limit) throw bomb(limit, raw.data.length);
    } else {
      data = raw.data;
      if (data.length > budget) throw bomb(budget, raw.data.length);
    }
    budget -= data.length;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      damaged++;
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      damaged++;
      continue;
    }
    if (value === null || typeof value !== 'object' || !('certificate' in value)) continue;
    if (seen.has(text)) continue;
    seen.add(text);
    candidates.push(value);
  }
  if (candidates.length === 1) return candidates[0];
  if (candidates.length > 1) {
    throw fail('certificate.pdf-ambiguous', `The PDF carries ${candidates.length} different certificates; a genuine certificate PDF carries one.`);
  }
  if (damaged > 0) throw fail('certificate.pdf-damaged', 'The certificate attached to the PDF is damaged (it does not decompress or parse): the file was altered.');
  throw fail('certificate.pdf-no-attachment', 'The PDF has no attached certificate (<id>.json); it is not a detailee certificate PDF, or the attachment was removed.');
}
