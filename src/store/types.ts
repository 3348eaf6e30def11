import type { Assignment } from '../assignment/schema.js';
import type { Term } from '../assignment/term.js';
import type { RawBatch, RawTable } from './raw-tables.js';

export const ASSIGNMENT_STATES = ['active', 'expired', 'revoked', 'offboarding', 'closed'] as const;
export type AssignmentState = (typeof ASSIGNMENT_STATES)[number];

interface SignerSummary {
  name: string;
  role: string;
  form: 'jws' | 'cms';
}

export interface AssignmentRecord {
  id: string;
  state: AssignmentState;
  username: string;
  /** The validated manifest as it was signed. */
  manifest: Assignment;
  /** SHA-256 (hex) of the exact signed manifest bytes: the same id with other bytes is another manifest. */
  manifestSha256: string;
  signers: SignerSummary[];
  /** The term in force, renewals included. */
  term: Term;
  renewalsUsed: number;
  renewalsMax: number;
  createdAt: string;
  updatedAt: string;
  revokedAt?: string | undefined;
  revokeReason?: string | undefined;
  /** Optimistic concurrency: bumped on every update. */
  version: number;
  /** Extension data (offboarding progress, certificate id). Never secrets, never FTI. */
  data: Record<string, unknown>;
}

/** The light row `status` and the nightly job scan, so memory does not grow with manifests. */
export interface AssignmentSummary {
  id: string;
  state: AssignmentState;
  username: string;
  startsAt: string;
  endsAt: string;
  lastDay: string;
  timezone: string;
  renewalsUsed: number;
  renewalsMax: number;
  revokedAt?: string | undefined;
  /** For an ended assignment: whether its revocation is proven on every recorded target. */
  revocation?: RevocationCondition | undefined;
  /** For an active one: false while onboarding has not finished. */
  provisioned?: boolean | undefined;
  /** For an active one: an account provisioned before the start waits for the nightly job to enable it (start-day.ts). */
  awaitingStart?: true | undefined;
}

/** `proven` on every recorded target; `incomplete` (not yet, or a target failed); `regressed` (a re-proof failed after it was proven). */
export type RevocationCondition = 'proven' | 'incomplete' | 'regressed';

export interface AuditEventInput {
  at: string;
  actor: string;
  kind: string;
  assignmentId: string | null;
  details: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  seq: number;
  prev: string;
  hash: string;
}

/** An audit event as stored: `detailsText` is the stored text of `details`, which is parsed only when read. */
export interface StoredAuditEvent extends Readonly<AuditEvent> {
  readonly detailsText: string;
}

type JournalStatus = 'started' | 'done' | 'failed' | 'verified';

export interface JournalEntry {
  runId: string;
  assignmentId: string;
  operation: string;
  stepId: string;
  target: string;
  status: JournalStatus;
  detail: string;
  at: string;
  error?: string | undefined;
}

export interface StoredFti {
  id: string;
  assignmentId: string;
  seq: number;
  recordedAt: string;
  data: Record<string, unknown>;
}

export interface StoredCertificate {
  id: string;
  assignmentId: string;
  hash: string;
  issuedAt: string;
  document: Record<string, unknown>;
}

export interface LockInfo {
  name: string;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
}

/** A page of listSummaries: the id of the last row of the previous page (none for the first), and the size. */
export interface SummaryPage {
  after: string | undefined;
  limit: number;
}

/** A page of listEndingBy: the last row of the previous page (none for the first), and the size. */
export interface EndingPage {
  after: { endsAt: string; id: string } | undefined;
  limit: number;
}

