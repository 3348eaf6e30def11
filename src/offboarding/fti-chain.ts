import { hashEvent, sha256Hex } from '../audit/chain.js';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { AuditEvent, StoredFti } from '../store/types.js';
import type { FtiEntry } from './fti.js';

/**
 * The FTI log lives in the audit chain. Every record, correction, legacy import and disposition is
 * an event; the store's `fti` table is only an index of the entries' descriptive fields, and each
 * row must match the SHA-256 its event carries. The events name an entry and its shape (media,
 * records, date received) but not its description or location: the audit log is read more widely
 * than the FTI log, and inspection counts too.
 */
export const FTI_EVENT = {
  recorded: 'fti.recorded',
  corrected: 'fti.corrected',
  imported: 'fti.imported',
  disposed: 'fti.disposed',
} as const;

/** Every field an FTI log entry has, in one fixed shape: what the entry hash covers. */
const ENTRY_FIELDS = [
  'id',
  'assignmentId',
  'description',
  'type',
  'taxYears',
  'records',
  'media',
  'location',
  'received',
  'sender',
  'reason',
  'recordedAt',
  'recordedBy',
] as const;

/**
 * An absent optional field and a null one are the same fact: the store omits `sender` when none
 * was given, the certificate writes `"sender": null`, and both must hash alike.
 */
export function normaliseFtiEntry(e: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(ENTRY_FIELDS.map((k) => [k, e[k] ?? null]));
}

/** SHA-256 (hex) of the RFC 8785 form of the normalised entry; recomputable from a certificate's ftiLog. */
export function ftiEntryHash(e: Record<string, unknown>): string {
  return sha256Hex(canonicalJson(normaliseFtiEntry(e)));
}

/** The shape an event carries beside the hash, so `audit export` alone says what kind of disclosure it was. */
export function ftiEventShape(e: FtiEntry): Record<string, unknown> {
  return { entry: e.id, entryHash: ftiEntryHash(e as unknown as Record<string, unknown>), media: e.media, records: e.records, received: e.received };
}

type FtiProvenance = 'recorded' | 'corrected' | 'imported';

/** An entry of the current log, with the event that vouches for it. */
export type FtiLogEntry = FtiEntry & {
  provenance: FtiProvenance;
  /** The audit event that carries this entry's hash. */
  event: number;
  /** The entry this one corrects. */
  supersedes?: string;
  /** The later entry that corrects this one (only in the full history). */
  supersededBy?: string;
};

export type FtiProblem = 'deleted' | 'altered' | 'inserted' | 'unbound' | 'inconsistent';

export interface FtiFinding {
  assignmentId: string;
  entry: string;
  problem: FtiProblem;
  /** The audit event concerned, when there is one. */
  event: number | null;
  message: string;
}

interface Binding {
  assignmentId: string;
  entry: string;
  kind: FtiProvenance;
  event: number;
  /** null for an event written before entries were hashed (legacy). */
  entryHash: string | null;
  shape: { media: unknown; records: unknown; received: unknown };
  supersedes?: string;
  supersededBy?: string;
  /** A legacy binding that a later `fti.imported` event hashed. */
  importedBy?: { event: number; entryHash: string };
  seen: boolean;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Cross-checks the chain's FTI events against the store's rows. Feed it events in chain order
 * (`add`), then rows (`checkRow`), then `finish` to learn which recorded entries have no row.
 * Memory grows with the number of FTI entries, never with the chain.
 */
export class FtiChainIndex {
  private readonly bindings = new Map<string, Binding>();
  readonly findings: FtiFinding[] = [];

  private key(assignmentId: string, entry: string): string {
    return `${assignmentId}\u0000${entry}`;
  }

  private problem(assignmentId: string, entry: string, problem: FtiProblem, event: number | null, message: string): void {
    this.findings.push({ assignmentId, entry, problem, event, message });
  }

