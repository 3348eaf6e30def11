import type { Config } from '../config/load.js';
import { verifyAssignmentFile } from './load.js';
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
