import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeCheckpoint, verifyAudit } from '../../src/audit/audit.js';
import { GENESIS, hashEvent } from '../../src/audit/chain.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/manifest.js';

const T0 = Date.parse('2025-02-06T12:00:00Z');

async function storeWith(n: number): Promise<{ store: SqliteStore; path: string }> {
  const path = join(tempDir(), 'audit.db');
  const store = await SqliteStore.open(path);
  for (let i = 0; i < n; i++) {
    await store.transaction((tx) =>
      tx.appendAudit({ at: new Date(T0 + i * 1000).toISOString(), actor: 'officer', kind: 'test.event', assignmentId: 'a1', details: { i } }),
    );
  }
  return { store, path };
}

function raw(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  db.exec(sql);
  db.close();
}

describe('audit chain', () => {
  let store: SqliteStore;
  let path: string;
  beforeEach(async () => {
    ({ store, path } = await storeWith(10));
  });

  it('links each event to the previous one by hash over canonical JSON', async () => {
    const events = await store.readAudit(0, 100);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events[0]!.prev).toBe(GENESIS);
    for (let i = 1; i < events.length; i++) expect(events[i]!.prev).toBe(events[i - 1]!.hash);
    for (const e of events) expect(hashEvent(e)).toBe(e.hash);
    expect((await verifyAudit(store)).ok).toBe(true);
  });

  it('creates the store file readable by its owner only', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('detects an edited event and names its sequence number', async () => {
    raw(path, `UPDATE audit SET details = '{"i":99}' WHERE seq = 4`);
    const r = await verifyAudit(store);
    expect(r).toMatchObject({ ok: false, firstBadSeq: 4 });
    expect(r.reason).toMatch(/event 4 was altered/);
  });

  it('detects a deleted event', async () => {
    raw(path, 'DELETE FROM audit WHERE seq = 6');
    const r = await verifyAudit(store);
    expect(r).toMatchObject({ ok: false, firstBadSeq: 6 });
    expect(r.reason).toMatch(/event 6 is missing/);
  });

  it('detects reordered events (sequence numbers swapped)', async () => {
    raw(path, 'UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = -1;');
    const r = await verifyAudit(store);
    expect(r.ok).toBe(false);
    expect(r.firstBadSeq).toBe(3);
  });

  it('detects an inserted event even when its own hash is consistent', async () => {
    // Shift 6..10 up and slip a self-consistent forged event in at 6: the link from 7 breaks.
    raw(path, 'UPDATE audit SET seq = seq + 100 WHERE seq >= 6; UPDATE audit SET seq = seq - 99 WHERE seq >= 106;');
    const five = (await store.readAudit(4, 1))[0]!;
    const forged = { seq: 6, at: five.at, actor: 'intruder', kind: 'test.event', assignmentId: 'a1', details: { i: 'forged' }, prev: five.hash };
    raw(path, `INSERT INTO audit VALUES (6, '${forged.at}', 'intruder', 'test.event', 'a1', '{"i":"forged"}', '${five.hash}', '${hashEvent(forged)}')`);
    const r = await verifyAudit(store);
    expect(r).toMatchObject({ ok: false, firstBadSeq: 7 });
  });

  it('a signed checkpoint detects truncation and rollback behind it', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const cp = await makeCheckpoint(store, privateKey, new Date(T0));
    expect(cp.checkpoint.size).toBe(10);
    expect((await verifyAudit(store, cp, privateKey)).ok).toBe(true);
    // Truncation: the chain that remains is internally consistent, only the checkpoint can tell.
    raw(path, 'DELETE FROM audit WHERE seq > 7');
    const r = await verifyAudit(store, cp, privateKey);
    expect(r.ok).toBe(false);
    expect(r.checkpoint?.reason).toMatch(/truncated or rolled back/);
  });

  it('a checkpoint detects a rewritten history of the same length', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const cp = await makeCheckpoint(store, privateKey, new Date(T0));
    // Rebuild the whole chain with different content: consistent, same size, other hashes.
    raw(path, 'DELETE FROM audit');
    let prev = GENESIS;
    for (let seq = 1; seq <= 10; seq++) {
      const e = { seq, at: new Date(T0).toISOString(), actor: 'intruder', kind: 'test.event', assignmentId: 'a1', details: { seq }, prev };
      const h = hashEvent(e);
      raw(path, `INSERT INTO audit VALUES (${seq}, '${e.at}', 'intruder', 'test.event', 'a1', '{"seq":${seq}}', '${prev}', '${h}')`);
      prev = h;
    }
    const r = await verifyAudit(store, cp, privateKey);
    expect(r.ok).toBe(false);
    expect(r.checkpoint?.reason).toMatch(/rewritten behind the checkpoint/);
  });

  it('refuses a forged checkpoint signed by another key', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = await makeCheckpoint(store, other, new Date(T0));
    await expect(verifyAudit(store, forged, privateKey)).rejects.toMatchObject({ exit: 3, code: 'audit.checkpoint-signature' });
    const cp = await makeCheckpoint(store, privateKey, new Date(T0));
    cp.checkpoint.size = 5;
    await expect(verifyAudit(store, cp, privateKey)).rejects.toMatchObject({ exit: 3 });
  });

  it('a failed transaction leaves no audit event', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.appendAudit({ at: new Date(T0).toISOString(), actor: 'x', kind: 'k', assignmentId: null, details: {} });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await store.auditHead())?.seq).toBe(10);
  });
});

describe('audit event hashing', () => {
  it('equals SHA-256 over RFC 8785 canonical JSON of the whole event', async () => {
    const { sha256Hex } = await import('../../src/audit/chain.js');
    const { canonicalJson } = await import('../../src/crypto/canonical-json.js');
    const e = { seq: 42, at: '2025-02-06T12:00:00.000Z', actor: 'o\u00e9"\\', kind: 'k', assignmentId: null, details: { b: [1, 'é', { z: 1, a: 2 }], a: 1e21, u: '\u2028' }, prev: GENESIS };
    expect(hashEvent(e)).toBe(sha256Hex(canonicalJson(e)));
    const f = { ...e, assignmentId: 'a-1', details: {} };
    expect(hashEvent(f)).toBe(sha256Hex(canonicalJson(f)));
  });
});
