import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { iterateAudit, type AuditVerifyResult } from '../../src/audit/audit.js';
import { GENESIS } from '../../src/audit/chain.js';
import { canonicalJson } from '../../src/crypto/canonical-json.js';
import { FtiChainIndex } from '../../src/offboarding/fti-chain.js';
import { ftiFromRow } from '../../src/store/rows.js';
import type { AuditEvent, Store } from '../../src/store/types.js';

/**
 * The audit verification as it was before `audit verify` hashed stored details texts, kept as the
 * oracle the faster one must agree with: every event read through readAudit (which parses every
 * row of its batch of 20,000), hashed over canonicalJson of its parsed details.
 */

/** The event hash as it was computed (createHash, JSON.stringify of each field, canonicalJson of details). */
export function hashBefore(e: Omit<AuditEvent, 'hash'>): string {
  if (!Number.isSafeInteger(e.seq)) throw new Error('audit seq must be a safe integer');
  const text =
    `{"actor":${JSON.stringify(e.actor)},"assignmentId":${e.assignmentId === null ? 'null' : JSON.stringify(e.assignmentId)},` +
    `"at":${JSON.stringify(e.at)},"details":${canonicalJson(e.details)},"kind":${JSON.stringify(e.kind)},` +
    `"prev":${JSON.stringify(e.prev)},"seq":${e.seq}}`;
  return createHash('sha256').update(text).digest('hex');
}

export type VerdictBefore = Omit<AuditVerifyResult, 'checkpoint'>;

/** verifyAudit before the change, without a checkpoint: iterateAudit and the verifier as they were. */
export async function verifyBefore(store: Store): Promise<VerdictBefore> {
  let expectedSeq = 1;
  let prev = GENESIS;
  let count = 0;
  let head: { seq: number; hash: string } | undefined;
  let problem: { seq: number; reason: string } | undefined;
  const fti = new FtiChainIndex();
  for await (const e of iterateAudit(store)) {
    count++;
    if (e.seq !== expectedSeq) {
      problem = {
        seq: expectedSeq,
        reason: e.seq > expectedSeq ? `event ${expectedSeq} is missing (next stored event is ${e.seq})` : `event ${e.seq} appears out of order after event ${expectedSeq - 1}`,
      };
    } else if (e.prev !== prev) {
      problem = { seq: e.seq, reason: `event ${e.seq} does not link to event ${e.seq - 1} (previous hash differs)` };
    } else if (hashBefore(e) !== e.hash) {
      problem = { seq: e.seq, reason: `event ${e.seq} was altered (its content does not match its hash)` };
    } else {
      prev = e.hash;
      head = { seq: e.seq, hash: e.hash };
      expectedSeq++;
    }
    if (problem) break;
    fti.add(e);
  }
  const ftiResult: AuditVerifyResult['fti'] = { checked: false, entries: 0, rows: 0, findings: [] };
  if (!problem) {
    for (const raw of await store.exportRaw('fti', 0, 1_000_000)) {
      ftiResult.rows++;
      fti.checkRow(ftiFromRow(raw));
    }
    ftiResult.findings = fti.finish();
    ftiResult.entries = fti.size;
    ftiResult.checked = true;
  }
  const firstFti = ftiResult.findings[0];
  return {
    ok: !problem && firstFti === undefined,
    events: count,
    head: head ?? null,
    firstBadSeq: problem?.seq ?? firstFti?.event ?? null,
    reason: problem?.reason ?? firstFti?.message ?? null,
    fti: ftiResult,
  };
}

export type Outcome = { result: unknown } | { threw: string };

/** A verification's verdict, or what it threw. */
export async function settle(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { result: await p };
  } catch (e) {
    return { threw: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

export const AT = '2025-02-06T12:00:00.000Z';

/**
 * A long chain written straight into a migrated SQLite store file, hashed as before over
 * `hashed(seq)`; `stored(seq)` is the text stored (where it differs, the event was altered).
 * Every event is the officer's, of assignment A1, of kind `kind(seq)`.
 */
export function longChain(path: string, n: number, hashed: (seq: number) => string, stored: (seq: number) => string, kind: (seq: number) => string = () => 'test.event'): void {
  const db = new DatabaseSync(path);
  try {
    const insert = db.prepare('INSERT INTO audit (seq, at, actor, kind, assignment_id, details, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    db.exec('BEGIN');
    let prev = GENESIS;
    for (let seq = 1; seq <= n; seq++) {
      const hash = hashBefore({ seq, at: AT, actor: 'officer', kind: kind(seq), assignmentId: 'A1', details: JSON.parse(hashed(seq)) as Record<string, unknown>, prev });
      insert.run(seq, AT, 'officer', kind(seq), 'A1', stored(seq), prev, hash);
      prev = hash;
    }
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}
