/**
 * Test PKI: CAs, leaves and CRLs with validity dates chosen by the test (never relative to the real
 * clock, so results do not change with the day the suite runs), Ed25519/P-256 JWS keys, and a
 * wrapper around the real `openssl cms -sign` to prove interop with what openssl and PIV cards emit.
 *
 * Certificates are built with pkijs because OpenSSL 3.0's `x509`/`req` cannot set an explicit
 * notBefore; `openssl ca` can, but needs a CA database for every test.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** The clock the signature tests run at; every default validity window below contains it. */
export const FIXED_NOW = new Date('2025-03-01T12:00:00Z');

type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'];
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as EngineCrypto });
type CryptoKey = webcrypto.CryptoKey;

type CertKeyType = 'rsa' | 'p256';
type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign';
const KEY_USAGE_BITS: KeyUsageName[] = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign'];

export interface IssuedCert {
  cert: pkijs.Certificate;
  der: Uint8Array;
  /** PEM certificate file. */
  certPath: string;
  /** PKCS#8 PEM private key file (openssl reads it). */
  keyPath: string;
  privateKey: CryptoKey;
  /** RFC 4514, most specific first: what `trust.signers[].certificateSubject` takes. */
  subject: string;
  /** Hex SHA-256 over the DER certificate: what `trust.signers[].certificateSha256` takes. */
  sha256: string;
  serialHex: string;
}

export interface CertOptions {
  /** RFC 4514 string, most specific first, e.g. "CN=Alan Turing,O=Example,C=US" (no escapes). */
  subject: string;
  /** Omit for a self-signed certificate. */
  issuer?: IssuedCert;
  notBefore?: Date;
  notAfter?: Date;
  ca?: boolean;
  pathLen?: number;
  /** null = no keyUsage extension. Default: CA → keyCertSign+cRLSign, leaf → digitalSignature+nonRepudiation. */
  keyUsage?: KeyUsageName[] | null;
  keyType?: CertKeyType;
  /** Extended key usage purposes (OIDs); omitted = no extKeyUsage extension. */
  extKeyUsage?: string[];
}

/** Extended key usage purposes the signer rules name. */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  documentSigning: '1.3.6.1.5.5.7.3.36',
  pivContentSigning: '2.16.840.1.101.3.6.7',
  any: '2.5.29.37.0',
} as const;

function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function nameFrom(rfc4514: string): pkijs.RelativeDistinguishedNames {
  const types: Record<string, string> = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8' };
  // RFC 4514 lists the most specific RDN first; the DER Name holds it last.
  const parts = rfc4514.split(',').map((p) => p.trim()).reverse();
  const rdns = parts.map((p) => {
    const [t, ...rest] = p.split('=');
    const oid = types[(t ?? '').trim().toUpperCase()];
    if (!oid) throw new Error(`test helper: unsupported attribute in ${p}`);
    const value = rest.join('=');
    const atv = new pkijs.AttributeTypeAndValue({
      type: oid,
      value: oid === '2.5.4.6' ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value }),
    });
    return new asn1js.Set({ value: [atv.toSchema()] });
  });
  // pkijs would put every attribute into one multi-valued RDN; build one RDN per attribute, as CAs do,
  // and hand pkijs the encoding so it re-emits exactly these bytes.
  const der = new asn1js.Sequence({ value: rdns }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}

function keyUsageExtension(usages: KeyUsageName[]): pkijs.Extension {
  const bits = usages.map((u) => KEY_USAGE_BITS.indexOf(u));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(highest < 8 ? 1 : 2);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const unusedBits = (8 - ((highest + 1) % 8)) % 8;
  const bitString = new asn1js.BitString({ valueHex: bytes, unusedBits });
  return new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: bitString.toBER(false) });
}

