/**
 * JWS with a detached payload (RFC 7515 §7.2, Appendix F): assignment signatures (General or
 * Flattened JSON Serialization, one entry per signer, EdDSA or ES256) and the signature of
 * certificates (flattened, EdDSA). jose does the base64url, decodes protected headers and verifies
 * every signature, of assignments and of certificates. What is accepted is decided here first, each
 * refusal with its own reason, so jose only ever sees a JWS we already allow and can only narrow
 * what passes, never widen it.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import * as base64url from 'jose/base64url';
import { decodeProtectedHeader as joseProtectedHeader } from 'jose/decode/protected_header';
import type * as joseFlattened from 'jose/jws/flattened/verify';
import type { SignatureFile, EntryResult } from '../assignment/signature-file.js';
import type { TrustConfig } from '../config/schema.js';
import { InputError } from '../errors.js';
import { readBoundedFile } from '../text-file.js';

type Alg = 'EdDSA' | 'ES256';

/** A JWS with detached payload (flattened, §7.2.2): the payload travels beside it. */
export interface DetachedJws {
  protected: string;
  signature: string;
}

export interface JwsHeader {
  alg: string;
  kid?: string;
  [k: string]: unknown;
}

interface JwsEntry {
  protected: string;
  signature: string;
  header?: unknown;
}

// jose's decoder also takes padding and whitespace; a JWS member is plain unpadded base64url.
const B64URL = /^[A-Za-z0-9_-]+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The bytes, or undefined when the value is not a base64url string. */
function fromBase64url(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !B64URL.test(value)) return undefined;
  try {
    return base64url.decode(value);
  } catch {
    return undefined;
  }
}

