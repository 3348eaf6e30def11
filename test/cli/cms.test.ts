import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { cli, ROOT, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { EKU, makeCert, makePki, makeSigningKey, opensslCmsSign, type Pki, type PkiOptions } from '../helpers/pki.js';

/**
 * CMS (as `openssl cms -sign -binary` or a PIV card makes) and JWS signatures through the built
 * CLI's `assignment verify`: a valid `.p7s` found beside the manifest, and each way a signature
 * must fail closed — exit 3 with the reason named. The PKI (root → intermediate → leaf, and a
 * CRL) is made by the test; nothing is written to a store.
 */
const NOW = '2025-03-01T12:00:00Z';
let dir: string;
let pki: Pki;

beforeAll(async () => {
  dir = tempDir('detailee-cli-cms-');
  pki = await makePki(dir);
});

/** A folder with the example manifest and a config whose trust section is `trust`. */
function workspace(name: string, trust: Record<string, unknown>): { work: string; manifest: string } {
  const work = join(dir, name);
  mkdirSync(work);
  const manifest = join(work, 'assignment.yaml');
  writeFileSync(manifest, readFileSync(join(ROOT, 'examples', 'assignment.yaml')));
  writeFileSync(join(work, 'detailee.yaml'), stringify({ store: 'sqlite:detailee.db', timezone: 'America/New_York', trust: { caCertificates: [], crls: [], requiredRoles: ['approver'], ...trust } }));
  return { work, manifest };
}

function verify(work: string, args: string[]): StepOutput {
  return cli(work, ['assignment', 'verify', ...args, '--json'], NOW);
}

/** Exit 3 and `valid: false`; the failures (file, form, signer, reason) and missing roles as text. */
function failure(out: StepOutput): string {
  expect(out.exit, JSON.stringify(out.json)).toBe(3);
  const r = out.json as { valid: boolean; failures: { file: string; form: string; reason: string }[]; missingRoles: string[] };
  expect(r.valid).toBe(false);
  return [...r.failures.map((f) => `${f.file} (${f.form}): ${f.reason}`), ...r.missingRoles.map((m) => `missing role ${m}`)].join('\n');
}

const pivSigner = (p: Pki) => ({ name: 'piv-approver', role: 'approver', certificateSubject: p.leaf.subject });

describe('assignment verify with CMS signatures', () => {
  it('finds FILE.p7s (DER) beside the manifest and reports the signer, its role and form cms', () => {
    const { work, manifest } = workspace('valid-der', { caCertificates: [pki.caPath], crls: pki.crlPaths, signers: [pivSigner(pki)] });
    opensslCmsSign(manifest, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, true);
    const out = verify(work, [manifest]);
    expect(out.exit, JSON.stringify(out.json)).toBe(0);
    expect(out.json).toMatchObject({ id: 'irs-2025-0042', valid: true, signers: [{ name: 'piv-approver', role: 'approver', form: 'cms' }], warnings: [], policy: [] });
  });

  it('takes a PEM signature given with --signature, matched by certificate fingerprint', () => {
    const { work, manifest } = workspace('valid-pem', { caCertificates: [pki.caPath], crls: pki.crlPaths, signers: [{ name: 'fp-approver', role: 'approver', certificateSha256: pki.leaf.sha256 }] });
    const sig = opensslCmsSign(manifest, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, false, { out: join(work, 'approval.pem') });
    const out = verify(work, [manifest, '--signature', sig]);
    expect(out.exit, JSON.stringify(out.json)).toBe(0);
    expect(out.json).toMatchObject({ valid: true, signers: [{ name: 'fp-approver', form: 'cms' }] });
  });

  it('a chain that ends at a root the config does not trust: exit 3, the reason named', async () => {
    const other = await makeCert(dir, 'other-root', { subject: 'CN=Test Root CA,O=Example Agency,C=US', ca: true });
    const { work, manifest } = workspace('unknown-root', { caCertificates: [other.certPath], signers: [pivSigner(pki)] });
    opensslCmsSign(manifest, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, true);
    expect(failure(verify(work, [manifest]))).toMatch(/assignment\.yaml\.p7s \(cms.*chain does not end at a configured trust anchor/s);
  });

  it('a signer certificate revoked in a CRL from the config: exit 3, naming serial, date and CRL', async () => {
    const rdir = join(dir, 'revoked-pki');
    mkdirSync(rdir);
    const revoked = await makePki(rdir, { revokeLeafOn: new Date('2025-02-01T00:00:00Z') });
    const { work, manifest } = workspace('revoked', { caCertificates: [revoked.caPath], crls: revoked.crlPaths, signers: [pivSigner(revoked)] });
    opensslCmsSign(manifest, revoked.leaf.certPath, revoked.leaf.keyPath, revoked.chainPath, true);
    expect(failure(verify(work, [manifest]))).toContain(`certificate serial ${revoked.leaf.serialHex} (${revoked.leaf.subject}) revoked on 2025-02-01T00:00:00Z per CRL ${revoked.crlPath}`);
  });

  it('an expired signer certificate: exit 3', async () => {
    const xdir = join(dir, 'expired-pki');
    mkdirSync(xdir);
    const expired = await makePki(xdir, { leafNotBefore: new Date('2024-01-01T00:00:00Z'), leafNotAfter: new Date('2025-01-31T00:00:00Z') });
    const { work, manifest } = workspace('expired', { caCertificates: [expired.caPath], crls: expired.crlPaths, signers: [pivSigner(expired)] });
    opensslCmsSign(manifest, expired.leaf.certPath, expired.leaf.keyPath, expired.chainPath, true);
    expect(failure(verify(work, [manifest]))).toMatch(/expired|not valid after|notAfter/i);
  });
});

/** A PKI of its own with `opts`, its leaf signing the workspace's manifest. */
async function signedWith(name: string, opts: PkiOptions, trust: (p: Pki) => Record<string, unknown> = (p) => ({ crls: p.crlPaths })): Promise<{ work: string; manifest: string; p: Pki }> {
  const pdir = join(dir, `${name}-pki`);
  mkdirSync(pdir);
  const p = await makePki(pdir, opts);
  const { work, manifest } = workspace(name, { caCertificates: [p.caPath], signers: [pivSigner(p)], ...trust(p) });
  opensslCmsSign(manifest, p.leaf.certPath, p.leaf.keyPath, p.chainPath, true);
  return { work, manifest, p };
}

describe('assignment verify: strict signer trust', () => {
  it('a signer whose extended key usage is only serverAuth: exit 3, naming the usage', async () => {
    const { work, manifest } = await signedWith('eku-server', { leafExtKeyUsage: [EKU.serverAuth] });
    expect(failure(verify(work, [manifest]))).toMatch(/extended key usage \(serverAuth\) allows none of emailProtection, documentSigning, PIV content signing/);
  });

  it('a signer with PIV content signing or documentSigning: exit 0', async () => {
    for (const [name, eku] of [['eku-piv', EKU.pivContentSigning], ['eku-doc', EKU.documentSigning]] as const) {
      const { work, manifest } = await signedWith(name, { leafExtKeyUsage: [eku] });
      expect(verify(work, [manifest]).exit).toBe(0);
    }
  });

  it('a CA certificate as signer: exit 3', async () => {
    const { work, manifest } = await signedWith('ca-signer', { leafCa: true, leafKeyUsage: ['digitalSignature', 'nonRepudiation', 'keyCertSign'] });
    expect(failure(verify(work, [manifest]))).toMatch(/is a CA certificate .*a CA may not sign documents/);
  });

  it('a signer certificate without key usage: exit 3', async () => {
    const { work, manifest } = await signedWith('no-ku', { leafKeyUsage: null });
    expect(failure(verify(work, [manifest]))).toMatch(/has no key usage extension/);
  });

  it('an issuer with no CRL in the config: exit 3, naming the issuer and the two fixes', async () => {
    const { work, manifest } = await signedWith('no-crl', {}, (p) => ({ crls: [p.rootCrlPath] }));
    expect(failure(verify(work, [manifest]))).toMatch(/no CRL from CN=Test Signing CA,O=Example Agency,C=US .*add the issuer's current CRL to trust\.crls, or mark the issuer revocation: unchecked in trust\.issuers/);
  });

  it('a CRL past its nextUpdate: exit 3', async () => {
    const { work, manifest } = await signedWith('stale-crl', {}, (p) => ({ crls: [p.rootCrlPath, p.crlPath] }));
    const out = cli(work, ['assignment', 'verify', manifest, '--json'], '2035-01-01T00:00:01Z');
    expect(failure(out)).toMatch(/CRL .*intermediate\.crl\.pem is out of date: its next update was due 2035-01-01T00:00:00Z/);
  });

  it('an issuer marked revocation: unchecked: exit 0 with the warning in the text and in --json', async () => {
    const { work, manifest, p } = await signedWith('unchecked', {}, (q) => ({ crls: [q.rootCrlPath], issuers: [{ name: 'signing CA', certificateSha256: q.intermediate.sha256, revocation: 'unchecked' }] }));
    const out = verify(work, [manifest]);
    expect(out.exit, JSON.stringify(out.json)).toBe(0);
    const warning = `revocation of ${p.leaf.subject} is NOT checked: its issuer ${p.intermediate.subject} is marked revocation: unchecked in trust.issuers, and no CRL from it is configured`;
    expect(out.json).toMatchObject({ valid: true, warnings: [warning] });
    const text = cli(work, ['assignment', 'verify', manifest], NOW);
    expect(text.exit).toBe(0);
    expect(text.json).toContain(`WARNING: ${warning}`);
  });
});

describe('onboard with an issuer marked revocation: unchecked (moto)', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
    await moto.createGroup('detailee-readonly'); // the example manifest's access.aws
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });
  /** Onboarding needs a target; moto's IAM is the cheapest real one. */
  function addIam(work: string): void {
    const cfgPath = join(work, 'detailee.yaml');
    const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    cfg.targets = { aws: { region: 'us-east-1', endpoint: moto.endpoint, path: '/detailees/' } };
    writeFileSync(cfgPath, stringify(cfg));
  }

  it('onboard shows the unchecked-revocation warning and records it in the onboarding audit event', async () => {
    const { work, manifest, p } = await signedWith('unchecked-onboard', {}, (q) => ({ crls: [q.rootCrlPath], issuers: [{ certificateSubject: q.intermediate.subject, revocation: 'unchecked' }] }));
    addIam(work);
    const out = cli(work, ['onboard', manifest, '--yes', '--json'], NOW);
    expect(out.exit, JSON.stringify(out.json)).toBe(0);
    const r = out.json as { warnings: string[] };
    expect(r.warnings).toEqual([expect.stringContaining(`its issuer ${p.intermediate.subject} is marked revocation: unchecked`)]);
    const audit = cli(work, ['audit', 'export'], NOW);
    expect(audit.exit, audit.stderr).toBe(0);
    const events = String(audit.json).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; details: { trustWarnings?: string[] } });
    expect(events.find((e) => e.kind === 'assignment.onboarding')?.details.trustWarnings).toEqual(r.warnings);
  });

  it('onboard without --json prints the warning', async () => {
    const { work, manifest } = await signedWith('unchecked-onboard-text', {}, (q) => ({ crls: [q.rootCrlPath], issuers: [{ certificateSha256: q.intermediate.sha256, revocation: 'unchecked' }] }));
    addIam(work);
    const out = cli(work, ['onboard', manifest, '--dry-run'], NOW);
    expect(out.exit, out.stderr).toBe(0);
    expect(out.json).toMatch(/WARNING: revocation of CN=Alan Turing.* is NOT checked/);
  });
});

describe('assignment verify: trust policy', () => {
  it('a required role no valid signature covers: exit 3, naming the role', () => {
    const { work, manifest } = workspace('role', { caCertificates: [pki.caPath], crls: pki.crlPaths, signers: [pivSigner(pki)], requiredRoles: ['approver', 'security'] });
    opensslCmsSign(manifest, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, true);
    expect(failure(verify(work, [manifest]))).toBe('missing role security');
  });

  it('a JWS signer outside its validity window: exit 3, naming the window', () => {
    const key = makeSigningKey(dir, 'retired', 'ed25519');
    const { work, manifest } = workspace('window', { signers: [{ name: 'retired.approver', role: 'approver', publicKey: key.publicPem, notAfter: '2025-02-28' }] });
    writeFileSync(`${manifest}.jws`, signJws(readFileSync(manifest), undefined, readFileSync(key.privatePem, 'utf8'), 'retired.approver'));
    expect(failure(verify(work, [manifest]))).toMatch(/retired\.approver.*2025-02-28/s);
  });
});
