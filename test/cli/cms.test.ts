import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signJws } from '../../src/assignment/signatures.js';
import { cli, ROOT, type StepOutput } from '../../scripts/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { makeCert, makePki, makeSigningKey, opensslCmsSign, type Pki } from '../helpers/pki.js';

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
    const { work, manifest } = workspace('valid-der', { caCertificates: [pki.caPath], crls: [pki.crlPath], signers: [pivSigner(pki)] });
    opensslCmsSign(manifest, pki.leaf.certPath, pki.leaf.keyPath, pki.chainPath, true);
    const out = verify(work, [manifest]);
    expect(out.exit, JSON.stringify(out.json)).toBe(0);
    expect(out.json).toMatchObject({ id: 'irs-2025-0042', valid: true, signers: [{ name: 'piv-approver', role: 'approver', form: 'cms' }] });
  });

  it('takes a PEM signature given with --signature, matched by certificate fingerprint', () => {
    const { work, manifest } = workspace('valid-pem', { caCertificates: [pki.caPath], signers: [{ name: 'fp-approver', role: 'approver', certificateSha256: pki.leaf.sha256 }] });
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
    const { work, manifest } = workspace('revoked', { caCertificates: [revoked.caPath], crls: [revoked.crlPath], signers: [pivSigner(revoked)] });
    opensslCmsSign(manifest, revoked.leaf.certPath, revoked.leaf.keyPath, revoked.chainPath, true);
    expect(failure(verify(work, [manifest]))).toContain(`certificate serial ${revoked.leaf.serialHex} (${revoked.leaf.subject}) revoked on 2025-02-01T00:00:00Z per CRL ${revoked.crlPath}`);
  });

  it('an expired signer certificate: exit 3', async () => {
    const xdir = join(dir, 'expired-pki');
    mkdirSync(xdir);
    const expired = await makePki(xdir, { leafNotBefore: new Date('2024-01-01T00:00:00Z'), leafNotAfter: new Date('2025-01-31T00:00:00Z') });
    const { work, manifest } = workspace('expired', { caCertificates: [expired.caPath], signers: [pivSigner(expired)] });
    opensslCmsSign(manifest, expired.leaf.certPath, expired.leaf.keyPath, expired.chainPath, true);
    expect(failure(verify(work, [manifest]))).toMatch(/expired|not valid after|notAfter/i);
  });
});

describe('assignment verify: trust policy', () => {
  it('a required role no valid signature covers: exit 3, naming the role', () => {
    const { work, manifest } = workspace('role', { caCertificates: [pki.caPath], signers: [pivSigner(pki)], requiredRoles: ['approver', 'security'] });
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
