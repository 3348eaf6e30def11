import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, VerificationError } from '../../src/errors.js';
import { buildCertificate, canonicalBytes, certificateHash, type SignedCertificate } from '../../src/offboarding/certificate.js';
import { generateSigningKey, serializeSignedCertificate, signCertificate, verifySignedCertificate } from '../../src/offboarding/certificate-sign.js';
import { ed25519KeyId } from '../../src/crypto/jws.js';
import { verifyCertificateFile } from '../../src/offboarding/verify.js';
import { certificateSummary } from '../../src/offboarding/view.js';
import { certificateInput, ISSUED_AT, OTHER_PRIVATE, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';

async function verificationFailure(fn: () => Promise<unknown>): Promise<VerificationError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    expect((e as VerificationError).exit).toBe(3);
    return e as VerificationError;
  }
  throw new Error('expected verification to fail');
}

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('buildCertificate', () => {
  it('carries every SP 800-88 field per media item, and no taxpayer data', () => {
    const cert = buildCertificate(certificateInput());
    expect(cert.certificateVersion).toBe('detailee/certificate/v3');
    expect(cert.id).toMatch(/^DC-irs-2025-017-[0-9a-f]{12}$/);
    // The answers file gives no signature dates: both are the offboarding day.
    expect(cert.performedBy).toMatchObject({ name: 'Pat Lee', signedOn: '2025-06-06' });
    expect(cert.validatedBy).toMatchObject({ name: 'Dana Cruz', signedOn: '2025-06-06' });
    expect(cert.media).toHaveLength(4);
    const hdd = cert.media[2]!;
    expect(hdd).toMatchObject({
      item: 3,
      entry: 'F-0003',
      mediaType: 'hdd',
      make: 'Seagate',
      model: 'ST1000',
      serialNumber: 'ZN1A2B3C',
      propertyNumber: 'IRS-PROP-5521',
      source: 'arivera: HQ room 4-210, safe B',
      preSanitizationCategorization: expect.stringContaining('FTI'),
      backedUp: 'unknown',
      method: 'Purge',
      technique: 'sanitize-overwrite',
      methodDetails: 'one pass, zeros',
      tool: { name: 'hdparm', version: '9.65' },
      date: '2025-06-05',
      verification: { method: 'sampling', verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' } },
      destination: 'internal reuse',
    });
    expect(hdd.postSanitizationCategorization).toMatch(/no FTI remains/);
    const returned = cert.media[1]!;
    expect(returned).toMatchObject({ action: 'returned', method: null, destination: 'returned to source', receipt: expect.stringContaining('R-77') });
    expect(cert.media[3]!.cryptographicErase).toEqual({ encryptedFromStart: true, keyCopiesDestroyed: true });
    expect(cert.ftiLog.map((e) => [e.id, e.disposition.action])).toEqual([
      ['F-0001', 'destroyed'],
      ['F-0002', 'returned'],
      ['F-0003', 'destroyed'],
      ['F-0004', 'destroyed'],
    ]);
    expect(cert.revocation.targets.map((t) => t.target)).toEqual(['ldap', 'aws']);
    expect(cert.auditHead).toEqual({ seq: 42, hash: 'b'.repeat(64) });
    expect(cert.propertyReturned).toEqual(['badge', 'laptop']);
    expect(cert.acknowledgement).toMatchObject({ signedBy: 'Alex Rivera', signedOn: '2025-06-05', controls: expect.arrayContaining(['PS-4(1)']) });
    expect(cert.acknowledgement.statement).toMatch(/6103/);
  });

  it('is deterministic: same input, same id, hash and bytes', () => {
    const a = buildCertificate(certificateInput());
    const b = buildCertificate(certificateInput());
    expect(b.id).toBe(a.id);
    expect(certificateHash(b)).toBe(certificateHash(a));
    expect(canonicalBytes(b).equals(canonicalBytes(a))).toBe(true);
    expect(serializeSignedCertificate(signCertificate(b, SIGNER_PRIVATE))).toBe(serializeSignedCertificate(signCertificate(a, SIGNER_PRIVATE)));
  });

  it('gives another id when any content differs', () => {
    const a = buildCertificate(certificateInput());
    const b = buildCertificate({ ...certificateInput(), issuedAt: '2025-06-07T15:00:00.000Z' });
    expect(b.id).not.toBe(a.id);
  });

  it('hashes the RFC 8785 form, whatever the key order', () => {
    const cert = buildCertificate(certificateInput());
    const reordered = Object.fromEntries(Object.entries(cert).reverse()) as typeof cert;
    expect(certificateHash(reordered)).toBe(certificateHash(cert));
    expect(certificateHash(cert)).toBe(createHash('sha256').update(canonicalBytes(cert)).digest('hex'));
  });

  it('refuses to certify an entry without a disposition', () => {
    const input = certificateInput();
    input.answers = { ...input.answers, dispositions: input.answers.dispositions.slice(1) };
    expect(() => buildCertificate(input)).toThrow(InputError);
  });

  it('refuses to certify without verified revocation', () => {
    const input = certificateInput();
    input.revocation = { ...input.revocation, targets: [] };
    expect(() => buildCertificate(input)).toThrow(/revocation/);
  });
});

describe('sign and verify', () => {
  const signed = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
  const signerKid = ed25519KeyId(createPublicKey(SIGNER_PUBLIC));

  it('signs with a detached EdDSA JWS naming the raw-key hash', () => {
    const header = JSON.parse(Buffer.from(signed.signature.protected, 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'EdDSA', kid: signerKid });
    expect(signerKid).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(signed.hash).toBe(certificateHash(signed.certificate));
    expect(signed.publicKey).toBe(SIGNER_PUBLIC);
  });

  it('verifies, with and without the trusted key, after a JSON round trip', async () => {
    const doc = JSON.parse(serializeSignedCertificate(signed)) as unknown;
    expect(await verifySignedCertificate(doc)).toMatchObject({ hash: signed.hash, keyId: signerKid });
    expect((await verifySignedCertificate(doc, SIGNER_PUBLIC)).certificate.id).toBe(signed.certificate.id);
    expect((await verifyCertificateFile(Buffer.from(serializeSignedCertificate(signed)), SIGNER_PUBLIC)).format).toBe('json');
  });

  it('fails when one field of the certificate changes', async () => {
    const doc = copy(signed);
    doc.certificate.media[0]!.technique = 'recycled intact';
    expect((await verificationFailure(() => verifySignedCertificate(doc))).code).toBe('certificate.hash');
  });

  it('fails when a field changes and the recorded hash is updated to match', async () => {
    const doc = copy(signed);
    doc.certificate.performedBy.name = 'Someone Else';
    doc.hash = certificateHash(doc.certificate);
    expect((await verificationFailure(() => verifySignedCertificate(doc))).code).toBe('certificate.id');
  });

  it('fails when the signature changes', async () => {
    const doc = copy(signed);
    const sig = Buffer.from(doc.signature.signature, 'base64url');
    sig[10] = sig[10]! ^ 0x01;
    doc.signature.signature = sig.toString('base64url');
    expect((await verificationFailure(() => verifySignedCertificate(doc))).code).toBe('certificate.signature');
  });

  it('fails when the embedded key is swapped without re-signing', async () => {
    const doc: SignedCertificate = { ...copy(signed), publicKey: generateSigningKey().publicPem };
    expect((await verificationFailure(() => verifySignedCertificate(doc))).code).toBe('certificate.key-id');
  });

  it('a forger re-signing with their own key passes alone, and fails against the real signer with --key', async () => {
    const forged = signCertificate(copy(signed.certificate), OTHER_PRIVATE);
    await expect(verifySignedCertificate(forged)).resolves.toBeDefined();
    const err = await verificationFailure(() => verifySignedCertificate(forged, SIGNER_PUBLIC));
    expect(err.code).toBe('certificate.untrusted-key');
    expect(err.message).toContain(signerKid);
  });

  it('still verifies a v1 certificate, issued before signatures were dated, and prints it without dates', async () => {
    const corpus = join(import.meta.dirname, '..', 'corpus');
    const v1 = readFileSync(join(corpus, 'certificates', 'valid.json'));
    const check = await verifyCertificateFile(v1, readFileSync(join(corpus, 'keys', 'test-certificate-signing.pub.pem'), 'utf8'));
    expect(check.certificate.certificateVersion).toBe('detailee/certificate/v1');
    expect(check.certificate.performedBy.signedOn).toBeUndefined();
    expect(certificateSummary(check.certificate).find((l) => l.startsWith('Performed by'))).not.toContain('signed on');
  });

  it('prints the signature dates of a v2 certificate', () => {
    const lines = certificateSummary(signed.certificate);
    expect(lines).toContain('Performed by: Pat Lee, IT Specialist, IRS IT; signed on 2025-06-06');
    expect(lines.find((l) => l.startsWith('Validated by'))).toMatch(/; signed on 2025-06-06$/);
  });

  it('refuses things that are not signed certificates', async () => {
    expect((await verificationFailure(() => verifySignedCertificate({ certificate: {} }))).code).toBe('certificate.format');
    expect((await verificationFailure(() => verifySignedCertificate({ ...copy(signed), certificate: { ...copy(signed.certificate), certificateVersion: 'v0' } }))).code).toBe(
      'certificate.version',
    );
    expect((await verificationFailure(() => verifyCertificateFile(Buffer.from('not json')))).code).toBe('certificate.format');
  });

  it('refuses a signing key that is not Ed25519', () => {
    expect(() => signCertificate(signed.certificate, 'garbage')).toThrow(InputError);
  });

  it('generates Ed25519 keys whose signatures verify', async () => {
    const k = generateSigningKey();
    expect(k.privatePem).toContain('BEGIN PRIVATE KEY');
    const s = signCertificate(buildCertificate({ ...certificateInput(), issuedAt: ISSUED_AT }), k.privatePem);
    await expect(verifySignedCertificate(s, k.publicPem)).resolves.toBeDefined();
  });
});
