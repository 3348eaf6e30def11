/**
 * What each command prints with `--json`, by command id: the source of the JSON Schemas in
 * `schemas/` (`npm run schemas` regenerates them; a test fails while they differ, and checks real
 * outputs against them). Changing one of these types changes a scripting interface: review the
 * schema diff as such.
 */
import type { AmendmentVerifyResult, AssignmentVerifyResult } from '../assignment/verify.js';
import type { AuditVerifyResult, SignedCheckpoint } from '../audit/audit.js';
import type { InitResult } from '../config/init.js';
import type { DoctorResult } from '../doctor/checks.js';
import type { Fault } from '../errors.js';
import type { ExpireReport } from '../lifecycle/expire.js';
import type { OnboardResult } from '../lifecycle/onboard.js';
import type { ReconcileReport } from '../lifecycle/reconcile.js';
import type { RenewResult } from '../lifecycle/renew.js';
import type { RevokeResult } from '../lifecycle/revoke.js';
import type { ShowResult } from '../lifecycle/show.js';
import type { StatusRow } from '../lifecycle/status.js';
import type { FtiLogEntry } from '../offboarding/fti-chain.js';
import type { FtiEntry } from '../offboarding/fti.js';
import type { IssuedCertificate } from '../offboarding/issued.js';
import type { LegacyImport } from '../offboarding/log.js';
import type { OffboardResult } from '../offboarding/offboard.js';
import type { RulesReport } from '../offboarding/rules-report.js';
import type { CertificateVerifyOutput } from '../offboarding/verify.js';
import type { CopyResult } from '../store/copy.js';

interface AssignmentSignOutput {
  file: string;
  signature: string;
  kid: string;
}
interface AuditExportOutput {
  events: number;
  /** The file written; null when the events went to stdout. */
  out: string | null;
}
interface MigrateOutput {
  store: string;
  schemaVersion: number;
}
type FtiCorrectOutput = FtiEntry & { supersedes: string };
type ReconcileOutput = ReconcileReport & { fixed: boolean };
type StoreCopyOutput = CopyResult & { from: string; to: string };
type AssignmentVerifyOutput = AssignmentVerifyResult | AmendmentVerifyResult;
type StatusOutput = StatusRow[];
type FtiListOutput = FtiLogEntry[];
type CertificateListOutput = IssuedCertificate[];

/**
 * Every failure, of every command, with `--json`: the only key is `error`. Read by
 * scripts/schemas.ts by name.
 * @public
 */
export interface ErrorOutput {
  error: {
    /** A name from docs/errors.md. */
    code: string;
    message: string;
    /** The process exit code. */
    exit: number;
    fault: Fault;
    /** What to do next, with real values; may be empty when the message says it all. */
    actions: string[];
    /** Fields and values for scripts; never secrets or FTI. */
    details?: unknown;
  };
}

/** Command id → the type its `--json` success output has. */
export interface JsonOutputs {
  'assignment sign': AssignmentSignOutput;
  'assignment verify': AssignmentVerifyOutput;
  'audit checkpoint': SignedCheckpoint;
  'audit export': AuditExportOutput;
  'audit verify': AuditVerifyResult;
  'certificate list': CertificateListOutput;
  'certificate verify': CertificateVerifyOutput;
  doctor: DoctorResult;
  expire: ExpireReport;
  'fti correct': FtiCorrectOutput;
  'fti import-legacy': LegacyImport;
  'fti list': FtiListOutput;
  'fti record': FtiEntry;
  init: InitResult;
  migrate: MigrateOutput;
  offboard: OffboardResult;
  onboard: OnboardResult;
  reconcile: ReconcileOutput;
  renew: RenewResult;
  revoke: RevokeResult;
  rules: RulesReport;
  show: ShowResult;
  status: StatusOutput;
  'store copy': StoreCopyOutput;
}
