import { canonicalJson } from '../crypto/canonical-json.js';
import type { Row } from './driver.js';
import type {
  RevocationCondition,
  AssignmentRecord,
  AssignmentSummary,
  AuditEvent,
  JournalEntry,
  StoredAuditEvent,
  StoredCertificate,
  StoredFti,
} from './types.js';


/** Row shapes shared by both drivers, so both map identically. */
export function assignmentParams(rec: AssignmentRecord): unknown[] {
  return [
    rec.id,
    rec.state,
    rec.username,
    rec.term.startsAt,
    rec.term.endsAt,
    Date.parse(rec.term.endsAt),
    rec.term.lastDay,
    rec.term.timezone,
    rec.renewalsUsed,
    rec.renewalsMax,
    rec.revokedAt ?? null,
    rec.version,
    JSON.stringify(rec),
  ];
}

export function assignmentFromRow(row: Row): AssignmentRecord {
  const rec = JSON.parse(String(row.doc)) as AssignmentRecord;
  // The columns are authoritative for what concurrent writers change.
  rec.version = Number(row.version);
  return rec;
}

export function summaryFromRow(row: Row): AssignmentSummary {
  return {
    id: String(row.id),
    state: row.state as AssignmentSummary['state'],
    username: String(row.username),
    startsAt: String(row.starts_at),
    endsAt: String(row.ends_at),
    lastDay: String(row.last_day),
    timezone: String(row.timezone),
    renewalsUsed: Number(row.renewals_used),
    renewalsMax: Number(row.renewals_max),
    revokedAt: row.revoked_at == null ? undefined : String(row.revoked_at),
    ...(row.revocation == null ? {} : { revocation: String(row.revocation) as RevocationCondition }),
    // Absent (older rows, or not asked) means unknown, which is not "unfinished".
    ...(row.provisioned == null ? {} : { provisioned: row.provisioned === 'true' || row.provisioned === '1' }),
    ...(row.awaiting_start === 'true' || row.awaiting_start === '1' ? { awaitingStart: true } : {}),
  };
}

export function auditFromRow(row: Row): AuditEvent {
  return {
    seq: Number(row.seq),
    at: String(row.at),
    actor: String(row.actor),
    kind: String(row.kind),
    assignmentId: row.assignment_id == null ? null : String(row.assignment_id),
    details: JSON.parse(String(row.details)) as Record<string, unknown>,
    prev: String(row.prev),
    hash: String(row.hash),
  };
}

/**
 * An audit row, its columns converted as auditFromRow converts them (so the two agree on every
 * row) but `details` parsed from the stored text only when it is read.
 */
class LazyAuditEvent implements StoredAuditEvent {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly kind: string;
  readonly assignmentId: string | null;
  readonly detailsText: string;
  readonly prev: string;
  readonly hash: string;
  private parsed: Record<string, unknown> | undefined;

  /** `row` holds the audit columns in their order: seq, at, actor, kind, assignment_id, details, prev, hash. */
  constructor(row: readonly unknown[]) {
    this.seq = Number(row[0]);
    this.at = String(row[1]);
    this.actor = String(row[2]);
    this.kind = String(row[3]);
    this.assignmentId = row[4] == null ? null : String(row[4]);
    this.detailsText = String(row[5]);
    this.prev = String(row[6]);
    this.hash = String(row[7]);
  }

  /** Parsed at the first read; throws as readAudit throws on a text that is not JSON. */
  get details(): Record<string, unknown> {
    return (this.parsed ??= JSON.parse(this.detailsText) as Record<string, unknown>);
  }
}

/** `row`: the audit columns as values, in AUDIT_COLUMNS order. */
export function storedAuditFromArray(row: readonly unknown[]): StoredAuditEvent {
  return new LazyAuditEvent(row);
}

/**
 * `details` is stored as the RFC 8785 text its hash covers (keys sorted; the same values as
 * JSON.stringify writes), so `audit verify` hashes the stored text as it is instead of parsing and
 * re-serialising every event (2.5-3.4 s a million events against 1.8-2.0 s).
 */
export function auditParams(e: AuditEvent): unknown[] {
  return [e.seq, e.at, e.actor, e.kind, e.assignmentId, canonicalJson(e.details), e.prev, e.hash];
}

export function journalFromRow(row: Row): JournalEntry & { id: number } {
  return {
    id: Number(row.id),
    runId: String(row.run_id),
    assignmentId: String(row.assignment_id),
    operation: String(row.operation),
    stepId: String(row.step_id),
    target: String(row.target),
    status: row.status as JournalEntry['status'],
    detail: String(row.detail),
    at: String(row.at),
    error: row.error == null ? undefined : String(row.error),
  };
}

export function journalParams(j: JournalEntry): unknown[] {
  return [j.runId, j.assignmentId, j.operation, j.stepId, j.target, j.status, j.detail, j.at, j.error ?? null];
}

export function ftiFromRow(row: Row): StoredFti {
  return {
    id: String(row.id),
    assignmentId: String(row.assignment_id),
    seq: Number(row.seq),
    recordedAt: String(row.recorded_at),
    data: parseFtiData(row.data),
  };
}

/** Content that is not a JSON object cannot match the hash its audit event carries; the check that follows says so. */
function parseFtiData(v: unknown): Record<string, unknown> {
  try {
    const d = JSON.parse(String(v)) as unknown;
    return d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function certificateFromRow(row: Row): StoredCertificate {
  return {
    id: String(row.id),
    assignmentId: String(row.assignment_id),
    hash: String(row.hash),
    issuedAt: String(row.issued_at),
    document: JSON.parse(String(row.document)) as Record<string, unknown>,
  };
}
