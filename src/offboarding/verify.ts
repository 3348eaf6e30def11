import { VerificationError } from '../errors.js';
import { verifySignedCertificate, type Certificate } from './certificate.js';
import { extractFromPdf } from './pdf-extract.js';

export interface CertificateCheck {
  format: 'json' | 'pdf';
  certificate: Certificate;
  hash: string;
  keyId: string;
}

function isPdf(bytes: Uint8Array): boolean {
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

/** `certificate verify FILE [--key PEM]`: offline, no store, no network. */
export function verifyCertificateFile(bytes: Uint8Array, trustedPublicKeyPem?: string): CertificateCheck {
  const { format, document } = readCertificateDocument(bytes);
  return { format, ...verifySignedCertificate(document, trustedPublicKeyPem) };
}