  add(e: AuditEvent): void {
    if (!e.kind.startsWith('fti.') || e.assignmentId === null) return;
    const assignmentId = e.assignmentId;
    const entry = str(e.details.entry);
    if (!entry) {
      this.problem(assignmentId, '?', 'inconsistent', e.seq, `audit event ${e.seq} (${e.kind}) names no FTI entry`);
      return;
    }
    const k = this.key(assignmentId, entry);
    const existing = this.bindings.get(k);
    const rawHash = e.details.entryHash;
    const entryHash = typeof rawHash === 'string' && HEX64.test(rawHash) ? rawHash : null;
    const shape = { media: e.details.media, records: e.details.records, received: e.details.received };
    switch (e.kind) {
      case FTI_EVENT.recorded:
      case FTI_EVENT.corrected: {
        if (existing) {
          this.problem(assignmentId, entry, 'inconsistent', e.seq, `FTI entry ${entry} of ${assignmentId} is recorded twice in the chain (events ${existing.event} and ${e.seq})`);
          return;
        }
        if (rawHash !== undefined && entryHash === null) {
          this.problem(assignmentId, entry, 'inconsistent', e.seq, `audit event ${e.seq} carries a malformed hash for FTI entry ${entry} of ${assignmentId}`);
          return;
        }
        const b: Binding = { assignmentId, entry, kind: e.kind === FTI_EVENT.recorded ? 'recorded' : 'corrected', event: e.seq, entryHash, shape, seen: false };
        if (e.kind === FTI_EVENT.corrected) {
          const target = str(e.details.supersedes);
          const prior = target ? this.bindings.get(this.key(assignmentId, target)) : undefined;
          if (!target || !prior || prior.supersededBy !== undefined || entryHash === null) {
            this.problem(
              assignmentId,
              entry,
              'inconsistent',
              e.seq,
              `FTI entry ${entry} of ${assignmentId} (event ${e.seq}) corrects ${target ?? 'no entry'}, which ${!prior ? 'the chain does not record' : `was already corrected by ${prior.supersededBy}`}`,
            );
            return;
          }
          prior.supersededBy = entry;
          b.supersedes = target;
        }
        this.bindings.set(k, b);
        return;
      }
      case FTI_EVENT.imported: {
        if (!existing || existing.entryHash !== null || existing.importedBy || entryHash === null) {
          this.problem(
            assignmentId,
            entry,
            'inconsistent',
            e.seq,
            `audit event ${e.seq} imports FTI entry ${entry} of ${assignmentId}, which ${!existing ? 'the chain does not record' : 'is not an unhashed legacy entry'}`,
          );
          return;
        }
        existing.importedBy = { event: e.seq, entryHash };
        return;
      }
      case FTI_EVENT.disposed:
        if (!existing) this.problem(assignmentId, entry, 'inconsistent', e.seq, `audit event ${e.seq} disposes of FTI entry ${entry} of ${assignmentId}, which the chain does not record`);
        return;
      default:
        return;
    }
  }

  /** Check one stored row; returns the entry it vouches for, or undefined after recording a finding. */
  checkRow(row: StoredFti): FtiLogEntry | undefined {
    const b = this.bindings.get(this.key(row.assignmentId, row.id));
    if (!b) {
      this.problem(row.assignmentId, row.id, 'inserted', null, `FTI entry ${row.id} of ${row.assignmentId} was inserted into the store: no audit event records it`);
      return undefined;
    }
    b.seen = true;
    const data = row.data;
    const known = new Set<string>(ENTRY_FIELDS);
    const columnsAgree =
      data.id === row.id && data.assignmentId === row.assignmentId && data.recordedAt === row.recordedAt && row.seq === Number(row.id.slice(2)) && Object.keys(data).every((k) => known.has(k));
    const hash = b.entryHash ?? b.importedBy?.entryHash ?? null;
    const vouching = b.importedBy?.event ?? b.event;
    if (hash === null) {
      // Written before entries were hashed: only the shape in the event can be compared.
      if (!columnsAgree || data.media !== b.shape.media || data.records !== b.shape.records || data.received !== b.shape.received) {
        this.problem(row.assignmentId, row.id, 'altered', b.event, `FTI entry ${row.id} of ${row.assignmentId} was altered in the store: it no longer matches the media, records or date recorded at event ${b.event}`);
        return undefined;
      }
      this.problem(
        row.assignmentId,
        row.id,
        'unbound',
        b.event,
        `FTI entry ${row.id} of ${row.assignmentId} predates the FTI log's hashes (event ${b.event} records its shape, not its content): check it, then run \`detailee fti import-legacy ${row.assignmentId}\``,
      );
      return undefined;
    }
    if (!columnsAgree || ftiEntryHash(data) !== hash) {
      this.problem(row.assignmentId, row.id, 'altered', vouching, `FTI entry ${row.id} of ${row.assignmentId} was altered in the store: its content no longer matches the hash recorded at event ${vouching}`);
      return undefined;
    }
    const entry = { ...(normaliseFtiEntry(data) as unknown as FtiEntry) };
    if (entry.sender === null) delete entry.sender;
    if (entry.reason === null) delete entry.reason;
    const out: FtiLogEntry = { ...entry, provenance: b.importedBy ? 'imported' : b.kind, event: vouching };
    if (b.supersedes !== undefined) out.supersedes = b.supersedes;
    if (b.supersededBy !== undefined) out.supersededBy = b.supersededBy;
    return out;
  }