async function generateKey(type: CertKeyType): Promise<webcrypto.CryptoKeyPair> {
  const alg =
    type === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
      : { name: 'ECDSA', namedCurve: 'P-256' };
  return (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

function randomSerial(): Uint8Array {
  const b = randomBytes(12);
  b[0] = (b[0]! & 0x7f) | 0x10; // positive, and no leading zero byte to trim
  return new Uint8Array(b);
}

/** Issue one certificate (self-signed when no issuer) and write `<name>.crt.pem` and `<name>.key.pem` in dir. */
export async function makeCert(dir: string, name: string, opts: CertOptions): Promise<IssuedCert> {
  const keys = await generateKey(opts.keyType ?? 'p256');
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomSerial();
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  cert.subject = nameFrom(opts.subject);
  cert.issuer = opts.issuer ? nameFrom(opts.issuer.subject) : nameFrom(opts.subject);
  cert.notBefore = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: opts.notBefore ?? new Date('2024-06-01T00:00:00Z') });
  cert.notAfter = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: opts.notAfter ?? new Date('2030-06-01T00:00:00Z') });
  await cert.subjectPublicKeyInfo.importKey(keys.publicKey, engine);
  const extensions: pkijs.Extension[] = [];
  if (opts.ca) {
    const bc = new pkijs.BasicConstraints({ cA: true, ...(opts.pathLen === undefined ? {} : { pathLenConstraint: opts.pathLen }) });
    extensions.push(new pkijs.Extension({ extnID: '2.5.29.19', critical: true, extnValue: bc.toSchema().toBER(false) }));
  }
  const usage = opts.keyUsage === undefined ? (opts.ca ? (['keyCertSign', 'cRLSign'] as KeyUsageName[]) : (['digitalSignature', 'nonRepudiation'] as KeyUsageName[])) : opts.keyUsage;
  if (usage !== null) extensions.push(keyUsageExtension(usage));
  if (opts.extKeyUsage) {
    const eku = new pkijs.ExtKeyUsage({ keyPurposes: opts.extKeyUsage });
    extensions.push(new pkijs.Extension({ extnID: '2.5.29.37', critical: false, extnValue: eku.toSchema().toBER(false) }));
  }
  const ski = createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest();
  extensions.push(new pkijs.Extension({ extnID: '2.5.29.14', critical: false, extnValue: new asn1js.OctetString({ valueHex: ski }).toBER(false) }));
  cert.extensions = extensions;
  await cert.sign(opts.issuer ? opts.issuer.privateKey : keys.privateKey, 'SHA-256', engine);
  const der = new Uint8Array(cert.toSchema().toBER(false));
  const certPath = join(dir, `${name}.crt.pem`);
  const keyPath = join(dir, `${name}.key.pem`);
  writeFileSync(certPath, pem('CERTIFICATE', der));
  writeFileSync(keyPath, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
  return {
    cert,
    der,
    certPath,
    keyPath,
    privateKey: keys.privateKey,
    subject: opts.subject,
    sha256: createHash('sha256').update(der).digest('hex'),
    serialHex: Buffer.from(serial).toString('hex').toUpperCase(),
  };
}

export interface CrlOptions {
  thisUpdate?: Date;
  /** null = a CRL without nextUpdate. */
  nextUpdate?: Date | null;
  /** Sign with this certificate's key instead of the issuer's, to forge a CRL. */
  signWith?: IssuedCert;
  der?: boolean;
}

/** A CRL from `issuer` revoking the given serials; written to `<name>.crl.pem` (or `.crl` with der). Returns its path. */
export async function makeCrl(dir: string, name: string, issuer: IssuedCert, revoked: { serialHex: string; date: Date }[], opts: CrlOptions = {}): Promise<string> {
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = nameFrom(issuer.subject);
  crl.thisUpdate = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: opts.thisUpdate ?? new Date('2024-06-01T00:00:00Z') });
  if (opts.nextUpdate !== null) crl.nextUpdate = new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: opts.nextUpdate ?? new Date('2035-01-01T00:00:00Z') });
  if (revoked.length > 0) {
    crl.revokedCertificates = revoked.map(
      (r) =>
        new pkijs.RevokedCertificate({
          userCertificate: new asn1js.Integer({ valueHex: Buffer.from(r.serialHex, 'hex') }),
          revocationDate: new pkijs.Time({ type: pkijs.TimeType.UTCTime, value: r.date }),
        }),
    );
  }
  await crl.sign((opts.signWith ?? issuer).privateKey, 'SHA-256', engine);
  const der = crl.toSchema().toBER(false);
  const path = join(dir, opts.der ? `${name}.crl` : `${name}.crl.pem`);
  writeFileSync(path, opts.der ? Buffer.from(der) : pem('X509 CRL', der));
  return path;
}

