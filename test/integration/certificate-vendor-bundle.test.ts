import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCertificate, type SignedCertificate } from '../../src/offboarding/certificate.js';
import { signCertificate } from '../../src/offboarding/certificate-sign.js';
import type * as PdfLibrariesModule from '../../src/offboarding/pdf-libraries.js';
import type { PdfLibraries } from '../../src/offboarding/pdf-libraries.js';
import { renderPdf } from '../../src/offboarding/render-pdf.js';
import { certificateInput, entries, SIGNER_PRIVATE } from '../helpers/offboarding-fixtures.js';

// The built CLI renders with dist/vendor/pdf.js (scripts/bundle.mjs), the tests with the packages:
// a certificate must come out the same bytes from both, or `certificate verify` would reject PDFs
// issued by the other.
const root = join(import.meta.dirname, '..', '..');
const bundlePath = join(root, 'dist', 'vendor', 'pdf.js');
const corpus = join(import.meta.dirname, '..', 'corpus', 'certificates');

async function pdfkitPackage(): Promise<PdfLibraries['PDFDocument']> {
  return (await import('pdfkit')).default;
}

/** A one-page document in pdfkit's default font (Helvetica, from its bundled standard-font data). */
async function helveticaPdf(PDFDocument: PdfLibraries['PDFDocument']): Promise<Buffer> {
  const at = new Date('2025-06-06T15:00:00Z');
  const doc = new PDFDocument({ info: { CreationDate: at, ModDate: at } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  doc.on('data', (c: Buffer) => chunks.push(c));
  doc.text('Helvetica, the default font').font('Times-Roman').text('and Times');
  doc.end();
  return done;
}

describe('the bundled PDF libraries (dist/vendor/pdf.js)', () => {
  let bundle: PdfLibraries;

  beforeAll(async () => {
    if (!existsSync(bundlePath)) throw new Error(`${bundlePath} is missing: run \`npm run build\` first`);
    bundle = (await import(pathToFileURL(bundlePath).href)) as PdfLibraries;
  });

  it('are what the built renderer loads', async () => {
    const built = (await import(pathToFileURL(join(root, 'dist', 'src', 'offboarding', 'pdf-libraries.js')).href)) as typeof PdfLibrariesModule;
    const loaded = await built.loadPdfModules();
    expect(loaded.PDFDocument).toBe(bundle.PDFDocument);
    expect(loaded.createQr).toBe(bundle.createQr);
    expect(bundle.PDFDocument).not.toBe(await pdfkitPackage());
  });

  it('render a v3 certificate to the same bytes as the packages', async () => {
    const signed = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
    expect(signed.certificate.certificateVersion).toBe('detailee/certificate/v3');
    expect((await renderPdf(signed, bundle)).equals(await renderPdf(signed))).toBe(true);
  });

  it('re-render the v2 certificate of the corpus to the bytes it was issued with', async () => {
    const signed = JSON.parse(readFileSync(join(corpus, 'valid-v2.json'), 'utf8')) as SignedCertificate;
    expect(signed.certificate.certificateVersion).toBe('detailee/certificate/v2');
    expect((await renderPdf(signed, bundle)).equals(readFileSync(join(corpus, 'valid-v2.pdf')))).toBe(true);
  });

  it('render a v3 certificate set partly in the full, shaped fonts to the same bytes as the packages', async () => {
    const input = certificateInput();
    input.assignment.detailee.familyName = 'Дмитриев Ζωή';
    input.answers.performedBy.title = 'Ingénieur ✓ Ω';
    input.entries = entries().map((e, i) => (i === 0 ? { ...e, description: 'Φάκελοι υποθέσεων' } : e));
    const signed = signCertificate(buildCertificate(input), SIGNER_PRIVATE);
    expect((await renderPdf(signed, bundle)).equals(await renderPdf(signed))).toBe(true);
  });

  it('re-render the v1 certificate of the corpus to the bytes it was issued with', async () => {
    const signed = JSON.parse(readFileSync(join(corpus, 'valid.json'), 'utf8')) as SignedCertificate;
    expect(signed.certificate.certificateVersion).toBe('detailee/certificate/v1');
    expect((await renderPdf(signed, bundle)).equals(readFileSync(join(corpus, 'valid.pdf')))).toBe(true);
  });

  it("load pdfkit's standard fonts, which the package reads through its own imports", async () => {
    const bytes = await helveticaPdf(bundle.PDFDocument);
    expect(bytes.toString('latin1')).toContain('/BaseFont /Helvetica');
    expect(bytes.equals(await helveticaPdf(await pdfkitPackage()))).toBe(true);
  });

  it('still encrypt a document, AES being loaded only then', async () => {
    const doc = new bundle.PDFDocument({ pdfVersion: '1.7ext3', userPassword: 'x' });
    const chunks: Buffer[] = [];
    const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.text('sealed').end();
    expect((await done).toString('latin1')).toMatch(/\/Encrypt \d+ 0 R/);
  });

  it('refuse a WOFF2 font with a clear error, brotli being left out', () => {
    // A WOFF2 header and a directory of one transformed glyf table: the first glyph needs brotli.
    const woff2 = Buffer.alloc(48 + 3 + 8);
    woff2.write('wOF2', 0, 'latin1');
    woff2.writeUInt32BE(0x00010000, 4);
    woff2.writeUInt32BE(woff2.length, 8);
    woff2.writeUInt16BE(1, 12);
    woff2.writeUInt32BE(100, 16);
    woff2.writeUInt32BE(8, 20);
    woff2.set([10, 10, 10], 48);
    const doc = new bundle.PDFDocument();
    expect(() => doc.font(woff2)).toThrow(/WOFF2 fonts are not supported by the bundled PDF libraries/);
  });

  it("unpack DEFLATE streams with Node's zlib exactly as tiny-inflate does, the shim standing in for it", () => {
    type Inflate = (source: Uint8Array, dest: Uint8Array) => Uint8Array;
    const require = createRequire(import.meta.url);
    const tiny = require('tiny-inflate') as Inflate;
    const native = require('../../scripts/tiny-inflate-native.cjs') as Inflate;
    expect(readFileSync(bundlePath, 'utf8')).toContain('scripts/tiny-inflate-native.cjs');
    let seed = 7;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % 23);
    for (const plain of [bytes(0), bytes(1), bytes(70_000), new Uint8Array(5000)]) {
      const packed = deflateRawSync(plain);
      // A destination of the exact size comes back itself; a larger one as its filled part.
      for (const size of [plain.length, plain.length + 10]) {
        const a = tiny(packed, new Uint8Array(size));
        const b = native(packed, new Uint8Array(size));
        expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
        expect(b.length).toBe(plain.length);
      }
      const exact = new Uint8Array(plain.length);
      expect(native(packed, exact)).toBe(exact);
    }
  });
});
