import { ChainVerifier } from '../audit/chain.js';
import { InputError, VerificationError } from '../errors.js';
import type { Row } from './driver.js';
import { auditParams } from './rows.js';
import type { Store } from './types.js';
import { RAW_TABLE_NAMES, RAW_TABLES, type RawBatch, type RawTable } from './raw-tables.js';

/** Column values in RAW_TABLES order, integer columns normalised (pg returns BIGINT as text). */
export function rawValues(table: RawTable, row: Row): unknown[] {
  const spec = RAW_TABLES[table];
  const ints: readonly string[] = spec.ints;
  return spec.columns.map((c) => {
    const v = row[c];
    if (v === undefined || v === null) return null;
    return ints.includes(c) ? Number(v) : v;
  });
}

export function normaliseRow(table: RawTable, row: Row): Row {
  const values = rawValues(table, row);
  return Object.fromEntries(RAW_TABLES[table].columns.map((c, i) => [c, values[i]]));
}

export interface CopyResult {
  assignments: number;
  auditEvents: number;
  journal: number;
  fti: number;
  certificates: number;
  notices: number;
  meta: number;
}

const PAGE = 500;

/** Read the whole chain in pages; the verifier keeps the first problem, where the damage starts. */
type Progress = ((stage: string, done: number, total: number) => void) | undefined;

async function verifyChain(store: Store, onProgress?: Progress, stage = ''): Promise<ChainVerifier> {
  const v = new ChainVerifier();
  const total = onProgress ? ((await store.auditHead())?.seq ?? 0) : 0;
  let after = 0;
  for (;;) {
    const page = await store.readAudit(after, PAGE);
    for (const e of page) v.add(e);
    if (page.length > 0) onProgress?.(stage, Math.min(page[page.length - 1]!.seq, total), total);
    if (page.length < PAGE) return v;
    after = page[page.length - 1]!.seq;
  }
}

function chainError(which: 'source' | 'destination', store: Store, v: ChainVerifier): VerificationError {
  const p = v.problem!;
  return new VerificationError(`The audit chain of the ${which} store ${store.location} is broken at event ${p.seq}: ${p.reason}.`, {
    code: 'audit.broken',
    details: { store: which, seq: p.seq, reason: p.reason },
    actions:
      which === 'source'
        ? ['Nothing was copied. Investigate with `detailee audit verify` before moving this store.']
        : ['Empty the destination and copy again; report this if it repeats.'],
  });
}

/**
 * Copy every record from one store into an empty one, so a site can move from the embedded store
 * to PostgreSQL (or back) without breaking the tamper-evident chain: audit events are copied with
 * their seq, prev and hash, and both chains are verified and their heads compared.
 */
export async function copyStore(from: Store, to: Store, onProgress?: Progress): Promise<CopyResult> {
  for (const table of RAW_TABLE_NAMES) {
    if ((await to.exportRaw(table, 0, 1)).length > 0) {
      throw new InputError(`The destination store ${to.location} is not empty (it has ${table} rows).`, {
        code: 'store.copy.not-empty',
        actions: ['Copy into a newly created, empty store.'],
      });
    }
  }

  const source = await verifyChain(from, onProgress, 'verify source');
  if (source.problem) throw chainError('source', from, source);
  const head = source.head;

  const counts: CopyResult = { assignments: 0, auditEvents: 0, journal: 0, fti: 0, certificates: 0, notices: 0, meta: 0 };
  const countKey: Record<RawTable, keyof CopyResult> = {
    meta: 'meta',
    assignments: 'assignments',
    audit: 'auditEvents',
    journal: 'journal',
    fti: 'fti',
    certificates: 'certificates',
    notices: 'notices',
  };

  async function* batches(): AsyncGenerator<RawBatch> {
    for (const table of RAW_TABLE_NAMES) {
      if (table === 'audit') {
        // Only up to the verified head: events appended meanwhile were not verified.
        let after = 0;
        const last = head?.seq ?? 0;
        while (after < last) {
          const page = (await from.readAudit(after, PAGE)).filter((e) => e.seq <= last);
          if (page.length === 0) break;
          after = page[page.length - 1]!.seq;
          counts.auditEvents += page.length;
          onProgress?.('copy audit events', counts.auditEvents, last);
          yield {
            table,
            rows: page.map((e) => {
              const values = auditParams(e);
              return Object.fromEntries(RAW_TABLES.audit.columns.map((c, i) => [c, values[i]]));
            }),
          };
        }
        continue;
      }
      for (let offset = 0; ; offset += PAGE) {
        const rows = await from.exportRaw(table, offset, PAGE);
        if (rows.length > 0) {
          counts[countKey[table]] += rows.length;
          yield { table, rows };
        }
        if (rows.length < PAGE) break;
      }
    }
  }
  await to.importRaw(batches());

  const dest = await verifyChain(to, onProgress, 'verify copy');
  if (dest.problem) throw chainError('destination', to, dest);
  if (dest.head?.seq !== head?.seq || dest.head?.hash !== head?.hash) {
    throw new VerificationError(
      `The copied audit chain ends at ${dest.head?.seq ?? 0} (${dest.head?.hash ?? 'empty'}) but the source ends at ${head?.seq ?? 0} (${head?.hash ?? 'empty'}).`,
      { code: 'audit.copy-mismatch', actions: ['Empty the destination and copy again.'] },
    );
  }
  return counts;
}