export interface PkiOptions {
  leafSubject?: string;
  leafKeyType?: CertKeyType;
  leafKeyUsage?: KeyUsageName[] | null;
  leafNotBefore?: Date;
  leafNotAfter?: Date;
  /** Revoke the leaf in the intermediate's CRL as of this date. */
  revokeLeafOn?: Date;
  leafExtKeyUsage?: string[];
  /** Make the signing "leaf" a CA certificate (basicConstraints cA), which may never sign. */
  leafCa?: boolean;
}

export interface Pki {
  root: IssuedCert;
  intermediate: IssuedCert;
  leaf: IssuedCert;
  /** The root alone: what `trust.caCertificates` lists. */
  caPath: string;
  /** The intermediate alone: what `openssl cms -sign -certfile` adds to the signature. */
  chainPath: string;
  /** A CRL from the intermediate; it revokes the leaf only when revokeLeafOn is given. */
  crlPath: string;
  /** A CRL from the root, revoking nothing: the intermediate's issuer needs one too. */
  rootCrlPath: string;
  /** Both CRLs: what `trust.crls` lists for a chain whose every issuer is checked. */
  crlPaths: string[];
}

/** Root CA → intermediate CA → signing leaf, with an intermediate CRL, all valid at FIXED_NOW by default. */
export async function makePki(dir: string, opts: PkiOptions = {}): Promise<Pki> {
  const root = await makeCert(dir, 'root', { subject: 'CN=Test Root CA,O=Example Agency,C=US', ca: true, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2040-01-01T00:00:00Z') });
  const intermediate = await makeCert(dir, 'intermediate', {
    subject: 'CN=Test Signing CA,O=Example Agency,C=US',
    issuer: root,
    ca: true,
    pathLen: 0,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2035-01-01T00:00:00Z'),
  });
  const leaf = await makeCert(dir, 'leaf', {
    subject: opts.leafSubject ?? 'CN=Alan Turing,OU=Office of the CISO,O=Example Agency,C=US',
    issuer: intermediate,
    keyType: opts.leafKeyType ?? 'rsa',
    ...(opts.leafKeyUsage === undefined ? {} : { keyUsage: opts.leafKeyUsage }),
    ...(opts.leafNotBefore ? { notBefore: opts.leafNotBefore } : {}),
    ...(opts.leafNotAfter ? { notAfter: opts.leafNotAfter } : {}),
    ...(opts.leafExtKeyUsage ? { extKeyUsage: opts.leafExtKeyUsage } : {}),
    ...(opts.leafCa ? { ca: true } : {}),
  });
  const crlPath = await makeCrl(dir, 'intermediate', intermediate, opts.revokeLeafOn ? [{ serialHex: leaf.serialHex, date: opts.revokeLeafOn }] : []);
  const rootCrlPath = await makeCrl(dir, 'root', root, []);
  return { root, intermediate, leaf, caPath: root.certPath, chainPath: intermediate.certPath, crlPath, rootCrlPath, crlPaths: [rootCrlPath, crlPath] };
}

/** A JWS signing key pair as PEM files: `privatePem` (PKCS#8) and `publicPem` (SPKI) are paths. */
export function makeSigningKey(dir: string, name: string, type: 'ed25519' | 'p256'): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privatePem = join(dir, `${name}.key.pem`);
  const publicPem = join(dir, `${name}.pub.pem`);
  writeFileSync(privatePem, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(publicPem, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privatePem, publicPem };
}

export interface CmsSignOptions {
  /** Output path; default `<payload>.p7s`. */
  out?: string;
  md?: 'sha256' | 'sha384' | 'sha512';
  /** RSA-PSS padding instead of PKCS#1 v1.5 (RSA keys only). */
  pss?: boolean;
}

/**
 * Sign payloadPath with the real `openssl cms -sign -binary` (detached), PEM or DER output.
 * chainPath adds intermediates to the SignedData. Returns the path written.
 */
export function opensslCmsSign(payloadPath: string, certPath: string, keyPath: string, chainPath?: string, der = false, opts: CmsSignOptions = {}): string {
  const out = opts.out ?? `${payloadPath}.p7s`;
  const args = ['cms', '-sign', '-binary', '-md', opts.md ?? 'sha256', '-in', payloadPath, '-signer', certPath, '-inkey', keyPath, '-outform', der ? 'DER' : 'PEM', '-out', out];
  if (chainPath) args.push('-certfile', chainPath);
  if (opts.pss) args.push('-keyopt', 'rsa_padding_mode:pss');
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}
