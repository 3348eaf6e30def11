/**
 * CMS/PKCS#7 detached SignedData, as `openssl cms -sign -binary` or a PIV card produces it.
 *
 * pkijs parses; every signature (CMS, certificate, CRL) is checked with node:crypto against an
 * explicit allow-list of algorithms, and the path is built here rather than by pkijs's chain engine,
 * so that each refusal has a reason an officer can act on and nothing weaker than SHA-256 or
 * RSA-2048 slips through by default.
 */
import { constants, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { TrustConfig, TrustedSigner } from '../config/schema.js';
import { readBoundedFile } from '../validation.js';
import type { EntryResult, SignatureFile } from './signatures.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14',
  mgf1: '1.2.840.113549.1.1.8',
} as const;

const DIGESTS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

type SigScheme = { kind: 'rsa' | 'ecdsa'; hash: string | 'digest' } | { kind: 'pss' } | { kind: 'ed25519' };
/** `digest`: the hash is the SignerInfo's digestAlgorithm, which only CMS supplies. */
const SIGNATURE_ALGORITHMS: Record<string, SigScheme> = {
  '1.2.840.113549.1.1.1': { kind: 'rsa', hash: 'digest' },
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.113549.1.1.10': { kind: 'pss' },
  '1.2.840.10045.2.1': { kind: 'ecdsa', hash: 'digest' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
  '1.3.101.112': { kind: 'ed25519' },
};
const CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/**
 * Extensions whose meaning we enforce or that cannot widen what a certificate may do. RFC 5280
 * requires refusing a certificate with any other extension marked critical.
 */
const UNDERSTOOD_CERT_EXTENSIONS = new Set([
  OID.keyUsage,
  OID.basicConstraints,
  OID.subjectKeyId,
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.32', // certificatePolicies: we require no policy, which is what anyPolicy would give
]);
/** cRLNumber and authorityKeyIdentifier; delta and indirect CRLs (critical extensions) are refused. */
const UNDERSTOOD_CRL_EXTENSIONS = new Set(['2.5.29.20', '2.5.29.35']);
const MAX_CHAIN = 8;

// ---------------------------------------------------------------------------------------------
// Distinguished names: RFC 4514 text for messages and config, and a canonical key for matching.

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

interface Dn {
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

function children(block: asn1js.AsnType): asn1js.AsnType[] {
  const value = (block.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as asn1js.AsnType[]) : [];
}

function stringOf(block: asn1js.AsnType): string | undefined {
  const vb = (block as { valueBlock?: { value?: unknown } }).valueBlock;
  return typeof vb?.value === 'string' && block instanceof asn1js.BaseStringBlock ? vb.value : undefined;
}

function dnOf(name: pkijs.RelativeDistinguishedNames): Dn {
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

// ---------------------------------------------------------------------------------------------
// Parsing

interface Cert {
  c: pkijs.Certificate;
  /** The bytes as received: fingerprints are over these, never over a re-encoding. */
  der: Uint8Array;
  subject: Dn;
  issuer: Dn;
  key: KeyObject | string;
}

function fromDer(der: Uint8Array): asn1js.AsnType {
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1) throw new Error(asn1.result.error || 'not BER/DER');
  if (asn1.offset !== der.length) throw new Error('trailing bytes after the ASN.1 structure');
  return asn1.result;
}

function certOf(der: Uint8Array): Cert {
  const c = new pkijs.Certificate({ schema: fromDer(der) });
  let key: KeyObject | string;
  try {
    key = createPublicKey({ key: Buffer.from(c.subjectPublicKeyInfo.toSchema().toBER(false)), format: 'der', type: 'spki' });
  } catch (e) {
    key = `its public key cannot be read: ${(e as Error).message}`;
  }
  return { c, der, subject: dnOf(c.subject), issuer: dnOf(c.issuer), key };
}

/** The DER bodies of PEM blocks with one of `labels`, or the file itself when it is not PEM. */
function pemOrDer(bytes: Uint8Array, labels: string[]): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN ')) return [bytes];
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    if (!labels.includes(m[1]!)) continue;
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new Error(`the ${m[1]} PEM block is not base64`);
    out.push(new Uint8Array(Buffer.from(body, 'base64')));
  }
  if (out.length === 0) throw new Error(`no ${labels.join(' or ')} PEM block`);
  return out;
}

interface LoadedCrl {
  path: string;
  crl: pkijs.CertificateRevocationList;
  issuer: Dn;
}

