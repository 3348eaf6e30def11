import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessEnded, buildCertificate, type SignedCertificate } from '../../src/offboarding/certificate.js';
import { serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { PUBLIC_KEY_FILE, publishPublicKey, signFileBytes, verifyFileBytes } from '../../src/offboarding/file-signature.js';
import { renderMarkdown } from '../../src/offboarding/render-markdown.js';
import { renderPdf } from '../../src/offboarding/render-pdf.js';
import { hostTime } from '../../src/offboarding/times.js';
import { certificateSummary, certificateView } from '../../src/offboarding/view.js';
import { InputError } from '../../src/errors.js';
import { certificateInput, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';
import { createPublicKey } from 'node:crypto';

/** The README's recipe, run with the real openssl: its exit status and what it printed. */
function openssl(publicKey: string, file: string, sig: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', publicKey, '-rawin', '-in', file, '-sigfile', sig], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'detailee-sigfiles-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FILE.sig: raw Ed25519 over the exact bytes, checked by the real openssl', () => {
  const signed = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
  const files: Record<string, string> = {};

  beforeAll(async () => {
    publishPublicKey(dir, SIGNER_PRIVATE);
    const contents: Record<string, string | Buffer> = {
      json: serializeSignedCertificate(signed),
      md: await renderMarkdown(signed),
      pdf: await renderPdf(signed),
    };
    for (const [ext, data] of Object.entries(contents)) {
      const file = join(dir, `${signed.certificate.id}.${ext}`);
      writeFileSync(file, data);
      writeFileSync(`${file}.sig`, signFileBytes(readFileSync(file), SIGNER_PRIVATE));
      files[ext] = file;
    }
  });

  it('publishes the public half as signing-key.pub.pem', () => {
    expect(readFileSync(join(dir, PUBLIC_KEY_FILE), 'utf8')).toBe(SIGNER_PUBLIC);
  });

  for (const ext of ['json', 'md', 'pdf']) {
    it(`${ext}: openssl pkeyutl -verify -rawin prints "Signature Verified Successfully"; one changed byte fails it`, () => {
      const file = files[ext]!;
      expect(readFileSync(`${file}.sig`)).toHaveLength(64);
      const ok = openssl(join(dir, PUBLIC_KEY_FILE), file, `${file}.sig`);
      expect(ok.status).toBe(0);
      expect(ok.out).toContain('Signature Verified Successfully');
      const bytes = readFileSync(file);
      const tampered = join(dir, `tampered.${ext}`);
      const b = Buffer.from(bytes);
      const at = Math.floor(b.length / 2);
      b[at] = b[at]! ^ 0x20;
      writeFileSync(tampered, b);
      const bad = openssl(join(dir, PUBLIC_KEY_FILE), tampered, `${file}.sig`);
      expect(bad.status).not.toBe(0);
      expect(bad.out).toContain('Signature Verification Failure');
      expect(bad.out).not.toContain('Signature Verified Successfully');
    });
  }

  it('verifyFileBytes agrees with openssl, and refuses a signature of the wrong length', () => {
    const bytes = readFileSync(files.pdf!);
    const sig = readFileSync(`${files.pdf!}.sig`);
    const pub = createPublicKey(SIGNER_PUBLIC);
    expect(verifyFileBytes(bytes, sig, pub)).toBe(true);
    expect(verifyFileBytes(bytes, sig.subarray(0, 63), pub)).toBe(false);
    expect(verifyFileBytes(bytes, Buffer.concat([sig, Buffer.from([0])]), pub)).toBe(false);
    expect(verifyFileBytes(Buffer.concat([bytes, Buffer.from('\n')]), sig, pub)).toBe(false);
  });

  it('after a key rotation keeps the previous public key beside the new one, so older files still verify with openssl', () => {
    const rotated = mkdtempSync(join(dir, 'rotated-'));
    publishPublicKey(rotated, SIGNER_PRIVATE);
    const next = generateKeyPairSync('ed25519').privateKey;
    publishPublicKey(rotated, next);
    expect(readFileSync(join(rotated, PUBLIC_KEY_FILE), 'utf8')).toBe(createPublicKey(next).export({ type: 'spki', format: 'pem' }).toString());
    const kept = join(rotated, 'signing-key.5ab6f828ab1f70a9.pub.pem');
    expect(existsSync(kept)).toBe(true);
    expect(openssl(kept, files.json!, `${files.json!}.sig`).out).toContain('Signature Verified Successfully');
    // Publishing the same key again changes nothing.
    publishPublicKey(rotated, next);
    expect(readFileSync(join(rotated, PUBLIC_KEY_FILE), 'utf8')).toContain('BEGIN PUBLIC KEY');
  });
});

describe('what a v3 certificate says', () => {
  function issued(revokedAt: string, extra: Partial<ReturnType<typeof certificateInput>> = {}): SignedCertificate {
    const input = { ...certificateInput(), ...extra };
    input.revocation = { ...input.revocation, revokedAt };
    return signCertificate(buildCertificate(input), SIGNER_PRIVATE);
  }

  it('after an early revoke, access ended at the revocation, not at the end of term', async () => {
    const early = issued('2025-05-20T18:30:00.000Z');
    expect(early.certificate.accessEnded).toEqual({ at: '2025-05-20T18:30:00.000Z', reason: 'revoked early' });
    const parties = certificateView(early).parties;
    expect(parties.find((r) => r.label === 'Access ended')?.value).toBe('2025-05-20 14:30:00 EDT (America/New_York; 2025-05-20 18:30:00 UTC), revoked before the end of term');
    expect(parties.find((r) => r.label === 'Term')?.value).not.toMatch(/access ended/);
    expect(certificateSummary(early.certificate)).toContain('Access ended: 2025-05-20 14:30:00 EDT (America/New_York; 2025-05-20 18:30:00 UTC) (revoked early)');
    expect(await renderMarkdown(early)).toMatch(/\| Access ended \| 2025-05-20 14:30:00 EDT \(America\/New\\_York; 2025-05-20 18:30:00 UTC\), revoked before the end of term \|/);
  });

  it('revoked at or after the end of term (the nightly job), access ended at the end of term, which the targets enforce', () => {
    expect(issued('2025-06-06T04:00:00.000Z').certificate.accessEnded).toEqual({ at: '2025-06-06T00:00:00.000-04:00', reason: 'end of term' });
    expect(accessEnded('2025-06-06T00:00:00.000-04:00', '2025-06-07T09:00:00.000Z')).toEqual({ at: '2025-06-06T00:00:00.000-04:00', reason: 'end of term' });
    // One millisecond before the end is early.
    expect(accessEnded('2025-06-06T00:00:00.000-04:00', '2025-06-06T03:59:59.999Z').reason).toBe('revoked early');
  });

  it('prints every time in the host zone, named, with UTC beside it; dates stay dates', async () => {
    expect(hostTime('2025-01-15T17:05:09.000Z', 'America/New_York')).toBe('2025-01-15 12:05:09 EST (America/New_York; 2025-01-15 17:05:09 UTC)');
    expect(hostTime('2025-07-01T00:30:00.000Z', 'America/Los_Angeles')).toBe('2025-06-30 17:30:00 PDT (America/Los_Angeles; 2025-07-01 00:30:00 UTC)');
    const signed = issued('2025-05-20T18:30:00.000Z');
    expect(signed.certificate.assignment.term.timezone).toBe('America/New_York');
    const view = certificateView(signed);
    const zoned = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} E[DS]T \(America\/New_York; \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\)$/;
    for (const t of [view.issuedAt, view.revocation.revokedAt, ...view.revocation.targets.map((x) => x.verifiedAt)]) expect(t).toMatch(zoned);
    expect(view.issuedAt).toBe('2025-06-06 11:00:00 EDT (America/New_York; 2025-06-06 15:00:00 UTC)');
    // No bare ISO instant is left in what the certificate says (evidence lines are the targets' own words).
    const md = (await renderMarkdown(signed)).split('\n').filter((l) => !/^\s+- /.test(l)).join('\n');
    expect(md).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  });

  it('has signature lines for the performer and the validating official: name, title, date (SP 800-88 Appendix G)', async () => {
    const signed = issued('2025-06-06T04:00:00.000Z');
    expect(certificateView(signed).signatureLines).toEqual([
      { role: 'Person performing the sanitisation', name: 'Pat Lee', title: 'IT Specialist', date: '2025-06-06' },
      { role: 'Validating official (verified the sanitisation)', name: 'Dana Cruz', title: 'Disclosure Manager', date: '2025-06-06' },
    ]);
    const md = await renderMarkdown(signed);
    expect(md).toContain('## Signatures (NIST SP 800-88, Appendix G)');
    expect(md).toMatch(/\*\*Person performing the sanitisation\*\*\n\nSignature: (\\_)+ {2}\nName: Pat Lee {2}\nTitle: IT Specialist {2}\nDate: 2025-06-06/);
    expect(md).toMatch(/\*\*Validating official \(verified the sanitisation\)\*\*\n\nSignature: (\\_)+ {2}\nName: Dana Cruz {2}\nTitle: Disclosure Manager {2}\nDate: 2025-06-06/);
    const pdf = join(dir, 'lines.pdf');
    writeFileSync(pdf, await renderPdf(signed));
    const text = spawnSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(/Signatures \(NIST SP 800-88, Appendix G\)[\s\S]*Person performing the sanitisation[\s\S]*Signature[\s\S]*Name\s+Pat Lee[\s\S]*Title\s+IT Specialist[\s\S]*Date\s+2025-06-06[\s\S]*Validating official \(verified the sanitisation\)[\s\S]*Signature[\s\S]*Name\s+Dana Cruz[\s\S]*Date\s+2025-06-06/);
  });

  it('renders the per-target proof of revocation one line each when the record carries it, and says nothing when it does not', async () => {
    const withProof = issued('2025-06-06T04:00:00.000Z', {
      revocationProof: [
        { target: 'ldap', summary: 'bind refused (invalidCredentials) at 2025-06-06 04:00:05 UTC' },
        { target: 'aws', summary: 'DenyAll attached; no active access key' },
      ],
    });
    expect(withProof.certificate.revocationProof).toHaveLength(2);
    const md = await renderMarkdown(withProof);
    expect(md).toContain('- **ldap**: bind refused (invalidCredentials) at 2025-06-06 04:00:05 UTC\n- **aws**: DenyAll attached; no active access key\n');
    expect(certificateSummary(withProof.certificate)).toContain('  proof, aws: DenyAll attached; no active access key');
    const pdf = join(dir, 'proof.pdf');
    writeFileSync(pdf, await renderPdf(withProof));
    expect(spawnSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).stdout).toMatch(/Proof of revocation, one line per target:\s*\n\s*ldap\s+bind refused \(invalidCredentials\)/);

    const without = issued('2025-06-06T04:00:00.000Z');
    expect('revocationProof' in without.certificate).toBe(false);
    expect(await renderMarkdown(without)).not.toContain('Proof of revocation');
    expect(() => issued('2025-06-06T04:00:00.000Z', { revocationProof: [{ target: 'ldap', summary: 'user 123-45-6789 locked' }] })).toThrow(InputError);
  });
});
