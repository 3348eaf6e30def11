import type { createHash as CreateHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { AuditEvent, AuditEventInput } from '../store/types.js';

/** The hash that precedes the first event. */
export const GENESIS = '0'.repeat(64);


// Loaded at the first hash, not with the module: the stores import this file, `status` only reads
// them, and loading node:crypto was a tenth of its start-up time.
let createHash: typeof CreateHash | undefined;

export function sha256Hex(data: string | Uint8Array): string {
  createHash ??= process.getBuiltinModule('node:crypto').createHash;
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The hash covers every field of the event but the hash itself, as RFC 8785 canonical JSON. The
 * envelope's keys are fixed, so it is written out in canonical (sorted) order by hand and only
 * `details` goes through the general canonicaliser: verifying a million events stays fast.
 * (A test pins this to canonicalJson of the whole object.)
 */
export function hashEvent(e: AuditEventInput & { seq: number; prev: string }): string {
  if (!Number.isSafeInteger(e.seq)) throw new Error('audit seq must be a safe integer');
  const text =
    `{"actor":${JSON.stringify(e.actor)},"assignmentId":${e.assignmentId === null ? 'null' : JSON.stringify(e.assignmentId)},` +
    `"at":${JSON.stringify(e.at)},"details":${canonicalJson(e.details)},"kind":${JSON.stringify(e.kind)},` +
    `"prev":${JSON.stringify(e.prev)},"seq":${e.seq}}`;
  return sha256Hex(text);
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

/**
 * Incremental verifier: feed events in stored order. The first problem is kept, because every
 * event after an edited one is suspect and the auditor needs to know where the damage starts.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prev = GENESIS;
  count = 0;
  head: { seq: number; hash: string } | undefined;
  problem: ChainProblem | undefined;
  /** Hash at a given seq, captured for checkpoint comparison. */
  private readonly watch: Map<number, string | undefined>;

  constructor(watchSeqs: number[] = []) {
    this.watch = new Map(watchSeqs.map((s) => [s, undefined]));
  }

  add(e: AuditEvent): void {
    this.count++;
    if (this.problem) return;
    if (e.seq !== this.expectedSeq) {
      this.problem = {
        seq: this.expectedSeq,
        reason:
          e.seq > this.expectedSeq
            ? `event ${this.expectedSeq} is missing (next stored event is ${e.seq})`
            : `event ${e.seq} appears out of order after event ${this.expectedSeq - 1}`,
      };
      return;
    }
    if (e.prev !== this.prev) {
      this.problem = { seq: e.seq, reason: `event ${e.seq} does not link to event ${e.seq - 1} (previous hash differs)` };
      return;
    }
    if (hashEvent(e) !== e.hash) {
      this.problem = { seq: e.seq, reason: `event ${e.seq} was altered (its content does not match its hash)` };
      return;
    }
    if (this.watch.has(e.seq)) this.watch.set(e.seq, e.hash);
    this.prev = e.hash;
    this.head = { seq: e.seq, hash: e.hash };
    this.expectedSeq++;
  }

  hashAt(seq: number): string | undefined {
    return this.watch.get(seq);
  }
}
