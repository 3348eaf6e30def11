import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { TrustConfig, TrustedSigner } from '../../src/config/schema.js';
import { dnKeyFromString } from '../../src/assignment/cms.js';
import type { SignatureFile } from '../../src/assignment/signature-file.js';
import { assertValid, verifyDetached } from '../../src/assignment/signatures.js';
import { signJws } from '../../src/crypto/jws.js';
import { VerificationError, type DetaileeError } from '../../src/errors.js';
import { manifest, tempDir } from '../helpers/manifest.js';
import { EKU, FIXED_NOW, makeCert, makeCrl, makePki, makeSigningKey, opensslCmsSign, type Pki, type PkiOptions } from '../helpers/pki.js';

const now = FIXED_NOW;

function trust(over: Partial<TrustConfig> = {}): TrustConfig {
  return { signers: [], caCertificates: [], crls: [], issuers: [], requiredRoles: [], ...over };
}

function sigFile(path: string, bytes?: Uint8Array | string): SignatureFile {
  return { path, bytes: bytes === undefined ? readFileSync(path) : typeof bytes === 'string' ? Buffer.from(bytes) : bytes };
}

const b64u = (v: string | Uint8Array): string => Buffer.from(v).toString('base64url');

/** A JWS entry with any header we like, signed (or not) by the caller. */
function rawJws(header: Record<string, unknown>, signature: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, signatures: [{ protected: b64u(JSON.stringify(header)), signature }] });
}

let dir: string;
let payload: Buffer;
let manifestPath: string;
let alice: { privatePem: string; publicPem: string };
let bob: { privatePem: string; publicPem: string };
let aliceSigner: TrustedSigner;
let bobSigner: TrustedSigner;

beforeAll(() => {
  dir = tempDir('detailee-sig-');
  manifestPath = join(dir, 'assignment.yaml');
  writeFileSync(manifestPath, stringify(manifest()));
  payload = readFileSync(manifestPath);
  alice = makeSigningKey(dir, 'alice', 'ed25519');
  bob = makeSigningKey(dir, 'bob', 'p256');
  aliceSigner = { name: 'Alice Approver', role: 'approver', publicKey: alice.publicPem };
  bobSigner = { name: 'Bob Security', role: 'security', publicKey: bob.publicPem };
});

const key = (k: { privatePem: string }): string => readFileSync(k.privatePem, 'utf8');

