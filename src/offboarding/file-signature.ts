import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VerificationError } from '../errors.js';
import { ed25519KeyId } from '../crypto/jws.js';

/**
 * Detached signatures over a file's exact bytes: `FILE.sig` holds the 64 raw bytes of a pure
 * Ed25519 signature (RFC 8032), no encoding and no envelope, because that is what
 * `openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in FILE -sigfile FILE.sig`
 * reads. Anyone can then check a certificate or a checkpoint with standard tools alone.
 */
const SIGNATURE_SUFFIX = '.sig';
/** The public half of certificates.signingKey, published in the certificates folder. */
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';
/** An Ed25519 signature is always 64 bytes; anything else is not one. */
const ED25519_SIGNATURE_BYTES = 64;

export function signaturePath(file: string): string {
  return `${file}${SIGNATURE_SUFFIX}`;
}

function asPrivateKey(key: KeyObject | string): KeyObject {
  return typeof key === 'string' ? createPrivateKey(key) : key;
}

/** Raw Ed25519 over `bytes`; the key is checked to be Ed25519 by whoever loaded it. */
export function signFileBytes(bytes: Uint8Array, privateKey: KeyObject | string): Buffer {
  return sign(null, bytes, asPrivateKey(privateKey));
}

/** False for a wrong length as for a wrong signature: the caller names what failed. */
export function verifyFileBytes(bytes: Uint8Array, signature: Uint8Array, publicKey: KeyObject): boolean {
  if (signature.byteLength !== ED25519_SIGNATURE_BYTES) return false;
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  try {
    return verify(null, bytes, pub, signature);
  } catch {
    return false;
  }
}

/**
 * The detached signature beside `file`, or null when there is none. A `.sig` that is there but is
 * not a small regular file is a failed check (exit 3), not bad usage: something stands where the
 * signature should be.
 */
export function readSignatureFile(file: string): Buffer | null {
  const path = signaturePath(file);
  if (!existsSync(path)) return null;
  const st = statSync(path);
  if (!st.isFile() || st.size > 4096) {
    throw new VerificationError(`${path} is not a detached signature (${st.isFile() ? `${st.size} bytes; an Ed25519 signature is ${ED25519_SIGNATURE_BYTES}` : 'not a regular file'}).`, {
      code: 'signature-file.invalid',
      actions: ['Obtain the original file and its .sig from the issuing office.'],
    });
  }
  return readFileSync(path);
}

function publicPem(privateKey: KeyObject | string): string {
  return createPublicKey(asPrivateKey(privateKey)).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Write `signing-key.pub.pem` into `dir`. After a key rotation the previous public key stays
 * beside it as `signing-key.<16 hex of its key id>.pub.pem`, because files signed before the
 * rotation still need it to verify; it is never silently overwritten.
 */
export function publishPublicKey(dir: string, privateKey: KeyObject | string, write: (path: string, data: string) => void = writeFileSync): string {
  const path = join(dir, PUBLIC_KEY_FILE);
  const pem = publicPem(privateKey);
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8');
    if (existing === pem) return path;
    let previousId: string;
    try {
      previousId = ed25519KeyId(createPublicKey(existing)).replace(/^sha256:/, '').slice(0, 16);
    } catch {
      previousId = 'unreadable';
    }
    renameSync(path, join(dir, `signing-key.${previousId}.pub.pem`));
  }
  write(path, pem);
  return path;
}
