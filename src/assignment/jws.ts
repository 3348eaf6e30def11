/**
 * JWS with a detached payload (RFC 7515 §7.2 General JSON Serialization, Appendix F), one entry per
 * signer. Only node:crypto: the rules are few and each refusal below is deliberate, which a general
 * JOSE library would make harder to see.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { TrustConfig } from '../config/schema.js';
import { InputError } from '../errors.js';
import { readBoundedFile } from '../text-file.js';
import type { EntryResult, SignatureFile } from './signature-file.js';

type Alg = 'EdDSA' | 'ES256';

interface JwsEntry {
  protected: string;
  signature: string;
  header?: unknown;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function signingInput(protectedB64: string, payload: Uint8Array): Buffer {
  return Buffer.from(`${protectedB64}.${Buffer.from(payload).toString('base64url')}`, 'ascii');
}

function decodeHeader(protectedB64: unknown): Record<string, unknown> | undefined {
  if (typeof protectedB64 !== 'string' || !B64URL.test(protectedB64)) return undefined;
  try {
    const h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(protectedB64, 'base64url'))) as unknown;
    return h !== null && typeof h === 'object' && !Array.isArray(h) ? (h as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
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

function verifyEntry(payload: Uint8Array, entry: unknown, trust: TrustConfig, keys: Map<string, KeyObject | string>): EntryResult {
  if (!isObject(entry)) return { ok: false, reason: 'a signature entry is not a JSON object' };
  const header = decodeHeader(entry.protected);
  if (!header) return { ok: false, reason: 'the protected header is missing or is not base64url-encoded JSON' };
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') return { ok: false, reason: 'the protected header has no kid naming the signer' };
  const who = kid;
  // Unprotected parameters could be swapped without breaking the signature; everything that matters must be signed.
  if (entry.header !== undefined && !(isObject(entry.header) && Object.keys(entry.header).length === 0)) {
    return { ok: false, who, reason: 'unprotected header parameters are not accepted; alg and kid belong in the protected header' };
  }
  const alg = header.alg;
  if (alg === 'none') return { ok: false, who, reason: 'alg "none" (an unsigned JWS) is not accepted' };
  if (typeof alg === 'string' && /^HS\d+$/.test(alg)) return { ok: false, who, reason: `alg "${alg}" (a shared-secret MAC, not a signature) is not accepted` };
  if (alg !== 'EdDSA' && alg !== 'ES256') return { ok: false, who, reason: `alg ${JSON.stringify(alg)} is not accepted; only EdDSA and ES256 are` };
  // We implement no extensions, so any critical one must be refused (RFC 7515 §4.1.11).
  if ('crit' in header) return { ok: false, who, reason: 'the "crit" header is not accepted: no JWS extensions are supported' };
  if ('b64' in header && header.b64 !== true) return { ok: false, who, reason: 'an unencoded payload ("b64": false) is not accepted' };
  if (typeof entry.signature !== 'string' || !B64URL.test(entry.signature)) return { ok: false, who, reason: 'the signature is missing or is not base64url' };
  const sig = Buffer.from(entry.signature, 'base64url');
  if (sig.length !== 64) return { ok: false, who, reason: `an ${alg} signature is 64 bytes; this one is ${sig.length}${alg === 'ES256' ? ' (ES256 is raw r||s, not DER)' : ''}` };

  const named = trust.signers.filter((s) => s.name === kid);
  if (named.length === 0) return { ok: false, who, reason: `kid "${kid}" is not a trusted signer` };
  const withKey = named.filter((s) => s.publicKey !== undefined);
  if (withKey.length === 0) return { ok: false, who, reason: `trusted signer "${kid}" is configured by certificate, so it can sign only in CMS form` };

  const input = signingInput(entry.protected as string, payload);
  const verified = [];
  let problem: string | undefined;
  for (const s of withKey) {
    const path = s.publicKey!;
    let key = keys.get(path);
    if (key === undefined) {
      try {
        key = createPublicKey(readBoundedFile(path, 'public key'));
      } catch (e) {
        key = `cannot read public key ${path} of signer "${kid}": ${(e as Error).message}`;
      }
      keys.set(path, key);
    }
    if (typeof key === 'string') {
      problem ??= key;
      continue;
    }
    if (!keyFits(alg, key)) {
      problem ??= `alg ${alg} does not match signer "${kid}"'s ${keyDescription(key)} key`;
      continue;
    }
    const ok = alg === 'EdDSA' ? verify(null, input, key, sig) : verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
    if (ok) verified.push(s);
  }
  if (verified.length > 0) return { ok: true, who, candidates: verified };
  return {
    ok: false,
    who,
    reason: problem ?? `the signature does not verify over these manifest bytes (the file changed after signing, or another key signed it)`,
  };
}

/** One result per entry, or a single failure for a file that is not a usable detached JWS. */
export function verifyJwsFile(payload: Uint8Array, file: SignatureFile, trust: TrustConfig): EntryResult[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    return [{ ok: false, reason: 'not UTF-8 text, so not a JWS' }];
  }
  const entries = entriesOf(text);
  if (typeof entries === 'string') return [{ ok: false, reason: entries }];
  if (entries.length === 0) return [{ ok: false, reason: 'the JWS has an empty signatures list' }];
  const keys = new Map<string, KeyObject | string>();
  return entries.map((e) => verifyEntry(payload, e, trust, keys));
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

  const protectedB64 = Buffer.from(JSON.stringify({ alg, kid }), 'utf8').toString('base64url');
  const input = signingInput(protectedB64, payload);
  const signature = (alg === 'EdDSA' ? sign(null, input, key) : sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })).toString('base64url');
  const entry = { protected: protectedB64, signature };

  // Re-signing replaces the signer's entry in place, so a signer can refresh a signature without
  // leaving an old, now-failing one behind that would make the whole file fail closed.
  const sameKid = (e: unknown): boolean => isObject(e) && decodeHeader(e.protected)?.kid === kid;
  const at = entries.findIndex(sameKid);
  const out = at === -1 ? [...entries, entry] : entries.flatMap((e, i) => (i === at ? [entry] : sameKid(e) ? [] : [e]));
  return `${JSON.stringify({ signatures: out }, null, 2)}\n`;
}
