import { createHash, sign, verify, type KeyObject } from 'node:crypto';

/** A JWS with detached payload (RFC 7515 §7.2.2 flattened, Appendix F): the payload travels beside it. */
export interface DetachedJws {
  protected: string;
  signature: string;
}

export interface JwsHeader {
  alg: string;
  kid?: string;
  [k: string]: unknown;
}

/** The 32-byte Ed25519 public key, the same bytes any JOSE library puts in a JWK's `x`. */
function rawEd25519PublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

/** `sha256:<hex>` of the raw public key: names the signer without trusting anything in the file. */
export function ed25519KeyId(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(rawEd25519PublicKey(key)).digest('hex')}`;
}

function signingInput(protectedB64: string, payload: Uint8Array): Buffer {
  return Buffer.from(`${protectedB64}.${Buffer.from(payload).toString('base64url')}`, 'ascii');
}

export function signDetachedEdDsa(payload: Uint8Array, privateKey: KeyObject, kid: string): DetachedJws {
  const header: JwsHeader = { alg: 'EdDSA', kid };
  const protectedB64 = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
  const signature = sign(null, signingInput(protectedB64, payload), privateKey).toString('base64url');
  return { protected: protectedB64, signature };
}

/** The protected header, or undefined when it is not base64url JSON. */
export function decodeProtectedHeader(protectedB64: string): JwsHeader | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(protectedB64)) return undefined;
  try {
    const h = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8')) as unknown;
    if (h === null || typeof h !== 'object' || Array.isArray(h) || typeof (h as JwsHeader).alg !== 'string') return undefined;
    return h as JwsHeader;
  } catch {
    return undefined;
  }
}

export function verifyDetachedEdDsa(payload: Uint8Array, jws: DetachedJws, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(jws.signature)) return false;
  try {
    return verify(null, signingInput(jws.protected, payload), publicKey, Buffer.from(jws.signature, 'base64url'));
  } catch {
    return false;
  }
}