/** The protected header, or undefined when it is not base64url-encoded UTF-8 JSON of an object. */
function headerOf(protectedB64: unknown): Record<string, unknown> | undefined {
  if (typeof protectedB64 !== 'string' || !B64URL.test(protectedB64)) return undefined;
  try {
    return joseProtectedHeader({ protected: protectedB64 }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The protected header, or undefined when it is not base64url JSON with a string alg. */
export function decodeProtectedHeader(protectedB64: string): JwsHeader | undefined {
  const h = headerOf(protectedB64);
  return h !== undefined && typeof h.alg === 'string' ? (h as JwsHeader) : undefined;
}

/**
 * Why a header's alg or extensions are refused, or undefined. jose is given the alg as its only
 * allowed algorithm, but its own allow-list cannot say why, and it honours `crit: ["b64"]` with
 * `b64: false` (RFC 7797), which we refuse: no extension is implemented here (RFC 7515 §4.1.11).
 */
function headerRefusal(header: Record<string, unknown>): string | undefined {
  const alg = header.alg;
  if (alg === 'none') return 'alg "none" (an unsigned JWS) is not accepted';
  if (typeof alg === 'string' && /^HS\d+$/.test(alg)) return `alg "${alg}" (a shared-secret MAC, not a signature) is not accepted`;
  if (alg !== 'EdDSA' && alg !== 'ES256') return `alg ${JSON.stringify(alg)} is not accepted; only EdDSA and ES256 are`;
  if ('crit' in header) return 'the "crit" header is not accepted: no JWS extensions are supported';
  if ('b64' in header && header.b64 !== true) return 'an unencoded payload ("b64": false) is not accepted';
  return undefined;
}

/** The key type an alg requires, so a P-256 key can never be used under EdDSA or the reverse. */
function keyFits(alg: Alg, key: KeyObject): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

function keyDescription(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec') return `EC ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim();
  return key.asymmetricKeyType ?? key.type;
}

function signingInput(protectedB64: string, payload: Uint8Array): Buffer {
  return Buffer.from(`${protectedB64}.${base64url.encode(payload)}`, 'ascii');
}

/**
 * Signing stays on node:crypto: jose signs only asynchronously (WebCrypto), and signing an
 * assignment (signJws) or a certificate (signDetachedEdDsa) is synchronous for its callers, some
 * seventy of them, most in tests. node:crypto makes the same raw signatures (Ed25519, ES256 as
 * r||s), and jose verifies them (test/unit/jws.test.ts); every verification is jose's.
 */
function rawSign(alg: Alg, protectedB64: string, payload: Uint8Array, key: KeyObject): string {
  const input = signingInput(protectedB64, payload);
  return base64url.encode(alg === 'EdDSA' ? sign(null, input, key) : sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }));
}

function protectedHeader(alg: Alg, kid: string): string {
  return base64url.encode(JSON.stringify({ alg, kid }));
}

/**
 * The entries of a JWS document, or why the document as a whole is refused.
 * A flattened serialization (§7.2.2) is read as a general one with a single entry.
 */
function entriesOf(text: string): JwsEntry[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
  if (!isObject(doc)) return 'a JWS must be a JSON object';
  if ('payload' in doc && doc.payload !== '') {
    return 'the JWS embeds a payload; only detached signatures (no payload member) over the manifest file are accepted';
  }
  if ('signatures' in doc) {
    if ('protected' in doc || 'signature' in doc) return 'the JWS mixes general and flattened serialization';
    if (!Array.isArray(doc.signatures)) return 'the JWS "signatures" member is not a list';
    return doc.signatures as JwsEntry[];
  }
  if ('signature' in doc) return [doc as unknown as JwsEntry];
  return 'the JWS has no "signatures" member';
}

interface Verification {
  payloadB64: string;
  trust: TrustConfig;
  keys: Map<string, KeyObject | string>;
  flattenedVerify: typeof joseFlattened.flattenedVerify;
}

/** jose's verifier, loaded on first use, not at start-up: most commands verify no signature. */
async function joseFlattenedVerify(): Promise<typeof joseFlattened.flattenedVerify> {
  return (await import('jose/jws/flattened/verify')).flattenedVerify;
}

function publicKeyAt(path: string, kid: string, keys: Map<string, KeyObject | string>): KeyObject | string {
  let key = keys.get(path);
  if (key === undefined) {
    try {
      key = createPublicKey(readBoundedFile(path, 'public key'));
    } catch (e) {
      key = `cannot read public key ${path} of signer "${kid}": ${(e as Error).message}`;
    }
    keys.set(path, key);
  }
  return key;
}

async function verifyEntry(entry: unknown, v: Verification): Promise<EntryResult> {
  if (!isObject(entry)) return { ok: false, reason: 'a signature entry is not a JSON object' };
  const header = headerOf(entry.protected);
  if (!header) return { ok: false, reason: 'the protected header is missing or is not base64url-encoded JSON' };
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') return { ok: false, reason: 'the protected header has no kid naming the signer' };
  const who = kid;
  // Unprotected parameters could be swapped without breaking the signature; everything that matters must be signed.
  if (entry.header !== undefined && !(isObject(entry.header) && Object.keys(entry.header).length === 0)) {
    return { ok: false, who, reason: 'unprotected header parameters are not accepted; alg and kid belong in the protected header' };
  }
  const refusal = headerRefusal(header);
  if (refusal !== undefined) return { ok: false, who, reason: refusal };
  const alg = header.alg as Alg;
  const sig = fromBase64url(entry.signature);
  if (!sig) return { ok: false, who, reason: 'the signature is missing or is not base64url' };
  if (sig.length !== 64) return { ok: false, who, reason: `an ${alg} signature is 64 bytes; this one is ${sig.length}${alg === 'ES256' ? ' (ES256 is raw r||s, not DER)' : ''}` };

  const named = v.trust.signers.filter((s) => s.name === kid);
  if (named.length === 0) return { ok: false, who, reason: `kid "${kid}" is not a trusted signer` };
  const withKey = named.filter((s) => s.publicKey !== undefined);
  if (withKey.length === 0) return { ok: false, who, reason: `trusted signer "${kid}" is configured by certificate, so it can sign only in CMS form` };

  const jws = { protected: entry.protected as string, payload: v.payloadB64, signature: entry.signature as string };
  const verified = [];
  let problem: string | undefined;
  for (const s of withKey) {
    const key = publicKeyAt(s.publicKey!, kid, v.keys);
    if (typeof key === 'string') {
      problem ??= key;
      continue;
    }
    if (!keyFits(alg, key)) {
      problem ??= `alg ${alg} does not match signer "${kid}"'s ${keyDescription(key)} key`;
      continue;
    }
    try {
      await v.flattenedVerify(jws, key, { algorithms: [alg] });
      verified.push(s);
    } catch {
      // A refusal by jose, whatever its reason, leaves this key unverified: fail closed.
    }
  }
  if (verified.length > 0) return { ok: true, who, candidates: verified };
  return {
    ok: false,
    who,
    reason: problem ?? `the signature does not verify over these manifest bytes (the file changed after signing, or another key signed it)`,
  };
}

/** One result per entry, or a single failure for a file that is not a usable detached JWS. */
export async function verifyJwsFile(payload: Uint8Array, file: SignatureFile, trust: TrustConfig): Promise<EntryResult[]> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    return [{ ok: false, reason: 'not UTF-8 text, so not a JWS' }];
  }
  const entries = entriesOf(text);
  if (typeof entries === 'string') return [{ ok: false, reason: entries }];
  if (entries.length === 0) return [{ ok: false, reason: 'the JWS has an empty signatures list' }];
  const v: Verification = { payloadB64: base64url.encode(payload), trust, keys: new Map(), flattenedVerify: await joseFlattenedVerify() };
  const results: EntryResult[] = [];
  for (const e of entries) results.push(await verifyEntry(e, v));
  return results;
}

