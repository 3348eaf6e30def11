import { createPublicKey, type KeyObject } from 'node:crypto';
import { VerificationError } from '../errors.js';
import { type Certificate, type SignedCertificate } from './certificate.js';
import { serializeSignedCertificate, verifySignedCertificate } from './certificate-sign.js';
import { verifyFileBytes } from './file-signature.js';
import { extractFromPdf } from './pdf-extract.js';
import type { CertificateChainCheck } from './certificate-chain.js';

export interface CertificateCheck {
  format: 'json' | 'pdf';
  certificate: Certificate;
  hash: string;
  keyId: string;
}

/**
 * `as-issued`: the file's bytes were checked, by its `.sig` or by re-rendering (--deep), so nothing
 * outside the signed record — the PDF's visible pages included — was changed. `not-checked`: only
 * the signed record was verified, and the file's bytes were not.
 */
type FileCheck = 'as-issued' | 'not-checked';

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

/** The signed record only (hash, id, signature, and the key when given); no file signature, no rendering. */
export async function verifyCertificateFile(bytes: Uint8Array, trustedPublicKeyPem?: string): Promise<CertificateCheck> {
  return (await checkRecord(bytes, trustedPublicKeyPem)).check;
}

async function checkRecord(bytes: Uint8Array, trustedPublicKeyPem: string | undefined): Promise<{ check: CertificateCheck; signed: SignedCertificate }> {
  const { format, document } = readCertificateDocument(bytes);
  // verifySignedCertificate accepted it, so the document is a signed certificate.
  return { check: { format, ...(await verifySignedCertificate(document, trustedPublicKeyPem)) }, signed: document as SignedCertificate };
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

/** Versions issued before files were signed: their files carry no `.sig`, and that is no fault. */
const VERSIONS_WITHOUT_FILE_SIGNATURE: readonly string[] = ['detailee/certificate/v1', 'detailee/certificate/v2'];

export interface VerifyOptions {
  /** Check the signed record alone (a PDF re-saved by another program). */
  recordOnly?: boolean | undefined;
  /** Also re-render the record and compare the file with it, byte for byte. */
  deep?: boolean | undefined;
  /** The bytes of `FILE.sig`; null or absent when there is none beside the file. */
  signature?: Uint8Array | null | undefined;
}

export interface FileVerification extends CertificateCheck {
  file: FileCheck;
  /** `FILE.sig` over the file's bytes: verified, absent, or not looked at (--record-only). */
  fileSignature: 'verified' | 'absent' | 'not-checked';
  /** The --deep comparison with a fresh rendering. */
  rendering: 'identical' | 'not-compared';
}

function publicKeyFor(signed: SignedCertificate, trustedPublicKeyPem: string | undefined): KeyObject {
  // checkRecord has already read both and required them to be the same key.
  return createPublicKey(trustedPublicKeyPem ?? signed.publicKey);
}

/**
 * `certificate verify FILE [--key PEM] [--record-only | --deep]`: offline, no store, no network.
 * The signed record is verified first (hash, id, JWS, and the trusted key). Then the file itself:
 * its `.sig` must verify over its exact bytes with the same key, so the PDF's pages and the
 * Markdown are covered as much as the record is, and no future renderer has to reproduce today's
 * bytes. `--deep` also re-renders the record and compares (rendering is deterministic,
 * render-pdf.ts). Fail closed: a file whose bytes were checked neither way says `not-checked`,
 * and that is accepted only for versions issued before `.sig` files existed; a later certificate
 * without its `.sig` is refused, because its version (inside the signed record) says it had one.
 */
export async function verifyCertificate(bytes: Uint8Array, trustedPublicKeyPem: string | undefined, options: VerifyOptions = {}): Promise<FileVerification> {
  const { check, signed } = await checkRecord(bytes, trustedPublicKeyPem);
  if (options.recordOnly) return { ...check, file: 'not-checked', fileSignature: 'not-checked', rendering: 'not-compared' };
  let fileSignature: FileVerification['fileSignature'] = 'absent';
  if (options.signature !== undefined && options.signature !== null) {
    if (!verifyFileBytes(bytes, options.signature, publicKeyFor(signed, trustedPublicKeyPem))) {
      throw new VerificationError(
        `The file's detached signature (.sig) does not verify over its bytes with key ${check.keyId}: the file or its .sig was altered, or they do not belong together.`,
        {
          code: 'certificate.file-signature',
          actions: [
            'Obtain the original file and its .sig from the issuing office.',
            'A file re-saved by another program (a PDF archived as PDF/A, say) also fails; pass --record-only to check only the signed record inside it.',
          ],
        },
      );
    }
    fileSignature = 'verified';
  }
  let rendering: FileVerification['rendering'] = 'not-compared';
  if (options.deep) {
    await compareWithRendering(bytes, check.format, signed);
    rendering = 'identical';
  }
  if (fileSignature === 'absent' && rendering === 'not-compared' && !VERSIONS_WITHOUT_FILE_SIGNATURE.includes(check.certificate.certificateVersion)) {
    throw new VerificationError(
      `The signed record verifies, but this ${check.certificate.certificateVersion} certificate was issued with a detached signature (.sig) beside the file and none was found, so the file's bytes (what the ${check.format === 'pdf' ? "PDF's pages show" : 'file says'}) cannot be checked.`,
      {
        code: 'certificate.sig-missing',
        actions: [
          'Put the .sig written with the file beside it (same name plus .sig).',
          'Or pass --deep to re-render the record and compare, or --record-only to check the signed record alone.',
        ],
      },
    );
  }
  const file: FileCheck = fileSignature === 'verified' || rendering === 'identical' ? 'as-issued' : 'not-checked';
  return { ...check, file, fileSignature, rendering };
}

/** --deep: the file must be exactly what this version of detailee writes for its record. */
async function compareWithRendering(bytes: Uint8Array, format: 'json' | 'pdf', signed: SignedCertificate): Promise<void> {
  const given = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'json') {
    if (!given.equals(Buffer.from(serializeSignedCertificate(signed), 'utf8'))) {
      throw new VerificationError(
        'The signed record in this JSON verifies, but the file is not as issued: bytes outside the signed content (layout, white space or line endings) were changed.',
        { code: 'certificate.file-altered', actions: ['Obtain the original <id>.json from the issuing office, or pass --record-only to check the signed record alone.'] },
      );
    }
    return;
  }
  if (!given.equals(await renderedPdf(signed))) {
    throw new VerificationError(
      'The certificate attached to this PDF verifies, but the PDF is not what detailee renders for it: its pages or structure differ, so what it shows may have been altered.',
      {
        code: 'certificate.pdf-altered',
        actions: [
          'Rely on the attached record (extract it with pdfdetach, or verify the <id>.json), not on the pages of this file.',
          'A PDF re-saved by another program (for archiving, say) also differs; pass --record-only to check only the attached record.',
        ],
      },
    );
  }
}

/** What `certificate verify --json` prints when the certificate is valid. */
export interface CertificateVerifyOutput {
  valid: true;
  format: CertificateCheck['format'];
  file: FileCheck;
  fileSignature: FileVerification['fileSignature'];
  /** FILE.sig, when it verified. */
  signatureFile: string | null;
  rendering: FileVerification['rendering'];
  hash: string;
  keyId: string;
  /** Whether a trusted key (--key or the config's) was checked, and which. */
  trustedKey: boolean;
  trustedKeySource: string | null;
  /** With --against-store: the audit chain's record of the certificate. */
  chain: CertificateChainCheck | null;
  certificate: Certificate;
}
