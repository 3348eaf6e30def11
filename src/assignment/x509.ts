/**
 * X.509 pieces the CMS verifier shares: parsing certificates as received, and checking a signature
 * with node:crypto against an explicit allow-list of algorithms, so that nothing weaker than
 * SHA-256 or RSA-2048 slips through by default.
 */
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { dnOf, type Dn } from './x509-name.js';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  basicConstraints: '2.5.29.19',
  subjectKeyId: '2.5.29.14',
  mgf1: '1.2.840.113549.1.1.8',
} as const;

export const DIGESTS: Record<string, string> = {
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

export interface Cert {
  c: pkijs.Certificate;
  /** The bytes as received: fingerprints are over these, never over a re-encoding. */
  der: Uint8Array;
  subject: Dn;
  issuer: Dn;
  key: KeyObject | string;
}

export function fromDer(der: Uint8Array): asn1js.AsnType {
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1) throw new Error(asn1.result.error || 'not BER/DER');
  if (asn1.offset !== der.length) throw new Error('trailing bytes after the ASN.1 structure');
  return asn1.result;
}

export function certOf(der: Uint8Array): Cert {
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
export function pemOrDer(bytes: Uint8Array, labels: string[]): Uint8Array[] {
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

/** Undefined when `sig` by `key` over `data` holds under `alg`; otherwise why not. */
export function checkSignature(data: Uint8Array, alg: pkijs.AlgorithmIdentifier, sig: Uint8Array, key: KeyObject | string, digestHash?: string): string | undefined {
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

export function certSignedBy(child: Cert, issuer: Cert): string | undefined {
  if (child.c.signature.algorithmId !== child.c.signatureAlgorithm.algorithmId) return 'its inner and outer signature algorithms differ';
  return checkSignature(child.c.tbsView, child.c.signatureAlgorithm, child.c.signatureValue.valueBlock.valueHexView, issuer.key);
}

export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

export function extension(c: pkijs.Certificate, oid: string): pkijs.Extension | undefined {
  return c.extensions?.find((e) => e.extnID === oid);
}

export function keyUsageBits(c: pkijs.Certificate): boolean[] | undefined {
  const ext = extension(c, OID.keyUsage);
  if (!ext) return undefined;
  const bytes = (ext.parsedValue as asn1js.BitString | undefined)?.valueBlock.valueHexView ?? new Uint8Array();
  return Array.from({ length: 9 }, (_, n) => ((bytes[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0);
}

export const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

export function sameCert(a: Cert, b: Cert): boolean {
  return Buffer.from(a.der).equals(Buffer.from(b.der));
}


export function serialHex(i: asn1js.Integer): string {
  return Buffer.from(i.valueBlock.valueHexView).toString('hex').toUpperCase().replace(/^(00)+(?=.)/, '');
}