interface TrustMaterial {
  anchors: Cert[];
  crls: LoadedCrl[];
  /** Unreadable CA or CRL files: every CMS signature fails while the trust configuration is broken. */
  problems: string[];
}

function loadTrust(trust: TrustConfig): TrustMaterial {
  const anchors: Cert[] = [];
  const crls: LoadedCrl[] = [];
  const problems: string[] = [];
  for (const path of trust.caCertificates) {
    try {
      for (const der of pemOrDer(readBoundedFile(path, 'CA certificate'), ['CERTIFICATE'])) anchors.push(certOf(der));
    } catch (e) {
      problems.push(`trust anchor file ${path} cannot be read: ${(e as Error).message}`);
    }
  }
  for (const path of trust.crls) {
    try {
      for (const der of pemOrDer(readBoundedFile(path, 'CRL'), ['X509 CRL'])) {
        const crl = new pkijs.CertificateRevocationList({ schema: fromDer(der) });
        crls.push({ path, crl, issuer: dnOf(crl.issuer) });
      }
    } catch (e) {
      problems.push(`CRL file ${path} cannot be read: ${(e as Error).message}`);
    }
  }
  if (anchors.length === 0 && problems.length === 0) problems.push('no trust anchors are configured (trust.caCertificates is empty)');
  return { anchors, crls, problems };
}

// ---------------------------------------------------------------------------------------------
// Signatures

/** Undefined when `sig` by `key` over `data` holds under `alg`; otherwise why not. */
function checkSignature(data: Uint8Array, alg: pkijs.AlgorithmIdentifier, sig: Uint8Array, key: KeyObject | string, digestHash?: string): string | undefined {
  if (typeof key === 'string') return key;
  const scheme = SIGNATURE_ALGORITHMS[alg.algorithmId];
  if (!scheme) return `signature algorithm ${alg.algorithmId} is not accepted`;
  const type = key.asymmetricKeyType;
  try {
    if (scheme.kind === 'ed25519') {
      if (type !== 'ed25519') return `an Ed25519 signature cannot come from a ${type} key`;
      return cryptoVerify(null, data, key, sig) ? undefined : 'signature does not verify';
    }
    if (scheme.kind === 'ecdsa') {
      if (type !== 'ec') return `an ECDSA signature cannot come from a ${type} key`;
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      if (!CURVES.has(curve)) return `EC curve ${curve || '(unnamed)'} is not accepted`;
      const hash = scheme.hash === 'digest' ? digestHash : scheme.hash;
      if (!hash) return `signature algorithm ${alg.algorithmId} needs a digest algorithm`;
      return cryptoVerify(hash, data, key, sig) ? undefined : 'signature does not verify';
    }
    if (type !== 'rsa' && type !== 'rsa-pss') return `an RSA signature cannot come from a ${type} key`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) return `an RSA key of ${bits} bits is too weak (2048 or more required)`;
    if (scheme.kind === 'rsa') {
      const hash = scheme.hash === 'digest' ? digestHash : scheme.hash;
      if (!hash) return `signature algorithm ${alg.algorithmId} needs a digest algorithm`;
      return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig) ? undefined : 'signature does not verify';
    }
    const pss = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
    const hash = DIGESTS[pss.hashAlgorithm.algorithmId];
    if (!hash) return `RSA-PSS with hash ${pss.hashAlgorithm.algorithmId} is not accepted`;
    const mgf = pss.maskGenAlgorithm;
    const mgfHash = mgf.algorithmParams ? new pkijs.AlgorithmIdentifier({ schema: mgf.algorithmParams }).algorithmId : '1.3.14.3.2.26';
    // node:crypto's PSS uses MGF1 with the message hash; anything else cannot be checked faithfully.
    if (mgf.algorithmId !== OID.mgf1 || DIGESTS[mgfHash] !== hash) return 'RSA-PSS mask generation other than MGF1 with the same hash is not accepted';
    if (pss.trailerField !== 1) return 'RSA-PSS trailer field other than 1 is not accepted';
    return cryptoVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength }, sig) ? undefined : 'signature does not verify';
  } catch (e) {
    return `signature cannot be checked: ${(e as Error).message}`;
  }
}

function certSignedBy(child: Cert, issuer: Cert): string | undefined {
  if (child.c.signature.algorithmId !== child.c.signatureAlgorithm.algorithmId) return 'its inner and outer signature algorithms differ';
  return checkSignature(child.c.tbsView, child.c.signatureAlgorithm, child.c.signatureValue.valueBlock.valueHexView, issuer.key);
}

// ---------------------------------------------------------------------------------------------
// Path building and checks

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

