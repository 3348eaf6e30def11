import { isCanonicalJson } from '../crypto/canonical-json.js';
import type { Store, StoredAuditEvent } from '../store/types.js';

/** The audit log's reads (iterateAudit's batch, which readAudit parses whole before any of its events is used). */
export const BATCH = 20_000;
/**
 * Verification reads a page at a time: a page's rows are garbage before the next is read, so they
 * die young instead of surviving into the old generation (at 20,000 rows a read, collecting was a
 * quarter of the time and the peak RSS 400 MB).
 */
const PAGE = 250;

/**
 * Reads the chain as stored, a page at a time. Each details text is checked once: text that is
 * canonical JSON already is what the hash covers, and is hashed as it is; any other is parsed as
 * readAudit parsed it, and canonicalised before it is hashed, as before.
 *
 * Where a text that is not JSON fails is kept too. readAudit parsed its batch of 20,000 events
 * before any of them was verified, so such a text failed the verification even behind a problem
 * found earlier in its batch. Pages are counted into the same batches, and when the verification
 * stops inside a batch, the rest of the batch is read and parsed (finishBatch).
 */
class Reader {
  /** For each event of the last page, 1 when its details text is canonical JSON (isCanonicalJson). */
  readonly canonical = new Uint8Array(PAGE);
  private readonly store: Store;
  private after: number;
  /** How many events of the current batch were read. */
  private inBatch: number;

  constructor(store: Store, from: ChainPosition) {
    this.store = store;
    this.after = from.after;
    this.inBatch = from.inBatch;
  }

  /** The next page, empty at the end of the chain. Throws JSON.parse's error for a details text that is not JSON. */
  async next(): Promise<StoredAuditEvent[]> {
    const limit = Math.min(PAGE, BATCH - this.inBatch);
    const page = await this.store.readAuditStored(this.after, limit);
    for (let i = 0; i < page.length; i++) {
      const e = page[i]!;
      if (isCanonicalJson(e.detailsText)) this.canonical[i] = 1;
      else {
        this.canonical[i] = 0;
        parse(e);
      }
    }
    // A read shorter than asked ended its batch, as a readAudit batch ended there.
    this.inBatch = page.length < limit ? 0 : (this.inBatch + page.length) % BATCH;
    if (page.length > 0) this.after = page[page.length - 1]!.seq;
    return page;
  }

  /** The verification stopped inside a batch: read and parse the rest of it, as readAudit had. */
  async finishBatch(): Promise<void> {
    while (this.inBatch !== 0) await this.next();
  }
}

/** After `from`, read and parse the rest of its batch, as readAudit had read it before verifying any of it. */
export async function finishBatch(store: Store, from: ChainPosition): Promise<void> {
  await new Reader(store, from).finishBatch();
}

/** Reading `details` parses it; a text that is not JSON throws here. */
function parse(e: StoredAuditEvent): unknown {
  return e.details;
}

/**
 * A place in the chain to read on from: after the event `after`, with `inBatch` events of its
 * batch read (its position in the chain modulo BATCH, when every event before it is in place).
 */
export interface ChainPosition {
  after: number;
  inBatch: number;
}

const START: ChainPosition = { after: 0, inBatch: 0 };

/**
 * Every event of the chain (from `from`) to `visit`, in order, with whether its details text is
 * canonical JSON (then that text is what its hash covers), until `visit` returns false.
 */
export async function walkStoredChain(store: Store, visit: (e: StoredAuditEvent, canonical: boolean) => boolean, from = START): Promise<void> {
  const reader = new Reader(store, from);
  for (;;) {
    const page = await reader.next();
    if (page.length === 0) return;
    const canonical = reader.canonical;
    let go = true;
    try {
      for (let i = 0; i < page.length && go; i++) go = visit(page[i]!, canonical[i] === 1);
    } catch (e) {
      await reader.finishBatch();
      throw e;
    }
    if (!go) return reader.finishBatch();
  }
}
