import { basename } from 'node:path';
import type { Config } from '../config/resolve.js';
import { readTextFile } from '../text-file.js';
import { parseYamlOrJson } from '../validation.js';
import { previewRenewal, type RenewalBasis, type RenewalPreview } from './amendment.js';
import { findSignatureFiles, loadAmendment, verifyAssignmentFile } from './load.js';
import { assignmentPolicy, type PolicyProblem } from './policy.js';

/** The public shape of `assignment verify --json`; other tooling depends on it. */
export interface AssignmentVerifyResult {
  id: string;
  /** Signatures hold and the admission policy (the one onboard applies) is met. */
  valid: boolean;
  signers: { name: string; role: string; form: 'jws' | 'cms' }[];
  failures: { file: string; form: string; signer?: string | undefined; reason: string }[];
  missingRoles: string[];
  /** Admission policy problems: prerequisites, start date. Onboard refuses these with exit 2. */
  policy: PolicyProblem[];
  /** Accepted weakenings of trust (an issuer marked revocation: unchecked); never silent. */
  warnings: string[];
  term: { start: string; lastDay: string; endsAt: string; days: number; renewalsLeft: number; timezone: string };
  manifestSha256: string;
}

export async function verifyAssignment(file: string, signatures: string[] | undefined, config: Config, now: Date): Promise<AssignmentVerifyResult> {
  const { loaded, report, term } = await verifyAssignmentFile(file, signatures, config, now);
  const policy = assignmentPolicy(loaded.doc, term, now);
  return {
    id: loaded.doc.id,
    valid: report.valid && policy.length === 0,
    signers: report.signers.map((s) => ({ name: s.name, role: s.role, form: s.form })),
    failures: report.failures.map((f) => ({ file: f.file, form: f.form, signer: f.signer, reason: f.reason })),
    missingRoles: report.missingRoles,
    policy,
    warnings: report.warnings,
    term: {
      start: term.start,
      lastDay: term.lastDay,
      endsAt: term.endsAt,
      days: term.days,
      renewalsLeft: loaded.doc.term.renewals.max,
      timezone: term.timezone,
    },
    manifestSha256: loaded.sha256,
  };
}

/** The public shape of `assignment verify --json` for an amendment. */
export interface AmendmentVerifyResult {
  kind: 'Amendment';
  /** The id of the assignment it amends. */
  assignment: string;
  valid: boolean;
  signers: { name: string; role: string; form: 'jws' | 'cms' }[];
  failures: { file: string; form: string; signer?: string | undefined; reason: string }[];
  missingRoles: string[];
  renewalDays: number;
  reason: string;
  agreement?: string | undefined;
  amendmentSha256: string;
  /** The renewal it would make; null when neither the store nor --assignment knows the assignment. */
  renewal: RenewalPreview | null;
}

/**
 * The `kind` a manifest declares, read before validating it against either schema. A file that
 * cannot be read or parsed has none here; loading it as an assignment then reports why, as before.
 */
export function documentKind(path: string): unknown {
  try {
    const raw = parseYamlOrJson(readTextFile(path, 'manifest').text, `manifest ${basename(path)}`) as { kind?: unknown } | null;
    return raw !== null && typeof raw === 'object' ? raw.kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Schema, signatures and the renewal it would make; changes nothing. The basis is the store's
 * record when the assignment is there, else the manifest given, else none (no renewal shown).
 */
export async function verifyAmendment(
  file: string,
  signatures: string[] | undefined,
  config: Config,
  now: Date,
  basisFor: (id: string) => Promise<RenewalBasis | undefined>,
): Promise<AmendmentVerifyResult> {
  const loaded = loadAmendment(file);
  const files = findSignatureFiles(file, signatures);
  const { verifyDetached } = await import('./signatures.js');
  const report = await verifyDetached(loaded.bytes, files, config.trust, now);
  const basis = await basisFor(loaded.doc.assignment);
  return {
    kind: 'Amendment',
    assignment: loaded.doc.assignment,
    valid: report.valid,
    signers: report.signers.map((s) => ({ name: s.name, role: s.role, form: s.form })),
    failures: report.failures.map((f) => ({ file: f.file, form: f.form, signer: f.signer, reason: f.reason })),
    missingRoles: report.missingRoles,
    renewalDays: loaded.doc.renewalDays,
    reason: loaded.doc.reason,
    agreement: loaded.doc.agreement?.reference,
    amendmentSha256: loaded.sha256,
    renewal: basis ? previewRenewal(basis, { renewalDays: loaded.doc.renewalDays, sha256: loaded.sha256 }, now) : null,
  };
}
