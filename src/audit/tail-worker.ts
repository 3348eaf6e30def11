import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/sqlite.js';
import type { StoredAuditEvent } from '../store/types.js';
import { ChainVerifier, type ChainState } from './chain.js';
import { walkStoredChain } from './read-chain.js';

/**
 * A worker thread's part of `audit verify` (see tail.ts): the chain of the store file `file` after
 * the event `after` (a multiple of the read batch), verified as the main thread would have gone on.
 */
export interface TailJob {
  kind: 'detailee/audit-tail';
  file: string;
  after: number;
  /** Sequence numbers whose hash the checkpoint check needs. */
  watch: number[];
}

/**
 * What it found. `startHash` is the stored hash of event `after` its links start from; the main
 * thread uses the answer only when that is the hash it verified there. `fti` holds the rows of the
 * FTI events it passed (the FTI index is the main thread's), in order. Not `verified` when it
 * could not read the chain, or when something threw: the main thread then verifies the rest
 * itself, and meets the same error in the same place.
 */
export type TailResult = { verified: true; startHash: string; state: ChainState; fti: unknown[][] } | { verified: false };

function row(e: StoredAuditEvent): unknown[] {
  return [e.seq, e.at, e.actor, e.kind, e.assignmentId, e.detailsText, e.prev, e.hash];
}

async function verifyTail(job: TailJob): Promise<TailResult> {
  let store: SqliteStore | undefined;
  try {
    store = await SqliteStore.openReadOnly(job.file);
    const [start] = await store.readAuditStored(job.after - 1, 1);
    if (start?.seq !== job.after) return { verified: false };
    const v = new ChainVerifier(job.watch, { seq: start.seq, hash: start.hash });
    const fti: unknown[][] = [];
    const visit = (e: StoredAuditEvent, canonical: boolean): boolean => {
      v.addStored(e, canonical);
      if (v.problem) return false;
      // FtiChainIndex.add passes over every other event on its kind alone.
      if (e.kind.startsWith('fti.')) fti.push(row(e));
      return true;
    };
    await walkStoredChain(store, visit, { after: job.after, inBatch: 0 });
    return { verified: true, startHash: start.hash, state: v.state(), fti };
  } catch {
    return { verified: false };
  } finally {
    await store?.close();
  }
}

const job = workerData as TailJob | undefined;
if (!isMainThread && job?.kind === 'detailee/audit-tail') {
  void verifyTail(job).then((r) => parentPort?.postMessage(r));
}
