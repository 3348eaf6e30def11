import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../../src/errors.js';
import { buildCertificate } from '../../src/offboarding/certificate.js';
import { serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { signFileBytes } from '../../src/offboarding/file-signature.js';
import { extractFromPdf, inflateLimit, MAX_ATTACHMENT_BYTES } from '../../src/offboarding/pdf-extract.js';
import { readCertificateDocument, verifyCertificate } from '../../src/offboarding/verify.js';
import { pdfWith, zlibBomb } from '../helpers/hostile.js';
import { certificateInput, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';

/**
 * Certificate files built to hurt the verifier: attachments that inflate to gigabytes, and JSON
 * that mentions the PDF header.
 */

function refusal(fn: () => unknown): VerificationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VerificationError);
    return e as VerificationError;
  }
  throw new Error('expected a refusal');
}

describe('decompression of PDF attachments is bounded', () => {
  it('refuses a 1 GiB zlib bomb with exit 3 after inflating no more than the limit, in well under a second', () => {
    const bomb = zlibBomb(1024);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const pdf = pdfWith([bomb]);
    const t0 = performance.now();
    const e = refusal(() => extractFromPdf(pdf));
    const ms = performance.now() - t0;
    expect(e.exit).toBe(3);
    expect(e.code).toBe('certificate.pdf-bomb');
    expect(e.message).toMatch(/inflates to more than 4194304 bytes/);
    expect(ms).toBeLessThan(500);
  });

  it('refuses a stream that inflates beyond 100:1 even under the size limit', () => {
    // 2 MiB of zeros deflates to about 2 KiB: 1000:1, under the 4 MiB cap but far past the ratio.
    const dense = deflateSync(Buffer.alloc(2 * 1024 * 1024), { level: 9 });
    expect(inflateLimit(dense.length, MAX_ATTACHMENT_BYTES)).toBeLessThan(2 * 1024 * 1024);
    expect(refusal(() => extractFromPdf(pdfWith([dense]))).code).toBe('certificate.pdf-bomb');
  });

  it('bounds the total over many streams, each within its own limit', () => {
    // Random bytes do not compress, so each stream is within the ratio; together they pass 4 MiB.
    const chunk = deflateSync(Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24)), { level: 0 });
    const e = refusal(() => extractFromPdf(pdfWith([chunk, chunk, chunk, chunk, chunk])));
    expect(e.code).toBe('certificate.pdf-bomb');
  });

  it('still reads a genuine attachment, which is far inside the limits', async () => {
    const signed = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
    const text = serializeSignedCertificate(signed);
    const doc = extractFromPdf(pdfWith([deflateSync(Buffer.from(text))]));
    expect(doc).toEqual(JSON.parse(text));
    // The limits leave room: the real record is a small fraction of them.
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_ATTACHMENT_BYTES / 100);
    const bytes = Buffer.from(text);
    await expect(verifyCertificate(bytes, SIGNER_PUBLIC, { signature: signFileBytes(bytes, SIGNER_PRIVATE) })).resolves.toMatchObject({ format: 'json', fileSignature: 'verified' });
  });
});

describe('JSON or PDF', () => {
  it('reads certificate JSON that contains the text %PDF- as JSON, and it verifies as issued', async () => {
    const input = certificateInput();
    input.assignment.detailee.homeAgency = 'Office of %PDF-1.7 Archives';
    const bytes = Buffer.from(serializeSignedCertificate(signCertificate(buildCertificate(input), SIGNER_PRIVATE)));
    expect(bytes.subarray(0, 1024).toString('latin1')).toContain('%PDF-');
    expect(readCertificateDocument(bytes).format).toBe('json');
    await expect(verifyCertificate(bytes, SIGNER_PUBLIC, { signature: signFileBytes(bytes, SIGNER_PRIVATE) })).resolves.toMatchObject({ format: 'json', file: 'as-issued' });
  });

  it('still reads a PDF as a PDF, and JSON with a BOM or leading blank lines as JSON', () => {
    expect(readCertificateDocument(pdfWith([deflateSync(Buffer.from('{"certificate": {}}'))])).format).toBe('pdf');
    expect(readCertificateDocument(Buffer.from('\ufeff\n  {"a": "%PDF-"}')).format).toBe('json');
  });
});
