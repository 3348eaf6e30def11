import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InputError, VerificationError } from '../../src/errors.js';
import { buildCertificate, type SignedCertificate } from '../../src/offboarding/certificate.js';
import { serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { escapeMarkdown, renderMarkdown } from '../../src/offboarding/render-markdown.js';
import { inSubset } from '../../src/offboarding/pdf-fonts.js';
import { extractFromPdf } from '../../src/offboarding/pdf-extract.js';
import { qrRuns } from '../../src/offboarding/pdf-qr.js';
import { renderPdf } from '../../src/offboarding/render-pdf.js';
import { verifyCertificate, verifyCertificateFile } from '../../src/offboarding/verify.js';
import { certificateInput, entries, OTHER_PRIVATE, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';

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

const signed: SignedCertificate = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
const id = signed.certificate.id;

/** Offsets of the attached file's stream data and the dictionary before it. */
function embeddedStream(pdf: Buffer): { dictStart: number; dataStart: number; dataEnd: number } {
  const s = pdf.toString('latin1');
  const type = s.indexOf('/Type /EmbeddedFile\n');
  const dictStart = s.lastIndexOf('<<', type);
  const dataStart = s.indexOf('stream\n', type) + 'stream\n'.length;
  const dataEnd = s.indexOf('\nendstream', dataStart);
  return { dictStart, dataStart, dataEnd };
}

describe('renderMarkdown', () => {
  it('renders the certificate fields from the packaged template', async () => {
    const md = await renderMarkdown(signed);
    expect(md).toContain(`**Certificate:** ${id}`);
    expect(md).toContain('Alex Rivera');
    expect(md).toContain('| Technique | cross-cut-shred |');
    expect(md).toContain('| Method details | particle size 1 mm x 5 mm |');
    expect(md).toContain('| Receipt | Receipt R-77 signed by the IRS Office of Safeguards |');
    expect(md).toContain(signed.hash);
    expect(md).toContain('PS-4(1)');
    expect(md).not.toContain('{{');
  });

  it('escapes Markdown in certificate content so it cannot reshape the document', async () => {
    const input = certificateInput();
    input.entries = entries().map((e, i) => (i === 0 ? { ...e, description: 'Batch | *7* [x](javascript:alert(1)) <b>' } : e));
    const md = await renderMarkdown(signCertificate(buildCertificate(input), SIGNER_PRIVATE));
    expect(md).toContain('Batch \\| \\*7\\* \\[x\\](javascript:alert(1)) \\<b\\>');
    expect(escapeMarkdown('line\nbreak')).toBe('line break');
    expect(escapeMarkdown('- item')).toBe('\\- item');
  });

  it('renders a user template with plain data only', async () => {
    expect(await renderMarkdown(signed, '{{id}} for {{detaileeName}}{{#media}};{{heading}}{{/media}}')).toBe(
      `${id} for Alex Rivera;Item 1: FTI log entry F-0001 (paper);Item 2: FTI log entry F-0002 (USB flash drive or memory card);Item 3: FTI log entry F-0003 (hard disk drive);Item 4: FTI log entry F-0004 (cloud or virtual storage)`,
    );
  });

  it('shows when the performer and the validating official signed', async () => {
    const md = await renderMarkdown(signed);
    const section = (title: string) => md.slice(md.indexOf(`## ${title}`), md.indexOf('\n## ', md.indexOf(`## ${title}`) + 3));
    expect(section('Person performing the return or destruction')).toContain('| Signed on | 2025-06-06 |');
    expect(section('Validating official')).toContain('| Signed on | 2025-06-06 |');
  });

  it('refuses a broken template (exit 2)', async () => {
    await expect(renderMarkdown(signed, '{{#media}} unclosed')).rejects.toThrow(InputError);
  });

  it('refuses to render a certificate that does not verify', async () => {
    const doc = JSON.parse(serializeSignedCertificate(signed)) as SignedCertificate;
    doc.certificate.issuer = 'someone.else';
    await expect(renderMarkdown(doc)).rejects.toThrow(VerificationError);
  });
});

describe('renderPdf', () => {
  let dir: string;
  let pdf: Buffer;
  let pdfPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'detailee-cert-'));
    pdf = await renderPdf(signed);
    pdfPath = join(dir, `${id}.pdf`);
    writeFileSync(pdfPath, pdf);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders byte-identical PDFs from the same certificate, whatever the clock says', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2031-01-02T03:04:05Z'));
    let again: Buffer;
    try {
      again = await renderPdf(signed);
    } finally {
      vi.useRealTimers();
    }
    expect(again.equals(pdf)).toBe(true);
    expect(pdf.subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');
  });

  it('fixes the dates to issuedAt', () => {
    const s = pdf.toString('latin1');
    expect(s).toContain('/CreationDate (D:20250606150000Z)');
    expect(s).not.toMatch(/D:(?!20250606150000Z)\d{14}/);
  });

  it('passes qpdf --check', () => {
    expect(execFileSync('qpdf', ['--check', pdfPath], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
  });

  it('shows the certificate id, the detailee and the QR text as text', () => {
    const text = execFileSync('pdftotext', ['-layout', pdfPath, '-'], { encoding: 'utf8' });
    expect(text).toContain(id);
    expect(text).toContain('Alex Rivera');
    expect(text).toContain('cross-cut-shred');
    expect(text).toContain('particle size 1 mm x 5 mm');
    expect(text.replace(/\s+/g, '')).toContain(`detailee:cert:${id}:${signed.hash}`);
    expect(text.match(/Signed on\s+2025-06-0[56]/g)).toHaveLength(3); // performer, acknowledgement, validating official
  });

  it('keeps the XMP metadata well-formed whatever the names hold', async () => {
    const input = certificateInput();
    input.issuer = 'R&D <ops>';
    const out = await renderPdf(signCertificate(buildCertificate(input), SIGNER_PRIVATE));
    const xmp = out.toString('utf8');
    expect(xmp).toContain('<dc:creator>');
    expect(xmp).toContain('<rdf:li>R+D ops</rdf:li>');
  });

  it('re-renders a certificate issued by an earlier version to the very bytes it was issued with', async () => {
    // valid.pdf (v1) was rendered when valid.json was issued; --deep compares a re-rendering byte for byte.
    const corpus = join(import.meta.dirname, '..', 'corpus', 'certificates');
    const key = readFileSync(join(import.meta.dirname, '..', 'corpus', 'keys', 'test-certificate-signing.pub.pem'), 'utf8');
    const old = readFileSync(join(corpus, 'valid.pdf'));
    expect(await renderPdf(JSON.parse(readFileSync(join(corpus, 'valid.json'), 'utf8')) as SignedCertificate)).toEqual(old);
    expect(await verifyCertificate(old, key, { deep: true })).toMatchObject({ format: 'pdf', file: 'as-issued', rendering: 'identical', fileSignature: 'absent' });
    // Without --deep and without a .sig, the record verifies and the file's bytes are not vouched for.
    expect(await verifyCertificate(old, key)).toMatchObject({ format: 'pdf', file: 'not-checked', rendering: 'not-compared', fileSignature: 'absent' });
  });

  it('re-renders a v2 certificate (issued before .sig files) to its PDF and Markdown bytes', async () => {
    const corpus = join(import.meta.dirname, '..', 'corpus', 'certificates');
    const v2 = JSON.parse(readFileSync(join(corpus, 'valid-v2.json'), 'utf8')) as SignedCertificate;
    expect(v2.certificate.certificateVersion).toBe('detailee/certificate/v2');
    const pdfV2 = readFileSync(join(corpus, 'valid-v2.pdf'));
    expect((await renderPdf(v2)).equals(pdfV2)).toBe(true);
    expect(await renderMarkdown(v2)).toBe(readFileSync(join(corpus, 'valid-v2.md'), 'utf8'));
    expect(await verifyCertificate(pdfV2, SIGNER_PUBLIC, { deep: true })).toMatchObject({ format: 'pdf', file: 'as-issued', rendering: 'identical' });
    expect(await verifyCertificate(readFileSync(join(corpus, 'valid-v2.json')), SIGNER_PUBLIC, { deep: true })).toMatchObject({ format: 'json', file: 'as-issued' });
    expect(await verifyCertificate(pdfV2, SIGNER_PUBLIC)).toMatchObject({ file: 'not-checked' });
  });

  it('renders names in any script the font has, accents included, from the full font where the subset lacks a character', async () => {
    const input = certificateInput();
    input.assignment.detailee.givenName = 'José Ñúñez-Łukasz';
    input.assignment.detailee.familyName = 'Дмитриев Ζωή';
    input.answers.validatedBy.organization = 'Bureau für Straßenbau “Süd” – ½';
    input.answers.performedBy.title = 'Ingénieur ✓ Ω';
    input.entries = entries().map((e, i) => (i === 0 ? { ...e, description: 'Φάκελοι υποθέσεων' } : e));
    const intl = signCertificate(buildCertificate(input), SIGNER_PRIVATE);
    const bytes = await renderPdf(intl);
    const out = join(dir, 'intl.pdf');
    writeFileSync(out, bytes);
    const text = execFileSync('pdftotext', ['-layout', out, '-'], { encoding: 'utf8' });
    for (const s of ['José Ñúñez-Łukasz', 'Дмитриев Ζωή', 'Bureau für Straßenbau “Süd” – ½', 'Ingénieur ✓ Ω', 'F-0001: Φάκελοι υποθέσεων']) expect(text).toContain(s);
    // The subsets, and the full faces for the texts that need them (the entry's heading is bold).
    const fonts = execFileSync('pdffonts', [out], { encoding: 'utf8' });
    expect(fonts).toMatch(/\+DejaVuSans\s.*yes\s+yes\s+yes/);
    expect(fonts).toMatch(/\+DejaVuSans-Bold\s.*yes\s+yes\s+yes/);
    expect(fonts).toMatch(/\+DejaVuSansCertificate\s.*yes\s+yes\s+yes/);
    expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
    expect((await renderPdf(intl)).equals(bytes)).toBe(true);
    expect(await verifyCertificate(bytes, SIGNER_PUBLIC, { deep: true })).toMatchObject({ format: 'pdf', file: 'as-issued' });
  });

  it('embeds the subset fonts only, for a certificate in Latin script', () => {
    const fonts = execFileSync('pdffonts', [pdfPath], { encoding: 'utf8' });
    expect(fonts).toMatch(/\+DejaVuSansCertificate\s.*yes\s+yes\s+yes/);
    expect(fonts).toMatch(/\+DejaVuSansCertificate-Bold\s.*yes\s+yes\s+yes/);
    expect(fonts).not.toMatch(/\+DejaVuSans(-Bold)?\s/);
    expect(fonts).not.toContain('Helvetica');
  });

  it('verifies as issued with --deep: the PDF is what a re-rendering gives', async () => {
    expect(signed.certificate.certificateVersion).toBe('detailee/certificate/v3');
    expect(await verifyCertificate(pdf, SIGNER_PUBLIC, { deep: true })).toMatchObject({ format: 'pdf', file: 'as-issued', rendering: 'identical', fileSignature: 'absent' });
  });

  it('refuses a v3 PDF whose .sig is missing unless --deep or --record-only says what to check instead', async () => {
    const err = await verifyCertificate(pdf, SIGNER_PUBLIC).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).code).toBe('certificate.sig-missing');
    expect((err as VerificationError).actions.join(' ')).toMatch(/--deep.*--record-only/);
    expect(await verifyCertificate(pdf, SIGNER_PUBLIC, { recordOnly: true })).toMatchObject({ file: 'not-checked', fileSignature: 'not-checked' });
  });

  it('attaches the signed JSON, which pdfdetach saves and which verifies', async () => {
    expect(execFileSync('pdfdetach', ['-list', pdfPath], { encoding: 'utf8' })).toContain(`${id}.json`);
    const out = join(dir, 'saved.json');
    execFileSync('pdfdetach', ['-save', '1', '-o', out, pdfPath]);
    const saved = readFileSync(out);
    expect(saved.toString('utf8')).toBe(serializeSignedCertificate(signed));
    expect((await verifyCertificateFile(saved, SIGNER_PUBLIC)).hash).toBe(signed.hash);
  });

  it('extracts the attachment itself and verifies the PDF offline', async () => {
    expect(extractFromPdf(pdf)).toEqual(JSON.parse(serializeSignedCertificate(signed)));
    const check = await verifyCertificateFile(pdf, SIGNER_PUBLIC);
    expect(check).toMatchObject({ format: 'pdf', hash: signed.hash });
    expect(check.certificate.id).toBe(id);
  });

  it('still verifies after qpdf rewrites the file (object streams, QDF)', async () => {
    for (const args of [['--object-streams=generate'], ['--qdf']]) {
      const out = join(dir, 'rewritten.pdf');
      execFileSync('qpdf', [...args, pdfPath, out]);
      expect((await verifyCertificateFile(readFileSync(out), SIGNER_PUBLIC)).hash).toBe(signed.hash);
    }
  });

  it('fails verification when one byte of the attachment changes', async () => {
    const { dataStart, dataEnd } = embeddedStream(pdf);
    for (const at of [dataStart + 5, Math.floor((dataStart + dataEnd) / 2), dataEnd - 2]) {
      const damaged = Buffer.from(pdf);
      damaged[at] = damaged[at]! ^ 0x20;
      await verificationFailure(() => verifyCertificateFile(damaged));
    }
  });

  it('fails verification when the attachment is replaced by an edited JSON', async () => {
    const { dictStart, dataStart, dataEnd } = embeddedStream(pdf);
    const json = inflateSync(pdf.subarray(dataStart, dataEnd)).toString('utf8');
    const edited = deflateSync(Buffer.from(json.replace('particle size 1 mm x 5 mm', 'particle size 2x9 mm'), 'utf8'));
    const dict = pdf.subarray(dictStart, dataStart).toString('latin1').replace(/\/Length \d+/, `/Length ${edited.length}`);
    const forged = Buffer.concat([pdf.subarray(0, dictStart), Buffer.from(dict, 'latin1'), edited, pdf.subarray(dataEnd)]);
    expect(JSON.stringify(extractFromPdf(forged))).toContain('2x9 mm');
    expect((await verificationFailure(() => verifyCertificateFile(forged))).code).toBe('certificate.hash');
  });

  it('a PDF re-signed by another key verifies alone and fails against the real signer', async () => {
    const forged = await renderPdf(signCertificate(signed.certificate, OTHER_PRIVATE));
    await expect(verifyCertificateFile(forged)).resolves.toBeDefined();
    expect((await verificationFailure(() => verifyCertificateFile(forged, SIGNER_PUBLIC))).code).toBe('certificate.untrusted-key');
  });

  it('reports a PDF without an attachment', async () => {
    const { dictStart } = embeddedStream(pdf);
    const stripped = Buffer.from(pdf.toString('latin1').replace('/Type /EmbeddedFile', '/Type /XXXXXXXXXXXX'), 'latin1');
    expect(dictStart).toBeGreaterThan(0);
    expect((await verificationFailure(() => verifyCertificateFile(stripped))).code).toBe('certificate.pdf-no-attachment');
  });
});