/** Operations that must commit together (a state change and its audit event) or not at all. */
export interface StoreTx {
  getAssignment(id: string): Promise<AssignmentRecord | undefined>;
  /** Throws StoreConflictError when the id exists. */
  insertAssignment(rec: AssignmentRecord): Promise<void>;
  /** Throws StoreConflictError when the row's version is not `expectedVersion`. Returns the new version. */
  updateAssignment(rec: AssignmentRecord, expectedVersion: number): Promise<number>;
  appendAudit(event: AuditEventInput): Promise<AuditEvent>;
  appendJournal(entry: JournalEntry): Promise<void>;
  /** Next per-assignment sequence number for an FTI entry. */
  nextFtiSeq(assignmentId: string): Promise<number>;
  /**
   * FTI rows are written once, beside the audit event that carries their hash; there is no update:
   * a correction is a new entry (src/offboarding/fti-chain.ts).
   */
  insertFti(entry: StoredFti): Promise<void>;
  insertCertificate(cert: StoredCertificate): Promise<void>;
  setMeta(key: string, value: unknown): Promise<void>;
  /** Record that a notice was sent; false when it was already recorded (send exactly once). */
  markNotice(assignmentId: string, noticeKey: string, at: string): Promise<boolean>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Printable location (passwords redacted). */
  readonly location: string;
  /** An embedded store's file, which a worker thread can open to read the audit chain alongside; undefined on PostgreSQL or in memory. */
  readonly file: string | undefined;
  /** Highest migration applied. */
  schemaVersion(): Promise<number>;
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;

  getAssignment(id: string): Promise<AssignmentRecord | undefined>;
  /**
   * Every assignment, light rows, ordered by id (byte order). Pass states to filter. With `page`,
   * at most `limit` rows whose id comes after `after`: a keyset, so a listing read a page at a
   * time neither repeats nor skips a row that changes meanwhile.
   */
  listSummaries(states?: readonly AssignmentState[], page?: SummaryPage): Promise<AssignmentSummary[]>;
  /**
   * Light rows whose endsAt <= before (ISO instant), in the given states, ordered by (endsAt, id).
   * With `page`, at most `limit` rows that come after the row `after` in that order: a keyset, so a
   * row whose state changes meanwhile neither repeats nor shifts the next page.
   */
  listEndingBy(before: string, states: readonly AssignmentState[], page?: EndingPage): Promise<AssignmentSummary[]>;
  /** Active assignments whose record says an account waits for the start-day enable (data.awaitingStart), by id. */
  listAwaitingStart(): Promise<AssignmentSummary[]>;
  /** How many rows listEndingBy(before, states) would list. */
  countEndingBy(before: string, states: readonly AssignmentState[]): Promise<number>;
  countAssignments(): Promise<number>;

  auditHead(): Promise<{ seq: number; hash: string } | undefined>;
  /** Events with seq > afterSeq in seq order, at most `limit`. */
  readAudit(afterSeq: number, limit: number): Promise<AuditEvent[]>;
  /** The same events with `details` as the stored text, parsed only when read (verifying the whole chain). */
  readAuditStored(afterSeq: number, limit: number): Promise<StoredAuditEvent[]>;
  auditFor(assignmentId: string): Promise<AuditEvent[]>;

  journalFor(assignmentId: string): Promise<(JournalEntry & { id: number })[]>;
  listFti(assignmentId: string): Promise<StoredFti[]>;
  getCertificate(assignmentId: string): Promise<StoredCertificate | undefined>;
  /** Every certificate issued, ordered by (issuedAt, id). */
  listCertificates(): Promise<StoredCertificate[]>;
  getMeta<T = unknown>(key: string): Promise<T | undefined>;
  noticesFor(assignmentId: string): Promise<{ noticeKey: string; at: string }[]>;
  appendJournal(entry: JournalEntry): Promise<void>;

  /** Take a named lock held until released or until it expires; false when another live holder has it. */
  acquireLock(name: string, holder: string, now: Date, ttlMs: number): Promise<{ acquired: boolean; takenOver?: LockInfo }>;
  releaseLock(name: string, holder: string): Promise<void>;
  /** Rows of one table in key order, verbatim (store copy). */
  exportRaw(table: RawTable, offset: number, limit: number): Promise<Record<string, unknown>[]>;
  /** Insert rows verbatim (ids, audit seq/prev/hash kept) in ONE transaction. */
  importRaw(batches: AsyncIterable<RawBatch>): Promise<void>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}
