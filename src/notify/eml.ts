import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

/**
 * RFC 5322 messages, built by hand so that the .eml in the outbox and the bytes handed to SMTP
 * are one and the same string.
 *
 * Transfer encoding: quoted-printable, not 8bit. QP output is 7-bit ASCII with lines of at most
 * 76 characters, so the message survives any relay (no 8BITMIME needed, no 998-octet line limit
 * to trip over when someone edits a template into one long paragraph), while staying readable
 * in the outbox. Non-ASCII header text uses RFC 2047 "B" encoded-words.
 */
export interface EmlInput {
  from: string;
  to: string[];
  subject: string;
  text: string;
  date: Date;
  /** With or without the angle brackets. */
  messageId: string;
}

const CRLF = '\r\n';
// The plain addr-spec a manifest or config already validated; anything else here is a bug or an
// injection attempt, and a header is the wrong place to find out.
const ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$/;
const MSG_ID = /^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/;

function checkAddress(a: string, what: string): string {
  if (!ADDRESS.test(a)) {
    throw new InputError(`The ${what} address ${JSON.stringify(a)} is not a plain e-mail address.`, {
      code: 'notice.address',
      actions: ['Use a plain address such as name@agency.gov.'],
    });
  }
  return a;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time in UTC with a numeric zone (`GMT`, as toUTCString gives, is obsolete syntax). */
export function rfc5322Date(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new InputError('The message date is not a valid date.', { code: 'notice.date' });
  return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Stable per notice, so a retried send carries the same id and receivers can tell it is one message. */
export function messageIdFor(assignmentId: string, key: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)$/.exec(from)?.[1] ?? 'detailee.invalid';
  const local = assignmentId.replace(/[^A-Za-z0-9._-]/g, '_');
  const h = createHash('sha256').update(`${assignmentId}\n${key}`).digest('hex').slice(0, 24);
  return `<detailee.${local}.${h}@${domain}>`;
}

// 39 bytes -> 52 base64 characters -> a 64-character encoded-word: "Subject: " plus one stays under 78.
const WORD_BYTES = 39;

function encodedWords(value: string): string[] {
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  // Split on code points, never inside a UTF-8 sequence: each encoded-word must decode on its own.
  for (const ch of value) {
    const b = Buffer.from(ch, 'utf8');
    if (size + b.length > WORD_BYTES && size > 0) {
      words.push(`=?UTF-8?B?${Buffer.concat(chunk).toString('base64')}?=`);
      chunk = [];
      size = 0;
    }
    chunk.push(b);
    size += b.length;
  }
  if (size > 0) words.push(`=?UTF-8?B?${Buffer.concat(chunk).toString('base64')}?=`);
  return words;
}

/** One header field, folded at 78 columns where possible (RFC 5322 §2.2.3). */
export function headerLine(name: string, value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  const words = flat.split(' ');
  // Encode non-ASCII, text that already looks like an encoded-word (a reader would decode it and
  // show something else), and words too long to fold.
  const encode = /[^\x20-\x7e]/.test(flat) || flat.includes('=?') || words.some((w) => w.length > 70);
  const parts = encode ? encodedWords(flat) : words;
  const lines: string[] = [];
  let line = `${name}:`;
  for (const p of parts) {
    if (line.length + 1 + p.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = '';
    }
    line += ` ${p}`;
  }
  lines.push(line);
  return lines.join(CRLF);
}

function addressList(name: string, addrs: string[]): string {
  const lines: string[] = [];
  let line = `${name}:`;
  addrs.forEach((a, i) => {
    const item = i < addrs.length - 1 ? `${a},` : a;
    if (line.length + 1 + item.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = '';
    }
    line += ` ${item}`;
  });
  lines.push(line);
  return lines.join(CRLF);
}

const MAX_QP_LINE = 76;

/** RFC 2045 §6.7 quoted-printable over UTF-8, CRLF line ends, soft breaks at 76 characters. */
export function quotedPrintable(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const bytes = Buffer.from(line, 'utf8');
    const tokens: string[] = [];
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      tokens.push(literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
    });
    let cur = '';
    for (const t of tokens) {
      // Keep room for the "=" of a soft break, and never split an =XX triplet.
      if (cur.length + t.length > MAX_QP_LINE - 1) {
        out.push(`${cur}=`);
        cur = '';
      }
      cur += t;
    }
    out.push(cur);
  }
  return out.join(CRLF);
}

export function buildEml(m: EmlInput): string {
  const from = checkAddress(m.from, 'sender');
  if (m.to.length === 0) throw new InputError('A notice needs at least one recipient.', { code: 'notice.address' });
  const to = m.to.map((a) => checkAddress(a, 'recipient'));
  const id = m.messageId.replace(/^<|>$/g, '');
  if (!MSG_ID.test(id)) {
    throw new InputError(`The Message-ID ${JSON.stringify(m.messageId)} is not of the form <left@right>.`, { code: 'notice.message-id' });
  }
  const headers = [
    `Date: ${rfc5322Date(m.date)}`,
    `From: ${from}`,
    addressList('To', to),
    headerLine('Subject', m.subject),
    `Message-ID: <${id}>`,
    // RFC 3834: no vacation or out-of-office replies to a machine.
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
  ];
  let body = quotedPrintable(m.text);
  if (!body.endsWith(CRLF)) body += CRLF;
  return `${headers.join(CRLF)}${CRLF}${CRLF}${body}`;
}