export function signJws(payload: Uint8Array, existing: string | undefined, keyPem: string, kid: string): string {
  if (kid === '' || kid.trim() !== kid) {
    throw new InputError(`The kid ${JSON.stringify(kid)} is not a signer name.`, { code: 'signature.kid', actions: ['Pass --kid with the signer name as listed in trust.signers.'] });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new InputError(`The signing key is not a readable unencrypted private key: ${(e as Error).message}`, {
      code: 'key.invalid',
      actions: ['Pass a PKCS#8 PEM private key (Ed25519 or P-256), e.g. from `openssl genpkey -algorithm ed25519`.'],
    });
  }
  const alg: Alg | undefined = keyFits('EdDSA', key) ? 'EdDSA' : keyFits('ES256', key) ? 'ES256' : undefined;
  if (!alg) {
    throw new InputError(`A ${keyDescription(key)} key cannot sign an assignment; only Ed25519 (EdDSA) and P-256 (ES256) keys can.`, {
      code: 'key.unsupported',
      actions: ['Generate an Ed25519 key: openssl genpkey -algorithm ed25519 -out signer.key.pem'],
    });
  }

  let entries: unknown[] = [];
  if (existing !== undefined) {
    const parsed = entriesOf(existing);
    if (typeof parsed === 'string') {
      throw new InputError(`The existing signature file cannot be added to: ${parsed}.`, {
        code: 'signature.unreadable',
        actions: ['Move the existing file aside, or pass --out to write a new one.'],
      });
    }
    entries = parsed;
  }

  const protectedB64 = protectedHeader(alg, kid);
  const entry = { protected: protectedB64, signature: rawSign(alg, protectedB64, payload, key) };

  // Re-signing replaces the signer's entry in place, so a signer can refresh a signature without
  // leaving an old, now-failing one behind that would make the whole file fail closed.
  const sameKid = (e: unknown): boolean => isObject(e) && headerOf(e.protected)?.kid === kid;
  const at = entries.findIndex(sameKid);
  const out = at === -1 ? [...entries, entry] : entries.flatMap((e, i) => (i === at ? [entry] : sameKid(e) ? [] : [e]));
  return `${JSON.stringify({ signatures: out }, null, 2)}\n`;
}

/** The 32-byte Ed25519 public key, the same bytes a JWK's `x` holds. */
function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 public key');
  return base64url.decode(jwk.x);
}

/** `sha256:<hex>` of the raw public key: names the signer without trusting anything in the file. */
export function ed25519KeyId(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(rawEd25519PublicKey(key)).digest('hex')}`;
}

export function signDetachedEdDsa(payload: Uint8Array, privateKey: KeyObject, kid: string): DetachedJws {
  const protectedB64 = protectedHeader('EdDSA', kid);
  return { protected: protectedB64, signature: rawSign('EdDSA', protectedB64, payload, privateKey) };
}

/**
 * False unless an EdDSA header our rules accept, an Ed25519 key and a 64-byte base64url signature
 * are given, and jose, with EdDSA as its only allowed algorithm, verifies the signature.
 */
export async function verifyDetachedEdDsa(payload: Uint8Array, jws: DetachedJws, publicKey: KeyObject): Promise<boolean> {
  const header = headerOf(jws.protected);
  if (header?.alg !== 'EdDSA' || headerRefusal(header) !== undefined || !keyFits('EdDSA', publicKey)) return false;
  const sig = fromBase64url(jws.signature);
  if (sig?.length !== 64) return false;
  const flattenedVerify = await joseFlattenedVerify();
  try {
    await flattenedVerify({ protected: jws.protected, payload: base64url.encode(payload), signature: jws.signature }, publicKey, { algorithms: ['EdDSA'] });
    return true;
  } catch {
    // A refusal by jose, whatever its reason, is a signature that does not verify: fail closed.
    return false;
  }
}
