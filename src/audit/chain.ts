import type { hash as Hash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { AuditEvent, AuditEventInput, StoredAuditEvent } from '../store/types.js';

/** The hash that precedes the first event. */
export const GENESIS = '0'.repeat(64);


// Loaded at the first hash, not with the module: the stores import this file, `status` only reads
// them, and loading node:crypto was a tenth of its start-up time.
let hash: typeof Hash | undefined;

/** SHA-256, hex; a string as UTF-8. One call, not createHash: a third of the cost per event. */
export function sha256Hex(data: string | Uint8Array): string {
  hash ??= process.getBuiltinModule('node:crypto').hash;
  return hash('sha256', data, 'hex');
}

/**
 * The hash covers every field of the event but the hash itself, as RFC 8785 canonical JSON. The
 * envelope's keys are fixed, so it is written out in canonical (sorted) order by hand and only
 * `details` goes through the general canonicaliser: verifying a million events stays fast.
 * (A test pins this to canonicalJson of the whole object.)
 */
export function hashEvent(e: AuditEventInput & { seq: number; prev: string }): string {
  return sha256Hex(eventHashText(e));
}

/**
 * The text the event's hash covers. `canonicalDetails`, when given, must be canonicalJson of its
 * details (the stored text, when isCanonicalJson says it is); otherwise that is computed here.
 */
function eventHashText(e: AuditEventInput & { seq: number; prev: string }, canonicalDetails?: string): string {
  if (!Number.isSafeInteger(e.seq)) throw new Error('audit seq must be a safe integer');
  const details = canonicalDetails ?? canonicalJson(e.details);
  return (
    `{"actor":${jsonString(e.actor)},"assignmentId":${e.assignmentId === null ? 'null' : jsonString(e.assignmentId)},` +
    `"at":${jsonString(e.at)},"details":${details},"kind":${jsonString(e.kind)},` +
    `"prev":${jsonString(e.prev)},"seq":${e.seq}}`
  );
}

/** JSON.stringify(s), quoted directly when nothing in it is escaped (twice as fast on short strings). */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A quote, a backslash or a control character is escaped, a lone surrogate too.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

export function sealEvent(input: AuditEventInput, head: { seq: number; hash: string } | undefined): AuditEvent {
  const seq = (head?.seq ?? 0) + 1;
  const prev = head?.hash ?? GENESIS;
  return { ...input, seq, prev, hash: hashEvent({ ...input, seq, prev }) };
}

export interface ChainProblem {
  seq: number;
  reason: string;
}

/** Where a verifier stands, as a worker thread hands it back (plain data). */
export interface ChainState {
  count: number;
  problem: ChainProblem | undefined;
  /** The sequence number the next event must have. */
  next: number;
  /** The hash the next event must link to. */
  prev: string;
  /** The watched sequence numbers this verifier saw, with their hashes. */
  watched: [number, string][];
}

/**
 * Incremental verifier: feed events in stored order. The first problem is kept, because every
 * event after an edited one is suspect and the auditor needs to know where the damage starts.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prev = GENESIS;
  count = 0;
  problem: ChainProblem | undefined;
  /** Hash at a given seq, captured for checkpoint comparison. */
  private readonly watch: Map<number, string | undefined>;

  /** `after`: start behind that event (its hash the link the next must carry), to verify the rest of a chain. */
  constructor(watchSeqs: number[] = [], after?: { seq: number; hash: string }) {
    this.watch = new Map(watchSeqs.map((s) => [s, undefined]));
    if (after) {
      this.expectedSeq = after.seq + 1;
      this.prev = after.hash;
    }
  }

  state(): ChainState {
    const watched: [number, string][] = [];
    for (const [seq, hash] of this.watch) if (hash !== undefined) watched.push([seq, hash]);
    return { count: this.count, problem: this.problem, next: this.expectedSeq, prev: this.prev, watched };
  }

  /**
   * The events after this verifier's, verified by another that started behind this one's head
   * (constructed with `after` = head): as if this one had gone on with them.
   */
  absorb(rest: ChainState): void {
    this.count += rest.count;
    this.problem = rest.problem;
    this.expectedSeq = rest.next;
    this.prev = rest.prev;
    for (const [seq, hash] of rest.watched) if (this.watch.has(seq)) this.watch.set(seq, hash);
  }

  /** The last event that verified. */
  get head(): { seq: number; hash: string } | undefined {
    return this.expectedSeq === 1 ? undefined : { seq: this.expectedSeq - 1, hash: this.prev };
  }

  add(e: AuditEvent): void {
    if (this.link(e)) this.seal(e, hashEvent(e) === e.hash);
  }

  /**
   * `add` for an event as stored. With `canonical` (isCanonicalJson of its stored details text),
   * that text is hashed as it is: it is exactly what canonicalJson of the parsed details would
   * give. Any other text is parsed and canonicalised, as `add` does. The verdict is the same.
   */
  addStored(e: StoredAuditEvent, canonical: boolean): void {
    if (this.link(e)) this.seal(e, sha256Hex(eventHashText(e, canonical ? e.detailsText : undefined)) === e.hash);
  }

  /**
   * Counts the event and checks its place: its sequence number and its link to the previous hash.
   * False when there is a problem, now or before; then its content is not hashed.
   */
  private link(e: Pick<AuditEvent, 'seq' | 'prev'>): boolean {
    this.count++;
    if (this.problem) return false;
    if (e.seq !== this.expectedSeq) {
      this.problem = {
        seq: this.expectedSeq,
        reason:
          e.seq > this.expectedSeq
            ? `event ${this.expectedSeq} is missing (next stored event is ${e.seq})`
            : `event ${e.seq} appears out of order after event ${this.expectedSeq - 1}`,
      };
      return false;
    }
    if (e.prev !== this.prev) {
      this.problem = { seq: e.seq, reason: `event ${e.seq} does not link to event ${e.seq - 1} (previous hash differs)` };
      return false;
    }
    return true;
  }

  /** `intact`: whether its content matches its hash; then it is the new head. */
  private seal(e: Pick<AuditEvent, 'seq' | 'hash'>, intact: boolean): void {
    if (!intact) {
      this.problem = { seq: e.seq, reason: `event ${e.seq} was altered (its content does not match its hash)` };
      return;
    }
    if (this.watch.has(e.seq)) this.watch.set(e.seq, e.hash);
    this.prev = e.hash;
    this.expectedSeq++;
  }

  hashAt(seq: number): string | undefined {
    return this.watch.get(seq);
  }
}
