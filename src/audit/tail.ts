import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Store } from '../store/types.js';
import { BATCH } from './read-chain.js';
import type { TailJob, TailResult } from './tail-worker.js';

/** A chain at least this long is verified in two halves at once; a shorter one is not worth a thread. */
const TWO_THREADS_FROM = 100_000;
/** The share of the chain the main thread verifies. */
const FIRST_HALF = 0.52;

/** The second half of the chain, being verified in a worker thread. */
export interface Tail {
  /** The last event of the first half: the worker verifies the events after it. */
  after: number;
  /** Undefined when the worker failed or stopped without an answer. */
  result: Promise<TailResult | undefined>;
  stop(): void;
}

/**
 * Start verifying the second half of a long chain in a worker thread, which reads the store's file
 * through a connection of its own while this thread verifies the first half: on two cores, about
 * half the time. Undefined (one thread does it all) for PostgreSQL or an in-memory store, a short
 * chain, or when running from the sources, where there is no compiled worker to start.
 */
export function startTail(store: Store, head: number, watch: number[]): Tail | undefined {
  if (store.file === undefined || head < TWO_THREADS_FROM) return undefined;
  const url = new URL('./tail-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  // On a batch boundary, so that the worker's reads are counted into batches as the main thread's
  // are; a little past the middle, as the worker starts behind (a new thread loads its modules:
  // 0.1-0.2 s of a 1.3 s half on the machine of docs/benchmarks.md).
  const after = Math.floor((head * FIRST_HALF) / BATCH) * BATCH;
  const job: TailJob = { kind: 'detailee/audit-tail', file: store.file, after, watch };
  let worker: Worker;
  try {
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    // No inherited flags (a --import preload): the worker needs none.
    worker = new Worker(url, { workerData: job, execArgv: [] });
  } catch {
    return undefined;
  }
  const result = new Promise<TailResult | undefined>((resolve) => {
    worker.once('message', (r: TailResult) => resolve(r));
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
  return { after, result, stop: () => void worker.terminate() };
}
