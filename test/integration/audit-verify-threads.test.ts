import { generateKeyPairSync, sign } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as AuditModule from '../../src/audit/audit.js';
import { verifyAudit as verifyFromSources } from '../../src/audit/audit.js';
import type * as TailModule from '../../src/audit/tail.js';
import type { TailResult } from '../../src/audit/tail-worker.js';
import { canonicalJson } from '../../src/crypto/canonical-json.js';
import { FtiChainIndex, ftiEntryHash } from '../../src/offboarding/fti-chain.js';
import type * as SqliteModule from '../../src/store/sqlite.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { AT, longChain, settle, verifyBefore, type Outcome } from '../helpers/audit-before.js';

/**
 * The built `audit verify` verifies a long chain in a store file in two halves at once, the second
 * in a worker thread (src/audit/tail.ts); only the build has the compiled worker to start. Its
 * verdicts must be those of one pass: the oracle (the verification before, test/helpers/
 * audit-before.ts) and the sources' verifyAudit, which runs in one thread.
 */

const root = join(import.meta.dirname, '..', '..');
const built = (path: string): string => pathToFileURL(join(root, 'dist', 'src', ...path.split('/'))).href;

function exec(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

const N = 120_000;
/** Where the halves meet for N events (tail.ts: a multiple of 20,000 a little past the middle). */
const MEET = 60_000;
const FTI_1 = { id: 'F-1', assignmentId: 'A1', description: 'batch 7', type: 'transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'safe 3', received: '2025-03-03', recordedAt: AT, recordedBy: 'officer' };
const FTI_2 = { ...FTI_1, id: 'F-2', records: 300 };
/** An FTI entry recorded in the first half and corrected in the second: the index spans both. */
const FTI_EVENTS: Record<number, [string, Record<string, unknown>]> = {
  30_000: ['fti.recorded', { entry: 'F-1', entryHash: ftiEntryHash(FTI_1), media: 'paper', records: 250, received: '2025-03-03' }],
  100_000: ['fti.corrected', { entry: 'F-2', entryHash: ftiEntryHash(FTI_2), media: 'paper', records: 300, received: '2025-03-03', supersedes: 'F-1' }],
};

describe('audit verify in two threads (the build): the verdicts of one pass', () => {
  let dir: string;
  let template: string;
  let audit: typeof AuditModule;
  let tail: typeof TailModule;
  let sqlite: typeof SqliteModule;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'src', 'audit', 'tail-worker.js'))) throw new Error('dist/ has no audit worker: run `npm run build` first');
    audit = (await import(built('audit/audit.js'))) as typeof AuditModule;
    tail = (await import(built('audit/tail.js'))) as typeof TailModule;
    sqlite = (await import(built('store/sqlite.js'))) as typeof SqliteModule;
    dir = mkdtempSync(join(tmpdir(), 'detailee-audit-threads-'));
    template = join(dir, 'template.db');
    await (await SqliteStore.open(template)).close();
    const text = (seq: number): string => (FTI_EVENTS[seq] ? JSON.stringify(FTI_EVENTS[seq][1]) : seq % 3 === 0 ? `{"j":${seq},"a":1}` : `{"a":1,"j":${seq}}`);
    longChain(template, N, text, text, (seq) => FTI_EVENTS[seq]?.[0] ?? 'test.event');
    const row = (n: number, data: object) => `('A1', 'F-${n}', ${n}, '${AT}', '${JSON.stringify(data)}')`;
    exec(template, `INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES ${row(1, FTI_1)}, ${row(2, FTI_2)}`);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A copy of the template store tampered with `sql` (or a store `make` writes): the three
   * verdicts, which must agree, and the worker's own answer for the second half.
   */
  async function verdicts(name: string, sql?: string, make?: (path: string) => Promise<void>): Promise<Outcome & { worker: TailResult | undefined }> {
    const path = join(dir, `${name}.db`);
    if (make) await make(path);
    else copyFileSync(template, path);
    if (sql) exec(path, sql);
    const store = await sqlite.SqliteStore.open(path);
    const sources = await SqliteStore.open(path);
    try {
      // The build starts a worker for this store; what it answers on its own:
      const t = tail.startTail(store, (await store.auditHead())?.seq ?? 0, []);
      expect(t?.after).toBe(MEET);
      const worker = await t?.result;
      t?.stop();
      const twoThreads = await settle(audit.verifyAudit(store).then(({ checkpoint: _cp, ...rest }) => rest));
      expect(twoThreads).toEqual(await settle(verifyBefore(sources)));
      expect(twoThreads).toEqual(await settle(verifyFromSources(sources).then(({ checkpoint: _cp, ...rest }) => rest)));
      return { ...twoThreads, worker };
    } finally {
      await store.close();
      await sources.close();
    }
  }

  it('an intact chain, its FTI entry recorded in one half and corrected in the other', async () => {
    const o = await verdicts('intact');
    expect(o).toMatchObject({ result: { ok: true, events: N, fti: { checked: true, entries: 2, rows: 2, findings: [] } } });
    expect(o.worker).toMatchObject({ verified: true, state: { count: N - MEET, problem: undefined, next: N + 1 } });
    expect(o.worker?.verified && o.worker.fti.map((r) => [r[0], r[3]])).toEqual([[100_000, 'fti.corrected']]);
  });

  it.each([
    ['an event altered in the first half', `UPDATE audit SET details = '{"a":2,"j":100}' WHERE seq = 100`, 100],
    ['the last event of the first half altered', `UPDATE audit SET details = '{"a":2,"j":${MEET}}' WHERE seq = ${MEET}`, MEET],
    ['the first event of the second half altered', `UPDATE audit SET details = '{"a":2,"j":${MEET + 1}}' WHERE seq = ${MEET + 1}`, MEET + 1],
    ['the first event of the second half unlinked', `UPDATE audit SET prev = '${'1'.repeat(64)}' WHERE seq = ${MEET + 1}`, MEET + 1],
    ['an event altered in the second half', `UPDATE audit SET details = '{"a":2,"j":90000}' WHERE seq = 90000`, 90_000],
    ['an event deleted in the second half', 'DELETE FROM audit WHERE seq = 90000', 90_000],
    ['the event where the halves meet deleted', `DELETE FROM audit WHERE seq = ${MEET}`, MEET],
    ['the correcting FTI event altered', `UPDATE audit SET details = replace(details, '300', '301') WHERE seq = 100000`, 100_000],
  ])('%s: refused at the same event', async (name, sql, seq) => {
    const o = await verdicts(name.replace(/\W+/g, '-'), sql);
    expect(o).toMatchObject({ result: { ok: false, firstBadSeq: seq } });
    // Past the event where they meet, the worker found it (that event gone, it could not start).
    if (seq > MEET) expect(o.worker).toMatchObject({ verified: true, state: { problem: { seq } } });
    if (seq === MEET && sql.startsWith('DELETE')) expect(o.worker).toEqual({ verified: false });
  });

  it('an FTI row altered: the same finding', async () => {
    const o = await verdicts('fti-row', `UPDATE fti SET data = replace(data, '300', '301') WHERE id = 'F-2'`);
    expect(o).toMatchObject({ result: { ok: false, firstBadSeq: 100_000, fti: { findings: [{ problem: 'altered' }] } } });
  });

  it.each([
    ['a details text that is not JSON in the second half', `UPDATE audit SET details = '{' WHERE seq = 90000`],
    ['a lone surrogate in the second half', `UPDATE audit SET details = '{"s":"\\ud800"}' WHERE seq = 90000`],
    ['an altered event in the second half, a text that is not JSON further in its batch', `UPDATE audit SET details = '[1]' WHERE seq = 90000; UPDATE audit SET details = '{' WHERE seq = 99999`],
  ])('%s: the same error', async (name, sql) => {
    const o = await verdicts(name.replace(/\W+/g, '-'), sql);
    expect(o).toHaveProperty('threw');
    // The worker gives up on an error; this thread goes on from where the halves meet and meets it.
    expect(o.worker).toEqual({ verified: false });
  });

  it('the FTI index throwing on an event of the second half: the same error', async () => {
    // An FTI event whose details are null, hashed so: the chain is intact, the index cannot read it.
    const o = await verdicts('fti-null', undefined, async (path) => {
      await (await SqliteStore.open(path)).close();
      const text = (seq: number): string => (seq === 100_000 ? 'null' : `{"j":${seq}}`);
      longChain(path, N, text, text, (seq) => (seq === 100_000 ? 'fti.recorded' : 'test.event'));
    });
    expect(o).toMatchObject({ threw: "TypeError: Cannot read properties of null (reading 'entry')", worker: { verified: true } });
  });

  it.each([
    ['the hash at a checkpoint in the second half, matching', (hash: string) => hash],
    ['a checkpoint in the second half whose hash the log no longer has', () => '0'.repeat(64)],
  ])('%s: the same checkpoint verdict', async (name, hashOf) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.db`);
    copyFileSync(template, path);
    const sources = await SqliteStore.open(path);
    const store = await sqlite.SqliteStore.open(path);
    try {
      const { privateKey } = generateKeyPairSync('ed25519');
      const checkpoint = { format: 'detailee/audit-checkpoint/v1' as const, size: 100_000, hash: hashOf((await sources.readAudit(99_999, 1))[0]!.hash), at: AT, store: path };
      const cp = { checkpoint, keyId: 'k', publicKey: '', signature: sign(null, Buffer.from(canonicalJson(checkpoint)), privateKey).toString('base64url') };
      const twoThreads = await audit.verifyAudit(store, cp, privateKey);
      expect(twoThreads).toEqual(await verifyFromSources(sources, cp, privateKey));
      expect(twoThreads.checkpoint?.ok).toBe(hashOf('x') === 'x');
    } finally {
      await store.close();
      await sources.close();
    }
  });
});

describe('what the worker sends back for the FTI index', () => {
  it('only fti.* events: the index passes over any other on its kind alone, without reading its details', () => {
    const index = new FtiChainIndex();
    const read = (): never => {
      throw new Error('details read');
    };
    for (const kind of ['test.event', 'fti', 'assignment.fti.recorded', 'FTI.recorded']) {
      const e = { seq: 1, at: AT, actor: 'officer', kind, assignmentId: 'A1', prev: '', hash: '', get details(): Record<string, unknown> { return read(); } };
      expect(() => index.add(e)).not.toThrow();
    }
    expect(index.size).toBe(0);
    expect(index.findings).toEqual([]);
  });
});
