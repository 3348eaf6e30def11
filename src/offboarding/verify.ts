import { VerificationError } from '../errors.js';
import { serializeSignedCertificate, verifySignedCertificate, type Certificate, type SignedCertificate } from './certificate.js';
import { extractFromPdf } from './pdf-extract.js';

export interface CertificateCheck {
  format: 'json' | 'pdf';
  certificate: Certificate;
  hash: string;
  keyId: string;
}

/**
 * `as-issued`: the file is byte for byte what detailee writes for its signed record (the JSON
 * serialisation, or the PDF rendered from it), so nothing outside the signed record — the PDF's
 * visible pages included — was changed. `not-checked`: only the signed record was verified.
 */
export type FileCheck = 'as-issued' | 'not-checked';

/**
 * A PDF may carry its header anywhere in the first 1024 bytes, so "contains %PDF-" alone would
 * read a JSON certificate whose text mentions %PDF- (a disposition's details, say) as a broken PDF.
 * JSON starts with "{" after optional white space and BOM; a PDF never does.
 */
function isPdf(bytes: Uint8Array): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  if (bytes[i] === 0x7b /* { */) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString('latin1').includes('%PDF-');
}

/** The signed document inside a certificate file, `<id>.json` or the PDF with it attached. */
export function readCertificateDocument(bytes: Uint8Array): { format: 'json' | 'pdf'; document: unknown } {
  if (isPdf(bytes)) return { format: 'pdf', document: extractFromPdf(bytes) };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { format: 'json', document: JSON.parse(text) as unknown };
  } catch {
    throw new VerificationError('The file is neither a certificate PDF nor certificate JSON.', {
      code: 'certificate.format',
      actions: ['Pass the <id>.json or <id>.pdf written by `detailee offboard`.'],
    });
  }
}

/** The signed record only (hash, id, signature, and the key when given); synchronous, no rendering. */
export function verifyCertificateFile(bytes: Uint8Array, trustedPublicKeyPem?: string): CertificateCheck {
  return checkRecord(bytes, trustedPublicKeyPem).check;
}

function checkRecord(bytes: Uint8Array, trustedPublicKeyPem: string | undefined): { check: CertificateCheck; signed: SignedCertificate } {
  const { format, document } = readCertificateDocument(bytes);
  // verifySignedCertificate accepted it, so the document is a signed certificate.
  return { check: { format, ...verifySignedCertificate(document, trustedPublicKeyPem) }, signed: document as SignedCertificate };
}

/** The last rendering, by its record: checking many copies of one certificate renders it once. */
let lastRendering: { record: string; pdf: Buffer } | undefined;

async function renderedPdf(signed: SignedCertificate): Promise<Buffer> {
  const record = serializeSignedCertificate(signed);
  if (lastRendering?.record !== record) {
    const { renderPdf } = await import('./render-pdf.js');
    lastRendering = { record, pdf: await renderPdf(signed) };
  }
  return lastRendering.pdf;
}

/**
 * `certificate verify FILE [--key PEM] [--record-only]`: offline, no store, no network. The signed
 * record is verified first; then, unless `recordOnly`, the file must be exactly what detailee
 * writes for that record. The signature covers the record, not the PDF's pages: without this
 * comparison a PDF whose visible text was edited, with the attachment left alone, would verify.
 * Rendering is deterministic (render-pdf.ts), which is what makes the comparison possible.
 */
export async function verifyCertificate(
  bytes: Uint8Array,
  trustedPublicKeyPem: string | undefined,
  options: { recordOnly?: boolean } = {},
): Promise<CertificateCheck & { file: FileCheck }> {
  const { check, signed } = checkRecord(bytes, trustedPublicKeyPem);
  if (options.recordOnly) return { ...check, file: 'not-checked' };
  const format = check.format;
  const given = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'json') {
    if (!given.equals(Buffer.from(serializeSignedCertificate(signed), 'utf8'))) {
      throw new VerificationError(
        'The signed record in this JSON verifies, but the file is not as issued: bytes outside the signed content (layout, white space or line endings) were changed.',
        { code: 'certificate.file-altered', actions: ['Obtain the original <id>.json from the issuing office, or pass --record-only to check the signed record alone.'] },
      );
    }
    return { ...check, file: 'as-issued' };
  }
  if (!given.equals(await renderedPdf(signed))) {
    throw new VerificationError(
      'The certificate attached to this PDF verifies, but the PDF is not as issued: its pages or structure differ from what detailee renders for that certificate, so what it shows may have been altered.',
      {
        code: 'certificate.pdf-altered',
        actions: [
          'Rely on the attached record (extract it with pdfdetach, or verify the <id>.json), not on the pages of this file.',
          'A PDF re-saved by another program (for archiving, say) also differs; pass --record-only to check only the attached record.',
        ],
      },
    );
  }
  return { ...check, file: 'as-issued' };
}
