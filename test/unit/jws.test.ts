import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlattenedSign, GeneralSign, flattenedVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrustConfig } from '../../src/config/schema.js';
import { signDetachedEdDsa, signJws, verifyDetachedEdDsa, verifyJwsFile } from '../../src/crypto/jws.js';
import { tempDir } from '../helpers/manifest.js';

/**
 * The JWS module against jose itself: what one signs the other verifies, and the JWS a general
 * JOSE verifier accepts but our rules refuse stay refused.
 */
const payload = Buffer.from('apiVersion: detailee/v1\nkind: Assignment\nid: irs-2025-0042\n');
const b64u = (v: string | Uint8Array): string => Buffer.from(v).toString('base64url');
const pem = (k: KeyObject): string => k.export({ type: k.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();

let ed: { publicKey: KeyObject; privateKey: KeyObject };
let p256: { publicKey: KeyObject; privateKey: KeyObject };
let edPath: string;
let trust: TrustConfig;

beforeAll(() => {
  const dir = tempDir('detailee-jws-');
  ed = generateKeyPairSync('ed25519');
  p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  edPath = join(dir, 'ed.pub.pem');
  writeFileSync(edPath, pem(ed.publicKey));
  writeFileSync(join(dir, 'p256.pub.pem'), pem(p256.publicKey));
  trust = {
    signers: [
      { name: 'ed', role: 'approver', publicKey: edPath },
      { name: 'p256', role: 'security', publicKey: join(dir, 'p256.pub.pem') },
      { name: 'gone', role: 'approver', publicKey: join(dir, 'missing.pem') },
      { name: 'piv', role: 'approver', certificateSubject: 'CN=PIV' },
    ],
    caCertificates: [],
    crls: [],
    issuers: [],
    requiredRoles: [],
  } as TrustConfig;
});

const verifyText = async (text: string) => verifyJwsFile(payload, { path: 'm.jws', bytes: Buffer.from(text) }, trust);
const reasons = async (text: string) => (await verifyText(text)).map((r) => (r.ok ? `ok ${r.who}` : r.reason));

/** A flattened detached JWS that jose signs with any protected header it allows. */
async function joseSigned(header: Record<string, unknown> & { alg: string }, key: KeyObject | Uint8Array, data: Uint8Array = payload): Promise<{ protected: string; signature: string }> {
  const jws = await new FlattenedSign(data).setProtectedHeader(header).sign(key);
  return { protected: jws.protected!, signature: jws.signature };
}

/** Signed outside jose, for a header jose refuses to sign (an extension it does not know). */
function ed25519Signed(header: Record<string, unknown>): { protected: string; signature: string } {
  const protectedB64 = b64u(JSON.stringify(header));
  return { protected: protectedB64, signature: b64u(sign(null, Buffer.from(`${protectedB64}.${b64u(payload)}`), ed.privateKey)) };
}

describe('the JWS module and jose', () => {
  it('signJws (EdDSA and ES256) verifies under jose, and a General JSON JWS that jose signs verifies here', async () => {
    for (const [key, alg] of [[ed.privateKey, 'EdDSA'], [p256.privateKey, 'ES256']] as const) {
      const entry = (JSON.parse(signJws(payload, undefined, pem(key), 'x')) as { signatures: { protected: string; signature: string }[] }).signatures[0]!;
      const ok = await flattenedVerify({ ...entry, payload: b64u(payload) }, key === ed.privateKey ? ed.publicKey : p256.publicKey, { algorithms: [alg] });
      expect(ok.protectedHeader).toEqual({ alg, kid: 'x' });
    }
    const general = await new GeneralSign(payload)
      .addSignature(ed.privateKey).setProtectedHeader({ alg: 'EdDSA', kid: 'ed' })
      .addSignature(p256.privateKey).setProtectedHeader({ alg: 'ES256', kid: 'p256' })
      .sign();
    expect(await reasons(JSON.stringify({ signatures: general.signatures }))).toEqual(['ok ed', 'ok p256']);
    expect(await reasons(JSON.stringify(await joseSigned({ alg: 'EdDSA', kid: 'ed' }, ed.privateKey)))).toEqual(['ok ed']);
    expect(await reasons(JSON.stringify(await joseSigned({ alg: 'EdDSA', kid: 'ed' }, ed.privateKey, Buffer.from('other bytes'))))).toEqual([expect.stringMatching(/does not verify over these manifest bytes/)]);
  });

  it('refuses validly signed JWS that jose alone would accept: b64:false with crit, alg Ed25519, an HS256 MAC, ES256 for an Ed25519 signer', async () => {
    const unencoded = await joseSigned({ alg: 'EdDSA', kid: 'ed', b64: false, crit: ['b64'] }, ed.privateKey);
    await expect(flattenedVerify({ ...unencoded, payload }, ed.publicKey, { algorithms: ['EdDSA'] })).resolves.toBeDefined();
    expect(await reasons(JSON.stringify(unencoded))).toEqual(['the "crit" header is not accepted: no JWS extensions are supported']);
    expect(await reasons(JSON.stringify(await joseSigned({ alg: 'EdDSA', kid: 'ed', b64: false }, ed.privateKey)))).toEqual(['an unencoded payload ("b64": false) is not accepted']);

    const ed25519 = await joseSigned({ alg: 'Ed25519', kid: 'ed' }, ed.privateKey);
    await expect(flattenedVerify({ ...ed25519, payload: b64u(payload) }, ed.publicKey)).resolves.toBeDefined();
    expect(await reasons(JSON.stringify(ed25519))).toEqual(['alg "Ed25519" is not accepted; only EdDSA and ES256 are']);

    const secret = Buffer.from(pem(ed.publicKey));
    const hs = await joseSigned({ alg: 'HS256', kid: 'ed' }, secret);
    expect(hs.signature).toBe(createHmac('sha256', secret).update(`${hs.protected}.${b64u(payload)}`).digest('base64url'));
    expect(await reasons(JSON.stringify(hs))).toEqual(['alg "HS256" (a shared-secret MAC, not a signature) is not accepted']);

    const es256 = await joseSigned({ alg: 'ES256', kid: 'ed' }, p256.privateKey);
    expect(await reasons(JSON.stringify(es256))).toEqual(['alg ES256 does not match signer "ed"\'s ed25519 key']);
    expect(await reasons(JSON.stringify({ protected: b64u('{"alg":"none","kid":"ed"}'), signature: '' }))).toEqual(['alg "none" (an unsigned JWS) is not accepted']);
  });

  it('fails closed on a malformed entry, a header outside the protected one, a missing key, a padded header and a signature of the wrong length', async () => {
    const good = await joseSigned({ alg: 'EdDSA', kid: 'ed' }, ed.privateKey);
    expect(await reasons(JSON.stringify({ signatures: [5, good] }))).toEqual(['a signature entry is not a JSON object', 'ok ed']);
    expect(await reasons(JSON.stringify({ ...good, header: { x5u: 'https://example.test/' } }))).toEqual([expect.stringMatching(/^unprotected header parameters are not accepted/)]);
    expect(await reasons(JSON.stringify({ ...good, header: {} }))).toEqual(['ok ed']);
    expect(await reasons(JSON.stringify({ ...good, protected: `${good.protected}=` }))).toEqual(['the protected header is missing or is not base64url-encoded JSON']);
    expect(await reasons(JSON.stringify({ ...good, signature: `${good.signature}A` }))).toEqual(['an EdDSA signature is 64 bytes; this one is 65']);
    // 89 characters cannot be base64url (a length of 4n + 1 leaves a lone 6 bits).
    expect(await reasons(JSON.stringify({ ...good, signature: `${good.signature}AAA` }))).toEqual(['the signature is missing or is not base64url']);
    const gone = await joseSigned({ alg: 'EdDSA', kid: 'gone' }, ed.privateKey);
    expect(await reasons(JSON.stringify(gone))).toEqual([expect.stringMatching(/^cannot read public key .*missing\.pem of signer "gone"/)]);
    const piv = await joseSigned({ alg: 'EdDSA', kid: 'piv' }, ed.privateKey);
    expect(await reasons(JSON.stringify(piv))).toEqual(['trusted signer "piv" is configured by certificate, so it can sign only in CMS form']);
  });

  it('verifyDetachedEdDsa accepts only an EdDSA header without extensions and an Ed25519 key', async () => {
    const jws = signDetachedEdDsa(payload, ed.privateKey, 'k');
    expect(await verifyDetachedEdDsa(payload, jws, ed.publicKey)).toBe(true);
    await expect(flattenedVerify({ ...jws, payload: b64u(payload) }, ed.publicKey, { algorithms: ['EdDSA'] })).resolves.toBeDefined();
    expect(await verifyDetachedEdDsa(Buffer.from('other'), jws, ed.publicKey)).toBe(false);
    expect(await verifyDetachedEdDsa(payload, jws, p256.publicKey)).toBe(false);
    expect(await verifyDetachedEdDsa(payload, { ...jws, signature: `${jws.signature}A` }, ed.publicKey)).toBe(false);
    expect(await verifyDetachedEdDsa(payload, ed25519Signed({ alg: 'EdDSA', kid: 'k' }), ed.publicKey)).toBe(true);
    for (const header of [{ alg: 'ES256', kid: 'k' }, { alg: 'Ed25519', kid: 'k' }, { alg: 'EdDSA', kid: 'k', crit: ['exp'], exp: 1 }, { alg: 'EdDSA', kid: 'k', b64: false }]) {
      expect(await verifyDetachedEdDsa(payload, ed25519Signed(header), ed.publicKey)).toBe(false);
    }
  });

  it('verifyDetachedEdDsa verifies what jose signs, and refuses what jose alone would accept', async () => {
    expect(await verifyDetachedEdDsa(payload, await joseSigned({ alg: 'EdDSA', kid: 'k' }, ed.privateKey), ed.publicKey)).toBe(true);
    const unencoded = await joseSigned({ alg: 'EdDSA', kid: 'k', b64: false, crit: ['b64'] }, ed.privateKey);
    await expect(flattenedVerify({ ...unencoded, payload }, ed.publicKey, { algorithms: ['EdDSA'] })).resolves.toBeDefined();
    expect(await verifyDetachedEdDsa(payload, unencoded, ed.publicKey)).toBe(false);
    expect(await verifyDetachedEdDsa(payload, await joseSigned({ alg: 'Ed25519', kid: 'k' }, ed.privateKey), ed.publicKey)).toBe(false);
    const secret = Buffer.from(pem(ed.publicKey));
    expect(await verifyDetachedEdDsa(payload, await joseSigned({ alg: 'HS256', kid: 'k' }, secret), ed.publicKey)).toBe(false);
    const good = signDetachedEdDsa(payload, ed.privateKey, 'k');
    for (const signature of [`${good.signature}=`, good.signature.slice(0, -2), '']) {
      expect(await verifyDetachedEdDsa(payload, { ...good, signature }, ed.publicKey)).toBe(false);
    }
  });
});
