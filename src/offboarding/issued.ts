import { createPublicKey } from 'node:crypto';
import { DetaileeError } from '../errors.js';
import { ISSUED_KINDS, issuedFiles, missingFiles, type IssuedFiles } from './issued-files.js';
import type { StoredCertificate } from '../store/types.js';
import { readBoundedFile } from '../text-file.js';
import { verifySignedCertificate } from './certificate-sign.js';
import { readSignatureFile, signaturePath, verifyFileBytes } from './file-signature.js';
import { verifyCertificate } from './verify.js';

/** `verified`, `missing file`, or `failed: <reason>`; anything but `verified` fails `certificate list`. */
type IssuedState = 'verified' | 'missing file' | `failed: ${string}`;

export interface IssuedCertificate {
  id: string;
  assignmentId: string;
  issuedAt: string;
  hash: string;
  files: IssuedFiles;
  /** FILE.sig beside each file. */
  signatures: IssuedFiles;
  state: IssuedState;
  /** Files (or their .sig) that are not where offboard wrote them. */
  missing: string[];
  /** Every check that failed, in full. */
  problems: string[];
}

/** Certificates are at most this large (certificate verify reads as much). */
const MAX_CERTIFICATE_BYTES = 64 * 1024 * 1024;

function reason(e: unknown): string {
  return e instanceof DetaileeError || e instanceof Error ? e.message : String(e);
}

/**
 * One issued certificate against the files in the certificates folder: the record the store
 * keeps must verify with the trusted key and be the one the files carry (same id, same hash), and
 * each file must verify over its exact bytes with its .sig. Nothing is taken as verified that was
 * not checked: a file that is not there is `missing file`, never skipped.
 */
async function checkIssued(stored: StoredCertificate, outputDir: string, publicKeyPem: string): Promise<IssuedCertificate> {
  const files = issuedFiles(outputDir, stored.id);
  const signatures = { json: signaturePath(files.json), markdown: signaturePath(files.markdown), pdf: signaturePath(files.pdf) };
  const problems: string[] = [];
  const missing = missingFiles(files);
  try {
    const r = await verifySignedCertificate(stored.document, publicKeyPem);
    if (r.hash !== stored.hash) problems.push(`the record in the store hashes to ${r.hash}, not the ${stored.hash} recorded beside it`);
    if (r.certificate.id !== stored.id || r.certificate.assignment.id !== stored.assignmentId) problems.push(`the record in the store is certificate ${r.certificate.id} of ${r.certificate.assignment.id}`);
  } catch (e) {
    problems.push(`the record in the store: ${reason(e)}`);
  }
  for (const kind of ISSUED_KINDS) {
    const file = files[kind];
    if (missing.includes(file) || missing.includes(signatures[kind])) continue;
    try {
      const bytes = readBoundedFile(file, 'certificate', MAX_CERTIFICATE_BYTES);
      const signature = readSignatureFile(file);
      if (kind === 'markdown') {
        // Markdown carries no record to read back: its .sig over its bytes is the whole check.
        if (!verifyFileBytes(bytes, signature ?? new Uint8Array(), createPublicKey(publicKeyPem))) problems.push(`${file}: its .sig does not verify over its bytes with the trusted key`);
        continue;
      }
      const r = await verifyCertificate(bytes, publicKeyPem, { signature });
      if (r.hash !== stored.hash) problems.push(`${file}: it carries a record with hash ${r.hash}, not the ${stored.hash} the store issued`);
    } catch (e) {
      problems.push(`${file}: ${reason(e)}`);
    }
  }
  const state: IssuedState = problems.length > 0 ? `failed: ${problems[0]!}` : missing.length > 0 ? 'missing file' : 'verified';
  return { id: stored.id, assignmentId: stored.assignmentId, issuedAt: stored.issuedAt, hash: stored.hash, files, signatures, state, missing, problems };
}

export async function listIssued(certificates: readonly StoredCertificate[], outputDir: string, publicKeyPem: string): Promise<IssuedCertificate[]> {
  const out: IssuedCertificate[] = [];
  for (const c of certificates) out.push(await checkIssued(c, outputDir, publicKeyPem));
  return out;
}
