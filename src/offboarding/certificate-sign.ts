import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InputError, VerificationError } from '../errors.js';
import { canonicalBytes, certificateId, CERTIFICATE_VERSIONS, type Certificate, type SignedCertificate } from './certificate.js';
import { decodeProtectedHeader, ed25519KeyId, signDetachedEdDsa, verifyDetachedEdDsa } from '../crypto/jws.js';

/** Signing a certificate with the issuer's Ed25519 key, and verifying one, offline. */

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function loadSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new InputError(`The certificate signing key cannot be read: ${(e as Error).message}`, {
      code: 'key.unreadable',
      actions: ['Point certificates.signingKey at an Ed25519 private key in PEM (detailee init makes one).'],
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InputError(`The certificate signing key is ${key.asymmetricKeyType}, not Ed25519.`, {
      code: 'key.type',
      actions: ['Generate an Ed25519 key: openssl genpkey -algorithm ed25519'],
    });
  }
  return key;
}

export function signCertificate(cert: Certificate, ed25519PrivateKeyPem: string): SignedCertificate {
  const key = loadSigningKey(ed25519PrivateKeyPem);
  const pub = createPublicKey(key);
  const bytes = canonicalBytes(cert);
  return {
    certificate: cert,
    signature: signDetachedEdDsa(bytes, key, ed25519KeyId(pub)),
    publicKey: pub.export({ type: 'spki', format: 'pem' }).toString(),
    hash: sha256Hex(bytes),
  };
}

/** The bytes of `<id>.json`, also attached inside the PDF: one serialisation, so both are the same file. */
export function serializeSignedCertificate(signed: SignedCertificate): string {
  return `${JSON.stringify(signed, null, 2)}\n`;
}

export function certificateFileName(signed: SignedCertificate, ext: 'json' | 'pdf' | 'md' = 'json'): string {
  return `${signed.certificate.id}.${ext}`;
}

export function generateSigningKey(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

function fail(code: string, message: string, action: string): VerificationError {
  return new VerificationError(message, { code, actions: [action] });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function readPublicKey(pem: string, what: string, code: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw fail(code, `${what} is not a readable public key.`, 'Pass the PEM public key of the certificate signer.');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw fail(code, `${what} is ${key.asymmetricKeyType}, not Ed25519.`, 'Pass the Ed25519 public key of the certificate signer.');
  }
  return key;
}

/**
 * Check a signed certificate offline. Without a trusted key this proves only that the document is
 * intact and self-consistent (anyone can sign with a key of their own); with one (`--key`) it also
 * proves who signed it. Every failure is a rejection with a VerificationError (exit 3) naming what
 * failed. Asynchronous because jose checks the signature (src/crypto/jws.ts).
 */
export async function verifySignedCertificate(doc: unknown, trustedPublicKeyPem?: string): Promise<{ certificate: Certificate; hash: string; keyId: string }> {
  const notCert = 'Pass a certificate written by `detailee offboard` (<id>.json or the PDF).';
  if (!isRecord(doc) || !isRecord(doc.certificate) || !isRecord(doc.signature) || typeof doc.publicKey !== 'string' || typeof doc.hash !== 'string') {
    throw fail('certificate.format', 'This is not a signed detailee certificate (certificate, signature, publicKey and hash are required).', notCert);
  }
  const cert = doc.certificate;
  const sig = doc.signature;
  if (!(CERTIFICATE_VERSIONS as readonly unknown[]).includes(cert.certificateVersion)) {
    throw fail('certificate.version', `Unknown certificate version ${JSON.stringify(cert.certificateVersion)}; expected one of ${CERTIFICATE_VERSIONS.join(', ')}.`, notCert);
  }
  if (typeof sig.protected !== 'string' || typeof sig.signature !== 'string') {
    throw fail('certificate.format', 'The certificate signature is not a detached JWS (protected, signature).', notCert);
  }
  let bytes: Buffer;
  try {
    bytes = canonicalBytes(cert);
  } catch {
    throw fail('certificate.format', 'The certificate content cannot be canonicalised (RFC 8785).', notCert);
  }
  const hash = sha256Hex(bytes);
  if (hash !== doc.hash) {
    throw fail('certificate.hash', `The certificate content does not match its recorded hash (recorded ${doc.hash}, computed ${hash}): it was altered.`, 'Obtain the original certificate from the issuing office.');
  }
  const { id: claimedId, ...content } = cert;
  const isAssignment = isRecord(content.assignment) && typeof content.assignment.id === 'string';
  if (!isAssignment || claimedId !== certificateId(content as Omit<Certificate, 'id'>)) {
    throw fail('certificate.id', `The certificate id ${JSON.stringify(claimedId)} does not derive from its content: it was altered.`, 'Obtain the original certificate from the issuing office.');
  }
  const header = decodeProtectedHeader(sig.protected);
  if (!header || header.alg !== 'EdDSA' || typeof header.kid !== 'string') {
    throw fail('certificate.signature', 'The signature header is not an EdDSA JWS header with a key id.', notCert);
  }
  const embedded = readPublicKey(doc.publicKey, 'The embedded public key', 'certificate.key');
  const embeddedId = ed25519KeyId(embedded);
  if (header.kid !== embeddedId) {
    throw fail('certificate.key-id', `The signature names key ${header.kid} but the embedded key is ${embeddedId}.`, 'Obtain the original certificate from the issuing office.');
  }
  let verifier = embedded;
  if (trustedPublicKeyPem !== undefined) {
    const trusted = readPublicKey(trustedPublicKeyPem, 'The trusted key (--key)', 'certificate.trusted-key');
    const trustedId = ed25519KeyId(trusted);
    if (trustedId !== embeddedId) {
      throw fail('certificate.untrusted-key', `The certificate was signed by key ${embeddedId}, not by the trusted key ${trustedId}.`, 'Check that --key is the issuing office\'s certificate signing key; otherwise treat the certificate as forged.');
    }
    verifier = trusted;
  }
  if (!(await verifyDetachedEdDsa(bytes, { protected: sig.protected, signature: sig.signature }, verifier))) {
    throw fail('certificate.signature', `The signature does not verify with key ${embeddedId}: the certificate or its signature was altered.`, 'Obtain the original certificate from the issuing office.');
  }
  return { certificate: cert as unknown as Certificate, hash, keyId: embeddedId };
}