describe('JWS detached signatures', () => {
  it('accepts an Ed25519 (EdDSA) signature by a trusted signer, with a detached payload', async () => {
    const jws = signJws(payload, undefined, key(alice), 'Alice Approver');
    const doc = JSON.parse(jws) as { signatures: { protected: string; signature: string }[]; payload?: string };
    expect(doc.payload).toBeUndefined();
    expect(JSON.parse(Buffer.from(doc.signatures[0]!.protected, 'base64url').toString())).toEqual({ alg: 'EdDSA', kid: 'Alice Approver' });
    const report = await verifyDetached(payload, [sigFile(`${manifestPath}.jws`, jws)], trust({ signers: [aliceSigner] }), now);
    expect(report).toEqual({
      valid: true,
      signers: [{ name: 'Alice Approver', role: 'approver', form: 'jws', file: `${manifestPath}.jws` }],
      failures: [],
      missingRoles: [],
      warnings: [],
    });
    expect(() => assertValid(report, 'assignment x')).not.toThrow();
  });

  it('accepts an ES256 signature as raw r||s and refuses a DER-encoded one', async () => {
    const jws = signJws(payload, undefined, key(bob), 'Bob Security');
    const entry = (JSON.parse(jws) as { signatures: { protected: string; signature: string }[] }).signatures[0]!;
    expect(JSON.parse(Buffer.from(entry.protected, 'base64url').toString()).alg).toBe('ES256');
    expect(Buffer.from(entry.signature, 'base64url')).toHaveLength(64);
    const t = trust({ signers: [bobSigner] });
    expect((await verifyDetached(payload, [sigFile('a.jws', jws)], t, now)).valid).toBe(true);

    const input = Buffer.from(`${entry.protected}.${b64u(payload)}`);
    const der = sign('sha256', input, createPrivateKey(key(bob))).toString('base64url');
    const report = await verifyDetached(payload, [sigFile('a.jws', JSON.stringify({ signatures: [{ protected: entry.protected, signature: der }] }))], t, now);
    expect(report.valid).toBe(false);
    expect(report.failures[0]!.reason).toMatch(/64 bytes.*not DER/);
  });

  it('signJws creates the file, appends a second signer, and both cover the two required roles', async () => {
    const first = signJws(payload, undefined, key(alice), 'Alice Approver');
    const both = signJws(payload, first, key(bob), 'Bob Security');
    const doc = JSON.parse(both) as { signatures: unknown[] };
    expect(doc.signatures).toHaveLength(2);
    expect(doc.signatures[0]).toEqual((JSON.parse(first) as { signatures: unknown[] }).signatures[0]);
    const report = await verifyDetached(payload, [sigFile('a.jws', both)], trust({ signers: [aliceSigner, bobSigner], requiredRoles: ['approver', 'security'] }), now);
    expect(report.valid).toBe(true);
    expect(report.signers.map((s) => s.role).sort()).toEqual(['approver', 'security']);
    expect(report.missingRoles).toEqual([]);
  });

  it('re-signing with the same kid replaces that entry in place', async () => {
    const other = makeSigningKey(dir, 'alice2', 'ed25519');
    const two = signJws(payload, signJws(payload, undefined, key(alice), 'Alice Approver'), key(bob), 'Bob Security');
    const again = signJws(payload, two, key(other), 'Alice Approver');
    const entries = (JSON.parse(again) as { signatures: { protected: string }[] }).signatures;
    expect(entries.map((e) => JSON.parse(Buffer.from(e.protected, 'base64url').toString()).kid)).toEqual(['Alice Approver', 'Bob Security']);
    // The replacement is by the new key: it verifies against it and no longer against the old one.
    const withNewKey = await verifyDetached(payload, [sigFile('a.jws', again)], trust({ signers: [{ ...aliceSigner, publicKey: other.publicPem }, bobSigner] }), now);
    expect(withNewKey.valid).toBe(true);
    const withOldKey = await verifyDetached(payload, [sigFile('a.jws', again)], trust({ signers: [aliceSigner, bobSigner] }), now);
    expect(withOldKey.failures.map((f) => f.signer)).toEqual(['Alice Approver']);
  });

  it('reports a required role that nobody signed for, and assertValid refuses with exit 3', async () => {
    const jws = signJws(payload, undefined, key(alice), 'Alice Approver');
    const report = await verifyDetached(payload, [sigFile('a.jws', jws)], trust({ signers: [aliceSigner, bobSigner], requiredRoles: ['approver', 'security'] }), now);
    expect(report.valid).toBe(false);
    expect(report.failures).toEqual([]);
    expect(report.missingRoles).toEqual(['security']);
    let err: unknown;
    try {
      assertValid(report, 'assignment irs-2025-0042');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as DetaileeError).exit).toBe(3);
    expect((err as DetaileeError).code).toBe('signature.invalid');
    expect((err as DetaileeError).message).toMatch(/required role "security"/);
    expect((err as DetaileeError).details).toBe(report);
  });

  it('refuses a signature when one byte of the manifest changed after signing', async () => {
    const jws = signJws(payload, undefined, key(alice), 'Alice Approver');
    const changed = Buffer.from(payload);
    changed[changed.length - 2]! ^= 0x01;
    const report = await verifyDetached(changed, [sigFile('m.jws', jws)], trust({ signers: [aliceSigner] }), now);
    expect(report.valid).toBe(false);
    expect(report.signers).toEqual([]);
    expect(report.failures).toEqual([{ file: 'm.jws', form: 'jws', signer: 'Alice Approver', reason: expect.stringMatching(/does not verify over these manifest bytes/) }]);
  });

  it('refuses a kid that is not a trusted signer, and a trusted kid on a signature by another key', async () => {
    const mallory = makeSigningKey(dir, 'mallory', 'ed25519');
    const unknown = await verifyDetached(payload, [sigFile('m.jws', signJws(payload, undefined, key(mallory), 'Mallory'))], trust({ signers: [aliceSigner] }), now);
    expect(unknown.failures[0]).toMatchObject({ signer: 'Mallory', reason: 'kid "Mallory" is not a trusted signer' });
    const spoof = await verifyDetached(payload, [sigFile('m.jws', signJws(payload, undefined, key(mallory), 'Alice Approver'))], trust({ signers: [aliceSigner] }), now);
    expect(spoof.valid).toBe(false);
    expect(spoof.failures[0]!.reason).toMatch(/does not verify/);
  });

  it("honours the signer's notBefore/notAfter; a bare notAfter date lasts through that UTC day", async () => {
    const jws = sigFile('m.jws', signJws(payload, undefined, key(alice), 'Alice Approver'));
    const at = async (s: Partial<TrustedSigner>, when: Date) => verifyDetached(payload, [jws], trust({ signers: [{ ...aliceSigner, ...s }] }), when);
    const ended = await at({ notAfter: '2025-02-28' }, now);
    expect(ended.valid).toBe(false);
    expect(ended.failures[0]!.reason).toMatch(/only until 2025-02-28/);
    expect((await at({ notAfter: '2025-03-01' }, new Date('2025-03-01T23:59:59Z'))).valid).toBe(true);
    expect((await at({ notAfter: '2025-03-01' }, new Date('2025-03-02T00:00:00Z'))).valid).toBe(false);
    expect((await at({ notAfter: '2025-03-01T11:00:00Z' }, now)).valid).toBe(false);
    const early = await at({ notBefore: '2025-03-02' }, now);
    expect(early.failures[0]!.reason).toMatch(/not authorised to sign before 2025-03-02/);
    expect((await at({ notBefore: '2025-03-01', notAfter: '2025-03-01' }, now)).valid).toBe(true);
  });

  it('refuses alg none and an HS256 MAC forged with the public key as secret', async () => {
    const t = trust({ signers: [aliceSigner] });
    const none = await verifyDetached(payload, [sigFile('m.jws', rawJws({ alg: 'none', kid: 'Alice Approver' }, ''))], t, now);
    expect(none.failures[0]).toMatchObject({ signer: 'Alice Approver', reason: expect.stringMatching(/alg "none"/) });

    const header = b64u(JSON.stringify({ alg: 'HS256', kid: 'Alice Approver' }));
    const mac = createHmac('sha256', readFileSync(alice.publicPem)).update(`${header}.${b64u(payload)}`).digest('base64url');
    const hs = await verifyDetached(payload, [sigFile('m.jws', JSON.stringify({ signatures: [{ protected: header, signature: mac }] }))], t, now);
    expect(hs.valid).toBe(false);
    expect(hs.failures[0]!.reason).toMatch(/HS256.*not accepted/);
  });

  it('refuses an empty signatures list, an embedded payload, and unsafe or incomplete headers', async () => {
    const t = trust({ signers: [aliceSigner, bobSigner] });
    const one = async (text: string) => (await verifyDetached(payload, [sigFile('m.jws', text)], t, now)).failures.map((f) => f.reason);
    expect(await one('{"signatures":[]}')).toEqual(['the JWS has an empty signatures list']);
    expect((await verifyDetached(payload, [sigFile('m.jws', '{"signatures":[]}')], t, now)).valid).toBe(false);

    const good = JSON.parse(signJws(payload, undefined, key(alice), 'Alice Approver')) as Record<string, unknown>;
    expect(await one(JSON.stringify({ ...good, payload: b64u(payload) }))).toEqual([expect.stringMatching(/embeds a payload/)]);

    const sig64 = b64u(Buffer.alloc(64, 1));
    expect(await one(rawJws({ alg: 'EdDSA' }, sig64))).toEqual([expect.stringMatching(/no kid/)]);
    expect(await one(rawJws({ alg: 'EdDSA', kid: 'Alice Approver', crit: ['exp'] }, sig64))).toEqual([expect.stringMatching(/crit/)]);
    expect(await one(rawJws({ alg: 'EdDSA', kid: 'Alice Approver', b64: false }, sig64))).toEqual([expect.stringMatching(/b64/)]);
    expect(await one(rawJws({ alg: 'RS256', kid: 'Alice Approver' }, sig64))).toEqual([expect.stringMatching(/RS256.*not accepted/)]);
    expect(await one(rawJws({ alg: 'EdDSA', kid: 'Bob Security' }, sig64))).toEqual([expect.stringMatching(/EdDSA does not match.*prime256v1/)]);
    expect(await one(rawJws({ alg: 'ES256', kid: 'Alice Approver' }, sig64))).toEqual([expect.stringMatching(/ES256 does not match.*ed25519/)]);
  });

  it('fails closed when one of several entries is bad, and names each bad entry', async () => {
    const good = signJws(payload, undefined, key(alice), 'Alice Approver');
    const withBad = JSON.parse(good) as { signatures: unknown[] };
    withBad.signatures.push({ protected: b64u(JSON.stringify({ alg: 'ES256', kid: 'Bob Security' })), signature: b64u(Buffer.alloc(64)) });
    const report = await verifyDetached(payload, [sigFile('m.jws', JSON.stringify(withBad)), sigFile('x.p7s', 'hello')], trust({ signers: [aliceSigner, bobSigner] }), now);
    expect(report.valid).toBe(false);
    expect(report.signers.map((s) => s.name)).toEqual(['Alice Approver']);
    expect(report.failures.map((f) => [f.file, f.form, f.signer])).toEqual([
      ['m.jws', 'jws', 'Bob Security'],
      ['x.p7s', 'cms', undefined],
    ]);
    expect(() => assertValid(report, 'assignment a')).toThrow(/m\.jws \(jws, Bob Security\): the signature does not verify[\s\S]*x\.p7s \(cms\): not a readable CMS/);
  });

  it('signJws refuses key types other than Ed25519 and P-256, and an unreadable existing file', () => {
    const pkcs8 = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }) as string;
    const rsa = pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    const p384 = pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
    expect(() => signJws(payload, undefined, rsa, 'x')).toThrow(expect.objectContaining({ exit: 2, code: 'key.unsupported' }));
    expect(() => signJws(payload, undefined, p384, 'x')).toThrow(expect.objectContaining({ exit: 2, code: 'key.unsupported' }));
    expect(() => signJws(payload, undefined, readFileSync(alice.publicPem, 'utf8'), 'x')).toThrow(expect.objectContaining({ exit: 2, code: 'key.invalid' }));
    expect(() => signJws(payload, '{"signatures": 5}', key(alice), 'x')).toThrow(expect.objectContaining({ exit: 2, code: 'signature.unreadable' }));
  });
});