describe('the QR code as a reader sees it', () => {
  it('decodes, from the rasterised PDF, to detailee:cert:<id>:<hash>', async () => {
    const jsQR = (await import('jsqr')).default as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
    const dir = mkdtempSync(join(tmpdir(), 'detailee-qr-'));
    try {
      const pdfFile = join(dir, 'c.pdf');
      writeFileSync(pdfFile, await renderPdf(signed));
      // Grey PGM pages (P5): a header and one byte a pixel, simple enough to read without a PNG decoder.
      execFileSync('pdftoppm', ['-r', '150', '-gray', pdfFile, join(dir, 'page')]);
      const found: string[] = [];
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.pgm')).sort()) {
        const bytes = readFileSync(join(dir, f));
        const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 64).toString('latin1'));
        expect(header, f).not.toBeNull();
        const [width, height] = [Number(header![1]), Number(header![2])];
        const grey = bytes.subarray(header![0].length);
        const rgba = new Uint8ClampedArray(width * height * 4);
        for (let i = 0; i < width * height; i++) rgba.set([grey[i]!, grey[i]!, grey[i]!, 255], i * 4);
        const code = jsQR(rgba, width, height);
        if (code) found.push(code.data);
      }
      expect(found).toEqual([`detailee:cert:${id}:${signed.hash}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the certificate subset fonts', () => {
  interface Font {
    hasGlyphForCodePoint(cp: number): boolean;
    postscriptName: string;
    GSUB?: unknown;
    GPOS?: unknown;
  }
  // fontkit comes with pdfkit, which is what reads these fonts when a PDF is rendered.
  const fontkit = createRequire(createRequire(import.meta.url).resolve('pdfkit'))('fontkit') as { openSync(path: string): Font };
  const fonts = join(import.meta.dirname, '..', '..', 'templates', 'fonts');
  const faces = [
    ['DejaVuSans.ttf', 'DejaVuSansCertificate.ttf'],
    ['DejaVuSans-Bold.ttf', 'DejaVuSansCertificate-Bold.ttf'],
  ] as const;

  it.each(faces)('%s: inSubset sends text to the subset %s exactly when it has the glyphs the full font has', (fullFile, subsetFile) => {
    const full = fontkit.openSync(join(fonts, fullFile));
    const subset = fontkit.openSync(join(fonts, subsetFile));
    const wrong: string[] = [];
    for (let cp = 0x20; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const inSub = subset.hasGlyphForCodePoint(cp);
      if (inSubset(ch) ? full.hasGlyphForCodePoint(cp) && !inSub : inSub) wrong.push(cp.toString(16));
    }
    expect(wrong).toEqual([]);
  });

  it.each(faces)('%s: the subset %s has no layout tables and is renamed', (_full, subsetFile) => {
    const subset = fontkit.openSync(join(fonts, subsetFile));
    expect(subset.GSUB ?? subset.GPOS).toBeUndefined();
    expect(subset.postscriptName).toMatch(/^DejaVuSansCertificate/);
    expect(subset.postscriptName).not.toMatch(/Bitstream|Vera|Arev/);
  });
});

describe('qrRuns', () => {
  it('covers exactly the dark modules of the QR symbol', () => {
    const { modules } = QRCode.create(`detailee:cert:${id}:${signed.hash}`, { errorCorrectionLevel: 'M' });
    const drawn = new Set<string>();
    for (const r of qrRuns(modules)) for (let c = r.col; c < r.col + r.length; c++) drawn.add(`${r.row},${c}`);
    for (let r = 0; r < modules.size; r++) {
      for (let c = 0; c < modules.size; c++) expect(drawn.has(`${r},${c}`)).toBe(Boolean(modules.get(r, c)));
    }
  });
});
