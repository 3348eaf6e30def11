import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChainVerifier } from '../../src/audit/chain.js';
import { InputError, VerificationError } from '../../src/errors.js';
import { copyStore } from '../../src/store/copy.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { LATEST_SCHEMA } from '../../src/store/migrations.js';
import { StoreConflictError, type Store } from '../../src/store/types.js';
import { createTestSchema, makeRecord, type TestSchema } from '../helpers/pg.js';

let schema: TestSchema;
const opened: Store[] = [];
const dirs: string[] = [];

/** Each instance has its own pool, as a separate process would; application_name lets the test find its sessions. */
async function openPg(name: string, s: TestSchema = schema): Promise<PostgresStore> {
  const store = await PostgresStore.open(`${s.url}&application_name=${name}-${s.schema}`, { migrate: true });
  opened.push(store);
  return store;
}

async function openSqlite(): Promise<{ store: SqliteStore; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'detailee-copy-'));
  dirs.push(dir);
  const path = join(dir, 'detailee.db');
  const store = await SqliteStore.open(path, { migrate: true });
  opened.push(store);
  return { store, path };
}

/** Poll the server (no timers) until a condition on its activity holds. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 20_000; i++) if (await check()) return;
  throw new Error(`timed out waiting for ${what}`);
}

async function verify(store: Store): Promise<ChainVerifier> {
  const v = new ChainVerifier();
  for (const e of await store.readAudit(0, 100_000)) v.add(e);
  return v;
}

beforeEach(async () => {
  schema = await createTestSchema();
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await schema.drop();
});

describe('PostgresStore under concurrency', () => {
  it('lets two instances insert different ids at the same time', async () => {
    const [a, b] = [await openPg('a'), await openPg('b')];
    await Promise.all([a.transaction((tx) => tx.insertAssignment(makeRecord('A-1'))), b.transaction((tx) => tx.insertAssignment(makeRecord('B-1')))]);
    expect((await a.listSummaries()).map((s) => s.id)).toEqual(['A-1', 'B-1']);
  });

  it('gives the same id to exactly one of two concurrent inserts; the other gets StoreConflictError', async () => {
    const [a, b] = [await openPg('a'), await openPg('b')];
    let releaseA!: () => void;
    const aMayCommit = new Promise<void>((r) => (releaseA = r));
    let aInserted!: () => void;
    const aHasInserted = new Promise<void>((r) => (aInserted = r));

    const first = a.transaction(async (tx) => {
      await tx.insertAssignment(makeRecord('SAME', { username: 'first' }));
      aInserted();
      await aMayCommit;
    });
    await aHasInserted;
    const second = b.transaction(async (tx) => {
      await tx.insertAssignment(makeRecord('SAME', { username: 'second' }));
      await tx.appendAudit({ at: '2025-01-01T00:00:00Z', actor: 'b', kind: 'onboard', assignmentId: 'SAME', details: {} });
    });
    // B's insert must really be waiting on A's uncommitted row, not merely run after it.
    await until('the second insert to block', async () => {
      const rows = await schema.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [`b-${schema.schema}`]);
      return rows.length > 0;
    });
    releaseA();
    const results = await Promise.allSettled([first, second]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreConflictError);
    expect((await b.getAssignment('SAME'))?.username).toBe('first');
    expect(await b.auditHead()).toBeUndefined();
  });

  it('lets one of two concurrent updates of the same version win', async () => {
    const [a, b] = [await openPg('a'), await openPg('b')];
    const rec = makeRecord('A-1');
    await a.transaction((tx) => tx.insertAssignment(rec));
    const results = await Promise.allSettled([
      a.transaction((tx) => tx.updateAssignment({ ...rec, state: 'revoked' }, 1)),
      b.transaction((tx) => tx.updateAssignment({ ...rec, state: 'expired' }, 1)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(StoreConflictError);
    expect((await a.getAssignment('A-1'))?.version).toBe(2);
  });

  it('keeps one linear audit chain when 8 instances append 50 events each at once', async () => {
    const writers = await Promise.all(Array.from({ length: 8 }, (_, w) => openPg(`w${w}`)));
    await Promise.all(
      writers.map(async (store, w) => {
        for (let n = 0; n < 50; n++) {
          await store.transaction((tx) =>
            tx.appendAudit({ at: '2025-02-01T00:00:00.000Z', actor: `writer-${w}`, kind: 'test', assignmentId: null, details: { w, n } }),
          );
        }
      }),
    );
    const events = await writers[0]!.readAudit(0, 1000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const v = await verify(writers[0]!);
    expect(v.problem).toBeUndefined();
    expect(v.head).toEqual(await writers[3]!.auditHead());
    for (let w = 0; w < 8; w++) {
      const mine = events.filter((e) => e.actor === `writer-${w}`).map((e) => e.details.n);
      expect(mine).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
  });

  it('numbers FTI entries without duplicates when recorded concurrently', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, (_, i) => openPg(`f${i}`)));
    await Promise.all(
      stores.map(async (s, i) => {
        for (let n = 0; n < 10; n++) {
          await s.transaction(async (tx) => {
            const seq = await tx.nextFtiSeq('A-1');
            await tx.insertFti({ id: `f-${i}-${n}`, assignmentId: 'A-1', seq, recordedAt: '2025-01-01T00:00:00Z', data: {} });
          });
        }
      }),
    );
    expect((await stores[0]!.listFti('A-1')).map((f) => f.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('a lease is a row, not a session: nothing stays locked on the server between calls, and a killed connection frees nothing', async () => {
    const [a, b] = [await openPg('a'), await openPg('b')];
    const t0 = new Date('2025-02-01T02:00:00Z');
    expect(await a.acquireLock('nightly', 'run-a', t0, 60_000)).toEqual({ acquired: true });
    const advisory = await schema.query(
      "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity s USING (pid) WHERE s.application_name = $1 AND l.locktype = 'advisory'",
      [`a-${schema.schema}`],
    );
    expect(advisory).toEqual([]);
    // Every connection of the holder's pool killed, as if its host had died: the lease stands until it ends.
    await schema.query('SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = $1', [`a-${schema.schema}`]);
    expect(await b.acquireLock('nightly', 'run-b', new Date(t0.getTime() + 59_999), 60_000)).toEqual({ acquired: false });
    expect((await b.acquireLock('nightly', 'run-b', new Date(t0.getTime() + 60_000), 60_000)).takenOver).toMatchObject({ holder: 'run-a' });
    await b.releaseLock('nightly', 'run-b');
    expect(await schema.query("SELECT * FROM locks WHERE name = 'nightly'")).toEqual([]);
    await a.close();
  });

  it('migrates from several processes at once without colliding', async () => {
    const fresh = await createTestSchema();
    try {
      await fresh.query('DROP SCHEMA IF EXISTS ' + fresh.schema + ' CASCADE');
      // The schema does not exist yet: migrate creates it, once.
      const stores = await Promise.all(Array.from({ length: 4 }, (_, i) => openPg(`m${i}`, fresh)));
      for (const s of stores) expect(await s.schemaVersion()).toBe(LATEST_SCHEMA);
      expect(await fresh.query('SELECT version FROM schema_migrations ORDER BY version')).toEqual([{ version: 1 }, { version: 2 }]);
    } finally {
      for (const s of opened.splice(0)) await s.close();
      await fresh.drop();
    }
  });

  it('orders by byte value even where the column collation says otherwise', async () => {
    const icu = await schema.query("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'");
    if (icu.length === 0) return;
    const store = await openPg('c');
    await schema.query('ALTER TABLE assignments ALTER COLUMN id TYPE text COLLATE "und-x-icu"');
    await store.transaction(async (tx) => {
      for (const id of ['b-2', 'B-1', 'a.1', 'A_0', '10']) await tx.insertAssignment(makeRecord(id));
    });
    expect((await store.listSummaries()).map((s) => s.id)).toEqual(['10', 'A_0', 'B-1', 'a.1', 'b-2']);
  });

  it('keeps the password out of its location and its errors', async () => {
    // An '@' left unencoded in the password still parses (the last '@' ends the user info).
    for (const password of ['s3cr%40t-pw', 's3cr@t-pw']) {
      const err = await PostgresStore.open(`postgres://nobody:${password}@127.0.0.1:1/test?schema=${schema.schema}`, { migrate: false }).catch(
        (e: unknown) => e,
      );
      expect((err as { code?: string }).code).toBe('store.connect');
      expect((err as Error).message).toContain('postgres://nobody:***@127.0.0.1:1/test');
      expect((err as Error).message).not.toMatch(/s3cr|t-pw/);
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    const err = await PostgresStore.open('postgres://127.0.0.1/test?schema=x;drop', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
  });
});

describe('copyStore', () => {
  async function populate(store: Store): Promise<void> {
    await store.transaction(async (tx) => {
      await tx.insertAssignment(makeRecord('A-1'));
      await tx.insertAssignment(makeRecord('B-2', { state: 'closed', timezone: 'Europe/Paris' }));
      await tx.setMeta('signing-key', { kid: 'k1' });
      await tx.setMeta('site', 'Ogden');
    });
    for (let n = 1; n <= 7; n++) {
      await store.transaction(async (tx) => {
        await tx.appendAudit({ at: `2025-02-0${n}T00:00:00Z`, actor: 'op', kind: 'k', assignmentId: n % 2 ? 'A-1' : null, details: { n, s: 'é✓' } });
      });
    }
    await store.appendJournal({ runId: 'r', assignmentId: 'A-1', operation: 'onboard', stepId: 's1', target: 'ldap', status: 'done', detail: 'd', at: 'x' });
    await store.appendJournal({ runId: 'r', assignmentId: 'A-1', operation: 'onboard', stepId: 's2', target: 'iam', status: 'failed', detail: 'd', at: 'y', error: 'e' });
    await store.transaction(async (tx) => {
      await tx.insertFti({ id: 'f1', assignmentId: 'A-1', seq: 1, recordedAt: 'r1', data: { what: 'returns' } });
      await tx.insertCertificate({ id: 'c1', assignmentId: 'B-2', hash: 'h', issuedAt: '2025-04-01T00:00:00Z', document: { ok: true } });
      await tx.markNotice('A-1', 'expiry-7d', '2025-01-01T00:00:00Z');
    });
  }

  async function snapshot(store: Store) {
    const ids = ['A-1', 'B-2'];
    return {
      summaries: await store.listSummaries(),
      assignments: await Promise.all(ids.map((id) => store.getAssignment(id))),
      audit: await store.readAudit(0, 1000),
      journal: await Promise.all(ids.map((id) => store.journalFor(id))),
      fti: await store.listFti('A-1'),
      certificate: await store.getCertificate('B-2'),
      notices: await store.noticesFor('A-1'),
      meta: [await store.getMeta('signing-key'), await store.getMeta('site')],
    };
  }

  it('round-trips sqlite → postgres → sqlite with identical audit hashes and records', async () => {
    const { store: src } = await openSqlite();
    await populate(src);
    const pg = await openPg('copy');
    const counts = await copyStore(src, pg);
    expect(counts).toEqual({ assignments: 2, auditEvents: 7, journal: 2, fti: 1, certificates: 1, notices: 1, meta: 2 });
    const original = await snapshot(src);
    expect(await snapshot(pg)).toEqual(original);

    const { store: back } = await openSqlite();
    await copyStore(pg, back);
    expect(await snapshot(back)).toEqual(original);

    // The copy is a working store: the journal id sequence and the chain carry on.
    await pg.appendJournal({ runId: 'r2', assignmentId: 'A-1', operation: 'x', stepId: 's3', target: 't', status: 'done', detail: 'd', at: 'z' });
    expect((await pg.journalFor('A-1')).map((j) => j.id)).toEqual([...original.journal[0]!.map((j) => j.id), original.journal[0]!.at(-1)!.id + 1]);
    const next = await pg.transaction((tx) => tx.appendAudit({ at: 'z', actor: 'a', kind: 'k', assignmentId: null, details: {} }));
    expect(next).toMatchObject({ seq: 8, prev: original.audit.at(-1)!.hash });
  });

  it('refuses a destination that is not empty', async () => {
    const { store: src } = await openSqlite();
    await populate(src);
    const pg = await openPg('copy');
    await pg.transaction((tx) => tx.setMeta('x', 1));
    const err = await copyStore(src, pg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('store.copy.not-empty');
    expect(await pg.countAssignments()).toBe(0);
  });

  it('refuses a source whose chain is broken, naming the first bad event, and copies nothing', async () => {
    const { store: src, path } = await openSqlite();
    await populate(src);
    const db = new DatabaseSync(path);
    db.exec(`UPDATE audit SET actor = 'mallory' WHERE seq = 4`);
    db.close();
    const pg = await openPg('copy');
    const err = await copyStore(src, pg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).exit).toBe(3);
    expect((err as Error).message).toContain('event 4');
    expect(await pg.countAssignments()).toBe(0);
    expect(await pg.auditHead()).toBeUndefined();
  });
});