describe('CMS detached signatures', () => {
  let pki: Pki;
  let pkiDir: string;
  let tSubject: TrustedSigner;
  const cmsTrust = (over: Partial<TrustConfig> = {}): TrustConfig => trust({ caCertificates: [pki.caPath], crls: pki.crlPaths, signers: [tSubject], ...over });

  beforeAll(async () => {
    pkiDir = tempDir('detailee-pki-');
    pki = await makePki(pkiDir);
    tSubject = { name: 'Alan Turing', role: 'approver', certificateSubject: pki.leaf.subject };
  });

  it('verifies real `openssl cms -sign -binary` output, PEM and DER, through an intermediate to the configured CA', async () => {
    const pem = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'a.p7s') });
    const der = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, true, { out: join(pkiDir, 'a.der.p7s') });
    expect(readFileSync(pem, 'latin1')).toMatch(/^-----BEGIN (PKCS7|CMS)-----/);
    expect(readFileSync(der)[0]).toBe(0x30);
    const bySubject = await verifyDetached(payload, [sigFile(pem)], cmsTrust(), now);
    expect(bySubject).toEqual({ valid: true, signers: [{ name: 'Alan Turing', role: 'approver', form: 'cms', file: pem }], failures: [], missingRoles: [], warnings: [] });
    const bySha = await verifyDetached(payload, [sigFile(der)], cmsTrust({ signers: [{ name: 'Alan T', role: 'security', certificateSha256: pki.leaf.sha256 }] }), now);
    expect(bySha.signers).toEqual([{ name: 'Alan T', role: 'security', form: 'cms', file: der }]);
    expect(bySha.valid).toBe(true);
  });

  it('verifies RSA-PSS, SHA-512 and ECDSA P-256 signers', async () => {
    const pss = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, true, { out: join(pkiDir, 'pss.p7s'), pss: true, md: 'sha512' });
    expect((await verifyDetached(payload, [sigFile(pss)], cmsTrust(), now)).valid).toBe(true);
    const ecDir = tempDir('detailee-pki-ec-');
    const ec = await makePki(ecDir, { leafKeyType: 'p256' });
    const sig = opensslCmsSign(manifestPath, ec.leaf.certPath, ec.leaf.keyPath, ec.chainPath, false, { out: join(ecDir, 'ec.p7s') });
    const report = await verifyDetached(payload, [sigFile(sig)], trust({ caCertificates: [ec.caPath], crls: ec.crlPaths, signers: [{ name: 'EC', role: 'approver', certificateSha256: ec.leaf.sha256 }] }), now);
    expect(report.valid).toBe(true);
  });

  it('refuses a CMS signature when the manifest changed by one byte', async () => {
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'b.p7s') });
    const changed = Buffer.from(payload);
    changed[0]! ^= 0x20;
    const report = await verifyDetached(changed, [sigFile(sig)], cmsTrust(), now);
    expect(report.valid).toBe(false);
    expect(report.failures).toEqual([{ file: sig, form: 'cms', signer: pki.leaf.subject, reason: expect.stringMatching(/message digest does not match/) }]);
  });

  it('refuses a chain that ends at an unknown root, or whose intermediate is missing', async () => {
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'c.p7s') });
    const other = await makeCert(pkiDir, 'other-root', { subject: 'CN=Test Root CA,O=Example Agency,C=US', ca: true });
    const rogue = await verifyDetached(payload, [sigFile(sig)], cmsTrust({ caCertificates: [other.certPath], crls: [] }), now);
    expect(rogue.valid).toBe(false);
    expect(rogue.failures[0]!.reason).toMatch(/^chain does not end at a configured trust anchor/);

    const bare = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, undefined, false, { out: join(pkiDir, 'd.p7s') });
    const noIntermediate = await verifyDetached(payload, [sigFile(bare)], cmsTrust(), now);
    expect(noIntermediate.failures[0]!.reason).toMatch(/chain does not end at a configured trust anchor: the issuer CN=Test Signing CA,O=Example Agency,C=US/);
  });

  it('refuses a signer revoked by a CRL from the config, naming serial, date and CRL file', async () => {
    const rDir = tempDir('detailee-pki-rev-');
    const revoked = await makePki(rDir, { revokeLeafOn: new Date('2025-02-01T00:00:00Z') });
    const sig = opensslCmsSign(manifestPath, revoked.leaf.certPath, revoked.leaf.keyPath, revoked.chainPath, false, { out: join(rDir, 'e.p7s') });
    const t = trust({ caCertificates: [revoked.caPath], crls: [revoked.rootCrlPath], signers: [{ name: 'A', role: 'approver', certificateSha256: revoked.leaf.sha256 }] });
    // Without the intermediate's CRL the revocation goes unseen only where the config says so, loudly.
    const unchecked = await verifyDetached(payload, [sigFile(sig)], { ...t, issuers: [{ certificateSha256: revoked.intermediate.sha256, revocation: 'unchecked' }] }, now);
    expect(unchecked.valid).toBe(true);
    expect(unchecked.warnings).toEqual([expect.stringMatching(/revocation of CN=Alan Turing.* is NOT checked: its issuer CN=Test Signing CA.*revocation: unchecked/)]);
    const report = await verifyDetached(payload, [sigFile(sig)], { ...t, crls: revoked.crlPaths }, now);
    expect(report.valid).toBe(false);
    expect(report.failures[0]!.reason).toBe(
      `certificate serial ${revoked.leaf.serialHex} (${revoked.leaf.subject}) revoked on 2025-02-01T00:00:00Z per CRL ${revoked.crlPath}`,
    );
  });

  it('reads DER CRLs, and fails closed on a CRL that is forged or out of date', async () => {
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'f.p7s') });
    const derCrl = await makeCrl(pkiDir, 'int-der', pki.intermediate, [{ serialHex: pki.leaf.serialHex, date: new Date('2025-02-15T00:00:00Z') }], { der: true });
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ crls: [pki.rootCrlPath, derCrl] }), now)).failures[0]!.reason).toMatch(/revoked on 2025-02-15/);

    const forged = await makeCrl(pkiDir, 'forged', pki.intermediate, [], { signWith: pki.leaf });
    const f = await verifyDetached(payload, [sigFile(sig)], cmsTrust({ crls: [pki.rootCrlPath, forged] }), now);
    expect(f.valid).toBe(false);
    expect(f.failures[0]!.reason).toMatch(/CRL .*forged\.crl\.pem is not validly signed by its issuer CN=Test Signing CA/);

    const stale = await makeCrl(pkiDir, 'stale', pki.intermediate, [], { thisUpdate: new Date('2025-01-01T00:00:00Z'), nextUpdate: new Date('2025-02-01T00:00:00Z') });
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ crls: [pki.rootCrlPath, stale] }), now)).failures[0]!.reason).toMatch(/out of date/);
  });

  it('refuses an expired signer certificate', async () => {
    const xDir = tempDir('detailee-pki-exp-');
    const expired = await makePki(xDir, { leafNotBefore: new Date('2024-01-01T00:00:00Z'), leafNotAfter: new Date('2025-01-31T00:00:00Z') });
    const sig = opensslCmsSign(manifestPath, expired.leaf.certPath, expired.leaf.keyPath, expired.chainPath, true, { out: join(xDir, 'g.p7s') });
    const t = trust({ caCertificates: [expired.caPath], crls: expired.crlPaths, signers: [{ name: 'A', role: 'approver', certificateSubject: expired.leaf.subject }] });
    const report = await verifyDetached(payload, [sigFile(sig)], t, now);
    expect(report.failures[0]!.reason).toBe(`certificate ${expired.leaf.subject} expired on 2025-01-31T00:00:00Z`);
    expect((await verifyDetached(payload, [sigFile(sig)], t, new Date('2025-01-30T00:00:00Z'))).valid).toBe(true);
  });

  it('refuses a certificate whose key usage is keyEncipherment only', async () => {
    const kDir = tempDir('detailee-pki-ku-');
    const enc = await makePki(kDir, { leafKeyUsage: ['keyEncipherment'] });
    const sig = opensslCmsSign(manifestPath, enc.leaf.certPath, enc.leaf.keyPath, enc.chainPath, false, { out: join(kDir, 'h.p7s') });
    const report = await verifyDetached(payload, [sigFile(sig)], trust({ caCertificates: [enc.caPath], crls: enc.crlPaths, signers: [{ name: 'A', role: 'approver', certificateSha256: enc.leaf.sha256 }] }), now);
    expect(report.valid).toBe(false);
    expect(report.failures[0]!.reason).toMatch(/may not sign documents: its key usage \(keyEncipherment\)/);
  });

  /** A fresh PKI with `opts`, signed over the manifest; the verification reasons as one string. */
  async function signerWith(opts: PkiOptions, over: (p: Pki) => Partial<TrustConfig> = () => ({})): Promise<{ valid: boolean; reason: string; warnings: string[] }> {
    const d = tempDir('detailee-pki-rule-');
    const p = await makePki(d, opts);
    const sig = opensslCmsSign(manifestPath, p.leaf.certPath, p.leaf.keyPath, p.chainPath, false, { out: join(d, 'rule.p7s') });
    const r = await verifyDetached(payload, [sigFile(sig)], trust({ caCertificates: [p.caPath], crls: p.crlPaths, signers: [{ name: 'A', role: 'approver', certificateSha256: p.leaf.sha256 }], ...over(p) }), now);
    return { valid: r.valid, reason: r.failures.map((f) => f.reason).join('\n'), warnings: r.warnings };
  }

  it('refuses a signer certificate without a key usage extension', async () => {
    const r = await signerWith({ leafKeyUsage: null });
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/may not sign documents: it has no key usage extension/);
  });

  it('accepts nonRepudiation alone as the key usage of a signer', async () => {
    expect((await signerWith({ leafKeyUsage: ['nonRepudiation'] })).valid).toBe(true);
  });

  it('refuses a signer whose extended key usage is serverAuth (or clientAuth) only, naming it', async () => {
    const r = await signerWith({ leafExtKeyUsage: [EKU.serverAuth] });
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/its extended key usage \(serverAuth\) allows none of emailProtection, documentSigning, PIV content signing, anyExtendedKeyUsage/);
    expect((await signerWith({ leafExtKeyUsage: [EKU.serverAuth, EKU.clientAuth] })).reason).toMatch(/\(serverAuth, clientAuth\)/);
  });

  it('accepts each signing purpose in an extended key usage, alone or beside others', async () => {
    for (const eku of [EKU.emailProtection, EKU.documentSigning, EKU.pivContentSigning, EKU.any]) {
      const r = await signerWith({ leafExtKeyUsage: [EKU.serverAuth, eku] });
      expect(r, eku).toEqual({ valid: true, reason: '', warnings: [] });
    }
  });

  it('refuses a CA certificate as a signer, even with digitalSignature and a signing purpose', async () => {
    const r = await signerWith({ leafCa: true, leafKeyUsage: ['digitalSignature', 'keyCertSign'], leafExtKeyUsage: [EKU.documentSigning] });
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/is a CA certificate \(basicConstraints cA\); a CA may not sign documents/);
  });

  it('refuses a chain any of whose issuers has no CRL configured, naming the issuer and both fixes', async () => {
    const noIntermediateCrl = await signerWith({}, (p) => ({ crls: [p.rootCrlPath] }));
    expect(noIntermediateCrl.valid).toBe(false);
    expect(noIntermediateCrl.reason).toBe(
      'no CRL from CN=Test Signing CA,O=Example Agency,C=US (the issuer of CN=Alan Turing,OU=Office of the CISO,O=Example Agency,C=US) is configured, so its revocation cannot be checked: add the issuer\'s current CRL to trust.crls, or mark the issuer revocation: unchecked in trust.issuers',
    );
    const noRootCrl = await signerWith({}, (p) => ({ crls: [p.crlPath] }));
    expect(noRootCrl.reason).toMatch(/^no CRL from CN=Test Root CA,O=Example Agency,C=US \(the issuer of CN=Test Signing CA/);
    // An entry that names another issuer does not excuse this one.
    const other = await signerWith({}, (p) => ({ crls: [p.crlPath], issuers: [{ certificateSha256: p.intermediate.sha256, revocation: 'unchecked' }] }));
    expect(other.reason).toMatch(/^no CRL from CN=Test Root CA/);
  });

  it('accepts an issuer marked revocation: unchecked, by subject or fingerprint, with a warning per unchecked link', async () => {
    const bySubject = await signerWith({}, (p) => ({ crls: [p.crlPath], issuers: [{ certificateSubject: 'cn=test root ca, o=Example Agency, c=US', revocation: 'unchecked' }] }));
    expect(bySubject).toEqual({ valid: true, reason: '', warnings: [expect.stringMatching(/^revocation of CN=Test Signing CA,O=Example Agency,C=US is NOT checked: its issuer CN=Test Root CA/)] });
    const both = await signerWith({}, (p) => ({
      crls: [],
      issuers: [
        { certificateSha256: p.root.sha256, revocation: 'unchecked' },
        { certificateSha256: p.intermediate.sha256, revocation: 'unchecked' },
      ],
    }));
    expect(both.valid).toBe(true);
    expect(both.warnings).toHaveLength(2);
    // With the CRL present after all, it is checked and nothing needs a warning.
    const withCrl = await signerWith({}, (p) => ({ issuers: [{ certificateSha256: p.root.sha256, revocation: 'unchecked' }] }));
    expect(withCrl).toEqual({ valid: true, reason: '', warnings: [] });
  });

  it('refuses a CRL past its nextUpdate, or without one', async () => {
    const d = tempDir('detailee-pki-crl-');
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(d, 'n.p7s') });
    const old = await makeCrl(d, 'old', pki.intermediate, [], { thisUpdate: new Date('2025-01-01T00:00:00Z'), nextUpdate: new Date('2025-02-28T23:59:59Z') });
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ crls: [pki.rootCrlPath, old] }), now)).failures[0]!.reason).toBe(
      `CRL ${old} is out of date: its next update was due 2025-02-28T23:59:59Z; fetch a current CRL`,
    );
    const open = await makeCrl(d, 'open', pki.intermediate, [], { nextUpdate: null });
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ crls: [pki.rootCrlPath, open] }), now)).failures[0]!.reason).toMatch(/has no nextUpdate/);
  });

  it('refuses a valid certificate that no trust signer entry names', async () => {
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'i.p7s') });
    const report = await verifyDetached(payload, [sigFile(sig)], cmsTrust({ signers: [{ name: 'Other', role: 'approver', certificateSubject: 'CN=Grace Hopper,OU=Office of the CISO,O=Example Agency,C=US' }] }), now);
    expect(report.failures[0]!.reason).toBe(`certificate ${pki.leaf.subject} (SHA-256 ${pki.leaf.sha256}) is not a trusted signer`);
  });

  it('matches certificateSubject case- and space-insensitively, in RFC 4514 order only', async () => {
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'j.p7s') });
    const withSubject = (certificateSubject: string) => verifyDetached(payload, [sigFile(sig)], cmsTrust({ signers: [{ name: 'A', role: 'approver', certificateSubject }] }), now);
    expect((await withSubject('cn=ALAN  TURING, ou=Office of the CISO, o=Example Agency, c=us')).valid).toBe(true);
    expect((await withSubject('C=US,O=Example Agency,OU=Office of the CISO,CN=Alan Turing')).valid).toBe(false);
    expect((await withSubject('CN=Alan Turing,O=Example Agency,C=US')).valid).toBe(false);
    // A wrong fingerprint must not match even when another entry form would.
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ signers: [{ name: 'A', role: 'approver', certificateSha256: '0'.repeat(64) }] }), now)).valid).toBe(false);
  });

  it('applies the trust window to CMS signers and combines roles across JWS and CMS files', async () => {
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'k.p7s') });
    const jws = sigFile(`${manifestPath}.jws`, signJws(payload, undefined, key(alice), 'Alice Approver'));
    const t = cmsTrust({ signers: [aliceSigner, { ...tSubject, role: 'security' }], requiredRoles: ['approver', 'security'] });
    const both = await verifyDetached(payload, [jws, sigFile(sig)], t, now);
    expect(both.valid).toBe(true);
    expect(both.signers.map((s) => [s.form, s.role])).toEqual([
      ['jws', 'approver'],
      ['cms', 'security'],
    ]);
    const lapsed = await verifyDetached(payload, [jws, sigFile(sig)], { ...t, signers: [aliceSigner, { ...tSubject, role: 'security', notAfter: '2025-02-01' }] }, now);
    expect(lapsed.valid).toBe(false);
    expect(lapsed.missingRoles).toEqual(['security']);
    expect(lapsed.failures[0]!.reason).toMatch(/Alan Turing was authorised to sign only until 2025-02-01/);
  });

  it('refuses CMS with embedded content or in S/MIME form, and fails closed on unreadable trust files', async () => {
    const attached = join(pkiDir, 'attached.p7s');
    execFileSync('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', manifestPath, '-signer', pki.leaf.certPath, '-inkey', pki.leaf.keyPath, '-certfile', pki.chainPath, '-outform', 'PEM', '-out', attached]);
    expect((await verifyDetached(payload, [sigFile(attached)], cmsTrust(), now)).failures[0]!.reason).toMatch(/embeds its content/);
    const smime = join(pkiDir, 'smime.p7s');
    execFileSync('openssl', ['cms', '-sign', '-binary', '-in', manifestPath, '-signer', pki.leaf.certPath, '-inkey', pki.leaf.keyPath, '-out', smime]);
    expect((await verifyDetached(payload, [sigFile(smime)], cmsTrust(), now)).failures[0]!.reason).toMatch(/S\/MIME/);
    const sig = opensslCmsSign(manifestPath, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(pkiDir, 'l.p7s') });
    const badCrl = join(pkiDir, 'bad.crl');
    writeFileSync(badCrl, 'garbage');
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ crls: [badCrl] }), now)).failures[0]!.reason).toMatch(/CRL file .*bad\.crl cannot be read/);
    expect((await verifyDetached(payload, [sigFile(sig)], cmsTrust({ caCertificates: [] }), now)).failures[0]!.reason).toMatch(/no trust anchors/);
  });
});

describe('RFC 4514 names in config', () => {
  it('parses escapes, hex pairs, quoted values and multi-valued RDNs into the same key as equivalent spellings', () => {
    expect(dnKeyFromString('CN=Doe\\, John,O=A')).toBe(dnKeyFromString('cn = doe\\2c john , o=a'));
    expect(dnKeyFromString('CN=Doe\\, John,O=A')).not.toBe(dnKeyFromString('CN=Doe,CN=John,O=A'));
    expect(dnKeyFromString('CN=x+UID=7,O=A')).toBe(dnKeyFromString('UID=7+CN=x,O=A'));
    expect(dnKeyFromString('CN="a, b",O=A')).toBe(dnKeyFromString('CN=a\\, b,O=A'));
    expect(dnKeyFromString('CN=#0c03616263')).toBe(dnKeyFromString('CN=abc'));
    expect(dnKeyFromString('emailAddress=a@b.gov')).toBe(dnKeyFromString('E=a@b.gov'));
    expect(dnKeyFromString('NOTATYPE=x')).toBeUndefined();
    expect(dnKeyFromString('CN=x\\')).toBeUndefined();
  });
});
