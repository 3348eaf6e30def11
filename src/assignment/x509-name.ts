/**
 * Distinguished names: RFC 4514 text for messages and config, and a canonical key for matching.
 */
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  // Not in RFC 4514's table, but printed so by OpenSSL; both spellings are accepted in config.
  '2.5.4.5': 'serialNumber',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GN',
  '2.5.4.12': 'title',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '2.5.4.97': 'organizationIdentifier',
};
const TYPE_ALIASES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(SHORT_NAMES).map(([oid, n]) => [n.toUpperCase(), oid])),
  SURNAME: '2.5.4.4',
  GIVENNAME: '2.5.4.42',
  T: '2.5.4.12',
  E: '1.2.840.113549.1.9.1',
  EMAIL: '1.2.840.113549.1.9.1',
  POSTALCODE: '2.5.4.17',
  DNQUALIFIER: '2.5.4.46',
};


export interface Dn {
  /** RFC 4514, most specific RDN first. */
  text: string;
  /** Canonical form: attribute values compared case- and space-insensitively, multi-valued RDNs unordered. */
  key: string;
}

function normValue(v: string): string {
  return v.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}

function escapeValue(v: string): string {
  let out = v.replace(/["+,;<>\\]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

export function children(block: asn1js.AsnType): asn1js.AsnType[] {
  const value = (block.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as asn1js.AsnType[]) : [];
}

function stringOf(block: asn1js.AsnType): string | undefined {
  const vb = (block as { valueBlock?: { value?: unknown } }).valueBlock;
  return typeof vb?.value === 'string' && block instanceof asn1js.BaseStringBlock ? vb.value : undefined;
}


export function dnOf(name: pkijs.RelativeDistinguishedNames): Dn {
  // pkijs flattens multi-valued RDNs, so read the RDN structure from the encoding itself.
  const seq = name.toSchema();
  const rdns: { text: string; key: string }[][] = [];
  for (const set of children(seq)) {
    const atvs: { text: string; key: string }[] = [];
    for (const atv of children(set)) {
      const [typeBlock, valueBlock] = children(atv);
      if (!(typeBlock instanceof asn1js.ObjectIdentifier) || !valueBlock) continue;
      const oid = typeBlock.valueBlock.toString();
      const s = stringOf(valueBlock);
      const hex = `#${Buffer.from(valueBlock.toBER(false)).toString('hex')}`;
      atvs.push({ text: `${SHORT_NAMES[oid] ?? oid}=${s === undefined ? hex : escapeValue(s)}`, key: `${oid}=${s === undefined ? hex : normValue(s)}` });
    }
    rdns.push(atvs);
  }
  rdns.reverse();
  return {
    text: rdns.map((r) => r.map((a) => a.text).join('+')).join(','),
    key: JSON.stringify(rdns.map((r) => r.map((a) => a.key).sort())),
  };
}

/** Canonical key of an RFC 4514 string from config, or undefined when it does not parse. */
export function dnKeyFromString(s: string): string | undefined {
  const rdns: string[][] = [];
  let cur: string[] = [];
  let i = 0;
  const skipSpaces = (): void => {
    while (s[i] === ' ') i++;
  };
  for (;;) {
    skipSpaces();
    const eq = s.indexOf('=', i);
    if (eq === -1) return undefined;
    const typeName = s.slice(i, eq).trim();
    const oid = /^\d+(\.\d+)+$/.test(typeName) ? typeName : TYPE_ALIASES[typeName.toUpperCase()];
    if (!oid) return undefined;
    i = eq + 1;
    skipSpaces();
    let value: string;
    if (s[i] === '#') {
      const m = /^#([0-9a-fA-F]{2})+/.exec(s.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      const der = Buffer.from(m[0].slice(1), 'hex');
      const parsed = asn1js.fromBER(der);
      const str = parsed.offset === der.length ? stringOf(parsed.result) : undefined;
      value = str === undefined ? m[0].toLowerCase() : normValue(str);
    } else {
      const bytes: number[] = [];
      let keep = 0; // length without trailing unescaped spaces, which RFC 4514 does not count
      const quoted = s[i] === '"';
      if (quoted) i++;
      while (i < s.length) {
        const c = s[i]!;
        if (quoted ? c === '"' : c === ',' || c === ';' || c === '+') break;
        if (c === '\\') {
          const pair = /^[0-9a-fA-F]{2}/.exec(s.slice(i + 1, i + 3));
          if (pair) {
            bytes.push(parseInt(pair[0], 16));
            i += 3;
          } else if (i + 1 < s.length) {
            bytes.push(...Buffer.from(s[i + 1]!, 'utf8'));
            i += 2;
          } else return undefined;
          keep = bytes.length;
          continue;
        }
        bytes.push(...Buffer.from(String.fromCodePoint(s.codePointAt(i)!), 'utf8'));
        i += String.fromCodePoint(s.codePointAt(i)!).length;
        if (c !== ' ') keep = bytes.length;
      }
      if (quoted) {
        if (s[i] !== '"') return undefined;
        i++;
        keep = bytes.length;
      }
      try {
        value = normValue(new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes.slice(0, keep))));
      } catch {
        return undefined;
      }
    }
    cur.push(`${oid}=${value}`);
    skipSpaces();
    if (i >= s.length) break;
    const sep = s[i];
    i++;
    if (sep === '+') continue;
    if (sep !== ',' && sep !== ';') return undefined;
    rdns.push(cur.sort());
    cur = [];
  }
  rdns.push(cur.sort());
  return JSON.stringify(rdns);
}