  /** After every row: recorded entries with no row were deleted. */
  finish(): FtiFinding[] {
    for (const b of this.bindings.values()) {
      if (!b.seen) {
        this.problem(b.assignmentId, b.entry, 'deleted', b.event, `FTI entry ${b.entry} of ${b.assignmentId} was deleted from the store: the chain records it at event ${b.event}`);
      }
    }
    return this.findings;
  }

  has(assignmentId: string, entry: string): boolean {
    return this.bindings.has(this.key(assignmentId, entry));
  }

  /** How many entries the chain records (corrected ones included). */
  get size(): number {
    return this.bindings.size;
  }

  /** Legacy entries that have no `fti.imported` event yet, with the event that records their shape. */
  unbound(): { assignmentId: string; entry: string; event: number; shape: Binding['shape'] }[] {
    return [...this.bindings.values()].filter((b) => b.entryHash === null && !b.importedBy).map((b) => ({ assignmentId: b.assignmentId, entry: b.entry, event: b.event, shape: b.shape }));
  }
}

/** One event's own hash; a per-assignment read does not walk the whole chain, so it checks each event it uses. */
function eventIntact(e: AuditEvent): boolean {
  try {
    return hashEvent(e) === e.hash;
  } catch {
    return false;
  }
}

export interface DerivedFtiLog {
  /** Entries in force (not corrected by a later one), in the order the chain recorded them. */
  current: FtiLogEntry[];
  /** Every entry, corrected ones included. */
  history: FtiLogEntry[];
  findings: FtiFinding[];
}

/**
 * The FTI log of one assignment as the chain defines it: which entries exist and which correct
 * which come from the events (up to `uptoSeq` when given), their fields from rows whose hash
 * matches. Any finding means the log cannot be trusted; callers fail closed.
 */
export function deriveFtiLog(events: AuditEvent[], rows: StoredFti[], uptoSeq?: number): DerivedFtiLog {
  const index = new FtiChainIndex();
  const findings: FtiFinding[] = [];
  const later = new Set<string>();
  for (const e of events) {
    // The log as it stood at `uptoSeq`; a later import still vouches for a legacy entry of then.
    if (uptoSeq !== undefined && e.seq > uptoSeq) {
      const k = `${e.assignmentId}\u0000${String(e.details.entry)}`;
      if (e.kind === FTI_EVENT.recorded || e.kind === FTI_EVENT.corrected) later.add(k);
      if (e.kind !== FTI_EVENT.imported || later.has(k)) continue;
    }
    if (e.kind.startsWith('fti.') && !eventIntact(e)) {
      findings.push({ assignmentId: e.assignmentId ?? '?', entry: str(e.details.entry) ?? '?', problem: 'altered', event: e.seq, message: `audit event ${e.seq} (${e.kind}) was altered: its content does not match its hash` });
      continue;
    }
    index.add(e);
  }
  const history: FtiLogEntry[] = [];
  for (const row of rows) {
    // Rows of entries recorded after the cut-off are not part of that log.
    if (later.has(`${row.assignmentId}\u0000${row.id}`) && !index.has(row.assignmentId, row.id)) continue;
    const entry = index.checkRow(row);
    if (entry) history.push(entry);
  }
  findings.push(...index.finish());
  // Ids number entries in the order they were recorded; an import does not move an entry.
  history.sort((a, b) => Number(a.id.slice(2)) - Number(b.id.slice(2)));
  return { current: history.filter((e) => e.supersededBy === undefined), history, findings };
}