function extension(c: pkijs.Certificate, oid: string): pkijs.Extension | undefined {
  return c.extensions?.find((e) => e.extnID === oid);
}

function keyUsageBits(c: pkijs.Certificate): boolean[] | undefined {
  const ext = extension(c, OID.keyUsage);
  if (!ext) return undefined;
  const bytes = (ext.parsedValue as asn1js.BitString | undefined)?.valueBlock.valueHexView ?? new Uint8Array();
  return Array.from({ length: 9 }, (_, n) => ((bytes[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0);
}

const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

function sameCert(a: Cert, b: Cert): boolean {
  return Buffer.from(a.der).equals(Buffer.from(b.der));
}

/** Leaf first, trust anchor last; or why no such path exists. */
function buildPath(leaf: Cert, pool: Cert[], anchors: Cert[]): Cert[] | string {
  const path = [leaf];
  let cur = leaf;
  for (;;) {
    if (anchors.some((a) => sameCert(a, cur))) return path;
    const anchor = anchors.find((a) => a.subject.key === cur.issuer.key && certSignedBy(cur, a) === undefined);
    if (anchor) return [...path, anchor];
    let why: string | undefined;
    const next = pool.find((c) => {
      if (c.subject.key !== cur.issuer.key || path.some((p) => sameCert(p, c))) return false;
      const r = certSignedBy(cur, c);
      why ??= r;
      return r === undefined;
    });
    if (!next) {
      if (why) return `certificate ${cur.subject.text} is not validly signed by its issuer ${cur.issuer.text}: ${why}`;
      return cur.subject.key === cur.issuer.key
        ? `chain does not end at a configured trust anchor: it ends at ${cur.subject.text}, which is not in trust.caCertificates`
        : `chain does not end at a configured trust anchor: the issuer ${cur.issuer.text} of ${cur.subject.text} is neither configured nor included in the signature`;
    }
    path.push(next);
    if (path.length > MAX_CHAIN) return `chain is longer than ${MAX_CHAIN} certificates`;
    cur = next;
  }
}

function serialHex(i: asn1js.Integer): string {
  return Buffer.from(i.valueBlock.valueHexView).toString('hex').toUpperCase().replace(/^(00)+(?=.)/, '');
}

/** Every reason the path may not be relied on at `now`, or none. */
function pathProblems(path: Cert[], crls: LoadedCrl[], now: Date): string[] {
  const problems: string[] = [];
  const t = now.getTime();
  path.forEach((cert, i) => {
    const { c } = cert;
    if (t < c.notBefore.value.getTime()) problems.push(`certificate ${cert.subject.text} is not valid until ${isoSeconds(c.notBefore.value)}`);
    if (t > c.notAfter.value.getTime()) problems.push(`certificate ${cert.subject.text} expired on ${isoSeconds(c.notAfter.value)}`);
    const isAnchor = i === path.length - 1 && i > 0;
    // The anchor is trusted because the configuration says so, not for its own extensions.
    if (!isAnchor) {
      for (const e of c.extensions ?? []) {
        if (e.critical && !UNDERSTOOD_CERT_EXTENSIONS.has(e.extnID)) problems.push(`certificate ${cert.subject.text} has an unsupported critical extension ${e.extnID}`);
      }
    }
    const ku = keyUsageBits(c);
    if (i === 0) {
      if (ku && !ku[0] && !ku[1]) {
        const has = KEY_USAGE_NAMES.filter((_, n) => ku[n]).join(', ') || 'none';
        problems.push(`certificate ${cert.subject.text} may not sign documents: its key usage (${has}) has neither digitalSignature nor nonRepudiation`);
      }
      return;
    }
    const bc = extension(c, OID.basicConstraints)?.parsedValue as pkijs.BasicConstraints | undefined;
    if (!isAnchor && !bc?.cA) problems.push(`certificate ${cert.subject.text} is not a CA (basicConstraints), so it may not issue certificates`);
    if (ku && !ku[5]) problems.push(`certificate ${cert.subject.text} may not issue certificates: its key usage lacks keyCertSign`);
    const pathLen = bc?.pathLenConstraint;
    const limit = typeof pathLen === 'number' ? pathLen : pathLen instanceof asn1js.Integer ? pathLen.valueBlock.valueDec : undefined;
    if (limit !== undefined && i - 1 > limit) problems.push(`certificate ${cert.subject.text} allows ${limit} intermediate CA(s) below it; this chain has ${i - 1}`);
  });
  // Revocation of every certificate the anchor vouches for, by CRLs from its own issuer.
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    for (const { path: file, crl, issuer: crlIssuer } of crls) {
      if (crlIssuer.key !== issuer.subject.key) continue;
      if (crl.signature.algorithmId !== crl.signatureAlgorithm.algorithmId) {
        problems.push(`CRL ${file} has differing inner and outer signature algorithms`);
        continue;
      }
      const bad = checkSignature(crl.tbsView, crl.signatureAlgorithm, crl.signatureValue.valueBlock.valueHexView, issuer.key);
      if (bad) {
        // A CRL we cannot authenticate proves nothing either way, so it fails closed rather than passing.
        problems.push(`CRL ${file} is not validly signed by its issuer ${issuer.subject.text}: ${bad}`);
        continue;
      }
      const iku = keyUsageBits(issuer.c);
      if (iku && !iku[6]) problems.push(`CRL ${file} comes from ${issuer.subject.text}, whose key usage lacks cRLSign`);
      for (const e of crl.crlExtensions?.extensions ?? []) {
        if (e.critical && !UNDERSTOOD_CRL_EXTENSIONS.has(e.extnID)) problems.push(`CRL ${file} has an unsupported critical extension ${e.extnID} (delta and indirect CRLs are not supported)`);
      }
      if (t < crl.thisUpdate.value.getTime()) problems.push(`CRL ${file} is not yet in force: issued for ${isoSeconds(crl.thisUpdate.value)}`);
      if (crl.nextUpdate && t > crl.nextUpdate.value.getTime()) {
        problems.push(`CRL ${file} is out of date: its next update was due ${isoSeconds(crl.nextUpdate.value)}; fetch a current CRL`);
      }
      const serial = serialHex(cert.c.serialNumber);
      for (const r of crl.revokedCertificates ?? []) {
        if (r.crlEntryExtensions?.extensions.some((e) => e.critical)) {
          problems.push(`CRL ${file} has an entry with a critical extension, which is not supported`);
          continue;
        }
        if (serialHex(r.userCertificate) === serial) {
          problems.push(`certificate serial ${serial} (${cert.subject.text}) revoked on ${isoSeconds(r.revocationDate.value)} per CRL ${file}`);
        }
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// SignedData

/** The certificates carried in SignedData, with their bytes exactly as they were received. */
function embeddedCerts(signedDataSchema: asn1js.AsnType): Cert[] {
  const out: Cert[] = [];
  for (const el of children(signedDataSchema)) {
    if (el.idBlock.tagClass !== 3 || el.idBlock.tagNumber !== 0) continue;
    for (const item of children(el)) {
      // Other CertificateChoices (attribute certificates, other formats) cannot be path elements.
      if (item.idBlock.tagClass !== 1 || item.idBlock.tagNumber !== 16) continue;
      try {
        out.push(certOf(new Uint8Array(item.valueBeforeDecodeView)));
      } catch {
        // A certificate we cannot parse cannot be part of any path; the signer lookup says so if it mattered.
      }
    }
  }
  return out;
}

function findSignerCert(si: pkijs.SignerInfo, certs: Cert[]): Cert | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
    const issuer = dnOf(si.sid.issuer).key;
    const serial = serialHex(si.sid.serialNumber);
    return certs.find((c) => c.issuer.key === issuer && serialHex(c.c.serialNumber) === serial);
  }
  const sid = si.sid as asn1js.Constructed | asn1js.Primitive;
  const keyId = Buffer.from(
    sid.idBlock.isConstructed
      ? (children(sid)[0]?.valueBlock as { valueHexView?: Uint8Array } | undefined)?.valueHexView ?? []
      : (sid.valueBlock as { valueHexView: Uint8Array }).valueHexView,
  );
  return certs.find((c) => {
    const ski = (extension(c.c, OID.subjectKeyId)?.parsedValue as asn1js.OctetString | undefined)?.valueBlock.valueHexView;
    if (ski && Buffer.from(ski).equals(keyId)) return true;
    return createHash('sha1').update(c.c.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest().equals(keyId);
  });
}

function verifySignerInfo(payload: Uint8Array, sd: pkijs.SignedData, si: pkijs.SignerInfo, certs: Cert[], trust: TrustConfig, material: TrustMaterial, now: Date): EntryResult {
  const leaf = findSignerCert(si, certs);
  if (!leaf) return { ok: false, reason: 'the signer certificate is not included in the signature (sign without -nocerts)' };
  const who = leaf.subject.text;
  const hash = DIGESTS[si.digestAlgorithm.algorithmId];
  if (!hash) return { ok: false, who, reason: `digest algorithm ${si.digestAlgorithm.algorithmId} is not accepted; use SHA-256, SHA-384 or SHA-512` };
  const digest = createHash(hash).update(payload).digest();
  let signed: Uint8Array;
  if (si.signedAttrs) {
    const attrs = si.signedAttrs.attributes;
    const ct = attrs.filter((a) => a.type === OID.contentType);
    const md = attrs.filter((a) => a.type === OID.messageDigest);
    if (ct.length !== 1 || ct[0]!.values.length !== 1 || md.length !== 1 || md[0]!.values.length !== 1) {
      return { ok: false, who, reason: 'the signed attributes must hold exactly one content-type and one message-digest' };
    }
    const ctValue = ct[0]!.values[0] as asn1js.AsnType;
    if (!(ctValue instanceof asn1js.ObjectIdentifier) || ctValue.valueBlock.toString() !== sd.encapContentInfo.eContentType) {
      return { ok: false, who, reason: 'the signed content-type attribute does not match the SignedData content type' };
    }
    const mdValue = md[0]!.values[0] as asn1js.AsnType;
    if (!(mdValue instanceof asn1js.OctetString) || !Buffer.from(mdValue.valueBlock.valueHexView).equals(digest)) {
      return { ok: false, who, reason: 'the message digest does not match these manifest bytes (the file changed after signing)' };
    }
    signed = new Uint8Array(si.signedAttrs.encodedValue);
  } else {
    signed = payload;
  }
  const bad = checkSignature(signed, si.signatureAlgorithm, si.signature.valueBlock.valueHexView, leaf.key, hash);
  if (bad) {
    const reason = bad === 'signature does not verify' ? 'the signature does not verify over these manifest bytes' : bad;
    return { ok: false, who, reason };
  }

  const path = buildPath(leaf, certs.filter((c) => !sameCert(c, leaf)), material.anchors);
  if (typeof path === 'string') return { ok: false, who, reason: path };
  const problems = pathProblems(path, material.crls, now);
  if (problems.length > 0) return { ok: false, who, reason: problems.join('; ') };

  const subjectMatches = (s: TrustedSigner): boolean => s.certificateSubject !== undefined && dnKeyFromString(s.certificateSubject) === leaf.subject.key;
  const sha256 = createHash('sha256').update(leaf.der).digest('hex');
  const candidates = trust.signers.filter((s) => s.certificateSha256?.toLowerCase() === sha256 || subjectMatches(s));
  if (candidates.length === 0) return { ok: false, who, reason: `certificate ${who} (SHA-256 ${sha256}) is not a trusted signer` };
  return { ok: true, who, candidates };
}

/** One result per SignerInfo, or a single failure for a file that is not a usable detached SignedData. */
export async function verifyCmsFile(payload: Uint8Array, file: SignatureFile, trust: TrustConfig, now: Date): Promise<EntryResult[]> {
  let ci: pkijs.ContentInfo;
  let sd: pkijs.SignedData;
  let certs: Cert[];
  if (Buffer.from(file.bytes.subarray(0, 13)).toString('latin1').toLowerCase() === 'mime-version:') {
    return [{ ok: false, reason: 'this is S/MIME, not a bare CMS signature; sign with `openssl cms -sign -binary -outform PEM` (or DER)' }];
  }
  try {
    const [der] = pemOrDer(file.bytes, ['PKCS7', 'CMS']);
    ci = new pkijs.ContentInfo({ schema: fromDer(der!) });
    if (ci.contentType !== OID.signedData) return [{ ok: false, reason: `the CMS content is ${ci.contentType}, not SignedData` }];
    sd = new pkijs.SignedData({ schema: ci.content });
    certs = embeddedCerts(ci.content as asn1js.AsnType);
  } catch (e) {
    return [{ ok: false, reason: `not a readable CMS SignedData: ${(e as Error).message}` }];
  }
  if (sd.encapContentInfo.eContent) return [{ ok: false, reason: 'the SignedData embeds its content; only detached signatures over the manifest file are accepted' }];
  if (sd.encapContentInfo.eContentType !== OID.data) return [{ ok: false, reason: `the signed content type is ${sd.encapContentInfo.eContentType}, not data` }];
  if (sd.signerInfos.length === 0) return [{ ok: false, reason: 'the SignedData has no signers' }];
  const material = loadTrust(trust);
  if (material.problems.length > 0) return [{ ok: false, reason: material.problems.join('; ') }];
  return sd.signerInfos.map((si) => verifySignerInfo(payload, sd, si, certs, trust, material, now));
}
