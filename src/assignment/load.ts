import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Config } from '../config/resolve.js';
import { InputError, VerificationError } from '../errors.js';
import { sha256Hex } from '../audit/chain.js';
import { controlCharIssues, parseYamlOrJson, validate } from '../validation.js';
import { readBoundedFile, readTextFile } from '../text-file.js';
import { amendmentSchema, assignmentSchema, type Amendment, type Assignment } from './schema.js';
import type { SignatureFile } from './signature-file.js';
import type { SignatureReport } from './signatures.js';
import { computeTerm, type Term } from './term.js';

export interface LoadedDocument<T> {
  path: string;
  /** The exact bytes the signatures cover. */
  bytes: Buffer;
  sha256: string;
  doc: T;
}

export function loadAssignment(path: string): LoadedDocument<Assignment> {
  const { text, bytes } = readTextFile(path, 'assignment');
  const raw = parseYamlOrJson(text, `assignment ${basename(path)}`);
  const doc = validate(assignmentSchema, raw, `Assignment ${basename(path)}`, 'manifest.invalid', controlCharIssues(raw));
  return { path, bytes, sha256: sha256Hex(bytes), doc };
}

export function loadAmendment(path: string): LoadedDocument<Amendment> {
  const { text, bytes } = readTextFile(path, 'amendment');
  const raw = parseYamlOrJson(text, `amendment ${basename(path)}`);
  const doc = validate(amendmentSchema, raw, `Amendment ${basename(path)}`, 'amendment.invalid', controlCharIssues(raw));
  return { path, bytes, sha256: sha256Hex(bytes), doc };
}

/** Explicit --signature files, else FILE.jws and FILE.p7s beside the document. */
export function findSignatureFiles(docPath: string, explicit: string[] | undefined): SignatureFile[] {
  const paths = explicit && explicit.length > 0 ? explicit : [`${docPath}.jws`, `${docPath}.p7s`].filter((p) => existsSync(p));
  if (paths.length === 0) {
    // A missing signature fails closed like a bad one (exit 3), not as a usage error.
    throw new VerificationError(`No signature found for ${docPath}: looked for ${basename(docPath)}.jws and ${basename(docPath)}.p7s beside it.`, {
      code: 'signature.missing',
      actions: ['Pass --signature FILE, or put the detached signature beside the manifest.'],
    });
  }
  return paths.map((p) => {
    if (!existsSync(p)) {
      throw new InputError(`Signature file ${JSON.stringify(p)} does not exist.`, {
        code: 'signature.missing',
        actions: ['Check the --signature path.'],
      });
    }
    return { path: p, bytes: readBoundedFile(p, 'signature') };
  });
}

export interface VerifiedAssignment {
  loaded: LoadedDocument<Assignment>;
  report: SignatureReport;
  term: Term;
}

export function termOf(doc: Assignment, config: Pick<Config, 'timezone'>): Term {
  return computeTerm(doc.term.start, doc.term.days, doc.term.timezone ?? config.timezone);
}

/** Schema, signatures and term; changes nothing. The report says whether the signatures hold. */
export async function verifyAssignmentFile(
  path: string,
  signatures: string[] | undefined,
  config: Config,
  now: Date,
): Promise<VerifiedAssignment> {
  const loaded = loadAssignment(path);
  const term = termOf(loaded.doc, config);
  const files = findSignatureFiles(path, signatures);
  const { verifyDetached } = await import('./signatures.js');
  const report = await verifyDetached(loaded.bytes, files, config.trust, now);
  return { loaded, report, term };
}
