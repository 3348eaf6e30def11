import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChainVerifier, GENESIS, hashEvent } from '../../src/audit/chain.js';
import { canonicalJson } from '../../src/crypto/canonical-json.js';
import { InputError } from '../../src/errors.js';
import { LATEST_SCHEMA } from '../../src/store/migrations.js';
import { StoreConflictError, type AuditEventInput, type JournalEntry, type Store } from '../../src/store/types.js';
import { makeRecord } from '../helpers/pg.js';
import { storeBackings, type Backing } from '../helpers/store-harness.js';

function event(n: number, assignmentId: string | null = null): AuditEventInput {
  return { at: `2025-02-01T00:00:${String(n).padStart(2, '0')}.000Z`, actor: 'tester', kind: 'test.event', assignmentId, details: { n, nested: { b: 2, a: [1, 'x'] } } };
}

function journal(assignmentId: string, stepId: string, status: JournalEntry['status'] = 'started', error?: string): JournalEntry {
  return { runId: 'run-1', assignmentId, operation: 'onboard', stepId, target: 'ldap', status, detail: `step ${stepId}`, at: '2025-02-01T00:00:00.000Z', error };
}

async function verify(store: Store): Promise<ChainVerifier> {
  const v = new ChainVerifier();
  for (const e of await store.readAudit(0, 10_000)) v.add(e);
  return v;
}

describe.each(storeBackings)('Store contract: %s', (kind, factory) => {
  let h: Backing;
  let store: Store;
  const opened: Store[] = [];
  const open = async (o?: { migrate?: boolean }) => {
    const s = await h.open(o);
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    h = await factory();
    store = await open();
  });

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await h.cleanup();
  });

  it('reports its kind and migrates idempotently to the latest schema', async () => {
    expect(store.kind).toBe(kind);
    expect(await store.schemaVersion()).toBe(LATEST_SCHEMA);
    const again = await open({ migrate: true });
    expect(await again.schemaVersion()).toBe(LATEST_SCHEMA);
    const readOnly = await open({ migrate: false });
    expect(await readOnly.schemaVersion()).toBe(LATEST_SCHEMA);
  });

  it('refuses to use an unmigrated store without migrating, pointing at `detailee migrate`', async () => {
    await h.exec('DROP TABLE schema_migrations');
    const err = await open({ migrate: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('store.too-old');
    expect((err as InputError).actions.join(' ')).toContain('detailee migrate');
  });

  it('refuses a store migrated by a newer detailee, naming both versions', async () => {
    await h.exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${LATEST_SCHEMA + 1}, 'future', '2030-01-01T00:00:00Z')`);
    for (const migrate of [true, false]) {
      const err = await open({ migrate }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).code).toBe('store.too-new');
      expect((err as Error).message).toContain(`version ${LATEST_SCHEMA + 1}`);
      expect((err as Error).message).toContain(`(${LATEST_SCHEMA})`);
    }
  });

  it('inserts, reads back and updates an assignment with an optimistic version check', async () => {
    const rec = makeRecord('A-1');
    await store.transaction((tx) => tx.insertAssignment(rec));
    expect(await store.getAssignment('A-1')).toEqual(rec);
    expect(await store.getAssignment('missing')).toBeUndefined();

    const v2 = await store.transaction((tx) => tx.updateAssignment({ ...rec, state: 'revoked', revokedAt: '2025-03-01T00:00:00.000Z' }, 1));
    expect(v2).toBe(2);
    const got = await store.getAssignment('A-1');
    expect(got?.version).toBe(2);
    expect(got?.state).toBe('revoked');
    expect((await store.listSummaries())[0]?.revokedAt).toBe('2025-03-01T00:00:00.000Z');

    // A writer that read version 1 must not overwrite version 2.
    await expect(store.transaction((tx) => tx.updateAssignment({ ...rec, state: 'closed' }, 1))).rejects.toBeInstanceOf(StoreConflictError);
    await expect(store.transaction((tx) => tx.updateAssignment(makeRecord('nope'), 1))).rejects.toBeInstanceOf(StoreConflictError);
    expect((await store.getAssignment('A-1'))?.state).toBe('revoked');
  });

  it('reads its own uncommitted writes inside a transaction', async () => {
    await store.transaction(async (tx) => {
      await tx.insertAssignment(makeRecord('A-1'));
      expect((await tx.getAssignment('A-1'))?.id).toBe('A-1');
    });
  });

  it('refuses a duplicate id with StoreConflictError and keeps the first', async () => {
    await store.transaction((tx) => tx.insertAssignment(makeRecord('A-1', { username: 'first' })));
    const err = await store
      .transaction(async (tx) => {
        await tx.appendAudit(event(1, 'A-1'));
        await tx.insertAssignment(makeRecord('A-1', { username: 'second' }));
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect((await store.getAssignment('A-1'))?.username).toBe('first');
    expect(await store.auditHead()).toBeUndefined();
  });

  it('lists summaries in byte order of id, optionally by state', async () => {
    const ids = ['b-2', 'B-1', 'a.1', 'A_0', '10'];
    await store.transaction(async (tx) => {
      for (const [i, id] of ids.entries()) await tx.insertAssignment(makeRecord(id, { state: i % 2 === 0 ? 'active' : 'expired' }));
    });
    const all = await store.listSummaries();
    expect(all.map((s) => s.id)).toEqual(['10', 'A_0', 'B-1', 'a.1', 'b-2']);
    expect(await store.listSummaries([])).toEqual(all);
    expect((await store.listSummaries(['expired'])).map((s) => s.id)).toEqual(['A_0', 'B-1']);
    expect((await store.listSummaries(['active', 'expired'])).length).toBe(5);
    expect(await store.listSummaries(['closed'])).toEqual([]);
    // A page at a time, by keyset: the same rows in the same order, with or without a state filter.
    const paged: string[] = [];
    for (let after: string | undefined; ; ) {
      const page = await store.listSummaries(undefined, { after, limit: 2 });
      paged.push(...page.map((s) => s.id));
      if (page.length < 2) break;
      after = page[page.length - 1]!.id;
    }
    expect(paged).toEqual(all.map((s) => s.id));
    expect((await store.listSummaries(['active'], { after: '10', limit: 5 })).map((s) => s.id)).toEqual(['a.1', 'b-2']);

    const rec = makeRecord('10');
    expect(all[0]).toEqual({
      id: '10',
      state: 'active',
      username: rec.username,
      startsAt: rec.term.startsAt,
      endsAt: rec.term.endsAt,
      lastDay: rec.term.lastDay,
      timezone: rec.term.timezone,
      renewalsUsed: 0,
      renewalsMax: 1,
      revokedAt: undefined,
    });
  });

  it('lists assignments ending by an instant (inclusive), ordered by end then id, in the given states', async () => {
    const recs = [
      makeRecord('late', { start: '2025-03-01', days: 30 }),
      makeRecord('tokyo', { start: '2025-01-01', days: 10, timezone: 'Asia/Tokyo' }),
      makeRecord('ny-b', { start: '2025-01-01', days: 10 }),
      makeRecord('ny-a', { start: '2025-01-01', days: 10 }),
      makeRecord('revoked', { start: '2025-01-01', days: 5, state: 'revoked' }),
    ];
    await store.transaction(async (tx) => {
      for (const r of recs) await tx.insertAssignment(r);
    });
    const nyEnd = makeRecord('x', { start: '2025-01-01', days: 10 }).term.endsAt; // 2025-01-11T00:00-05:00
    const due = await store.listEndingBy(nyEnd, ['active', 'expired']);
    // Tokyo's midnight comes 14 hours before New York's, so it ends first.
    expect(due.map((s) => s.id)).toEqual(['tokyo', 'ny-a', 'ny-b']);
    const justBefore = new Date(Date.parse(nyEnd) - 1).toISOString();
    expect((await store.listEndingBy(justBefore, ['active'])).map((s) => s.id)).toEqual(['tokyo']);
    expect((await store.listEndingBy(nyEnd, ['revoked'])).map((s) => s.id)).toEqual(['revoked']);
    expect((await store.listEndingBy('2030-01-01T00:00:00Z', ['active'])).map((s) => s.id)).toEqual(['tokyo', 'ny-a', 'ny-b', 'late']);
  });

  it('pages listEndingBy by (end, id) after a given row, unaffected by a state change meanwhile; counts what it would list', async () => {
    const ids = ['e', 'c', 'a', 'd', 'b'];
    await store.transaction(async (tx) => {
      // Three share one end (ordered by id among themselves), two end later.
      for (const id of ids) await tx.insertAssignment(makeRecord(id, { start: '2025-01-01', days: ['d', 'e'].includes(id) ? 20 : 10 }));
      await tx.insertAssignment(makeRecord('later', { start: '2025-06-01', days: 10 }));
    });
    const before = '2025-03-01T00:00:00Z';
    expect(await store.countEndingBy(before, ['active'])).toBe(5);
    expect(await store.countEndingBy(before, ['expired'])).toBe(0);
    const first = await store.listEndingBy(before, ['active'], { after: undefined, limit: 2 });
    expect(first.map((s) => s.id)).toEqual(['a', 'b']);
    // The first page is revoked before the next is read: the next page neither repeats nor skips.
    const a = (await store.getAssignment('a'))!;
    await store.transaction((tx) => tx.updateAssignment({ ...a, state: 'expired' }, a.version));
    const after = { endsAt: first[1]!.endsAt, id: first[1]!.id };
    expect((await store.listEndingBy(before, ['active'], { after, limit: 2 })).map((s) => s.id)).toEqual(['c', 'd']);
    const last = (await store.listEndingBy(before, ['active'], { after: { endsAt: (await store.getAssignment('d'))!.term.endsAt, id: 'd' }, limit: 2 })).map((s) => s.id);
    expect(last).toEqual(['e']);
    // After an instant with the id '': every row ending exactly then still comes, then the later ones.
    const cEnd = (await store.getAssignment('c'))!.term.endsAt;
    expect((await store.listEndingBy(before, ['active'], { after: { endsAt: cEnd, id: '' }, limit: 10 })).map((s) => s.id)).toEqual(['b', 'c', 'd', 'e']);
    expect((await store.listEndingBy(before, ['active', 'expired'], { after: undefined, limit: 10 })).map((s) => s.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('counts assignments', async () => {
    expect(await store.countAssignments()).toBe(0);
    await store.transaction(async (tx) => {
      await tx.insertAssignment(makeRecord('A-1'));
      await tx.insertAssignment(makeRecord('A-2', { state: 'closed' }));
    });
    expect(await store.countAssignments()).toBe(2);
  });

  it('leaves nothing behind when a transaction body throws', async () => {
    const boom = new Error('boom');
    const err = await store
      .transaction(async (tx) => {
        await tx.insertAssignment(makeRecord('A-1'));
        await tx.appendAudit(event(1, 'A-1'));
        await tx.appendJournal(journal('A-1', 's1'));
        await tx.markNotice('A-1', 'welcome', '2025-01-01T00:00:00Z');
        await tx.setMeta('k', 1);
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(await store.getAssignment('A-1')).toBeUndefined();
    expect(await store.auditHead()).toBeUndefined();
    expect(await store.auditFor('A-1')).toEqual([]);
    expect(await store.journalFor('A-1')).toEqual([]);
    expect(await store.noticesFor('A-1')).toEqual([]);
    expect(await store.getMeta('k')).toBeUndefined();
    // And the store still works afterwards.
    await store.transaction((tx) => tx.insertAssignment(makeRecord('A-1')));
    expect(await store.countAssignments()).toBe(1);
  });

  it('appends audit events as a hash chain and pages through them', async () => {
    const appended = [];
    for (let n = 1; n <= 5; n++) appended.push(await store.transaction((tx) => tx.appendAudit(event(n, n % 2 ? 'A-1' : 'A-2'))));
    expect(appended.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(appended[0]?.prev).toBe(GENESIS);
    expect(appended[1]?.prev).toBe(appended[0]?.hash);
    expect(await store.auditHead()).toEqual({ seq: 5, hash: appended[4]?.hash });

    expect(await store.readAudit(0, 2)).toEqual(appended.slice(0, 2));
    expect(await store.readAudit(2, 2)).toEqual(appended.slice(2, 4));
    expect(await store.readAudit(4, 10)).toEqual(appended.slice(4));
    expect(await store.readAudit(5, 10)).toEqual([]);
    expect((await store.auditFor('A-1')).map((e) => e.seq)).toEqual([1, 3, 5]);
    expect(await store.auditFor('A-2')).toEqual([appended[1], appended[3]]);

    const several = await store.transaction(async (tx) => [await tx.appendAudit(event(6)), await tx.appendAudit(event(7))]);
    expect(several.map((e) => [e.seq, e.assignmentId])).toEqual([
      [6, null],
      [7, null],
    ]);
    expect(several[1]?.prev).toBe(several[0]?.hash);
  });

  it("stores an event's details as the canonical JSON its hash covers (keys sorted), and reads back the same values", async () => {
    const details = { zeta: 1, alpha: { b: [3, 'x'], a: null }, 'é': 'ü', n: 1e21, s: 'line\nbreak' };
    const e = await store.transaction((tx) => tx.appendAudit({ at: '2025-01-01T00:00:00.000Z', actor: 'officer', kind: 'test.event', assignmentId: null, details }));
    const [stored] = await store.readAuditStored(0, 1);
    expect(stored!.detailsText).toBe('{"alpha":{"a":null,"b":[3,"x"]},"n":1e+21,"s":"line\\nbreak","zeta":1,"é":"ü"}');
    expect(stored!.detailsText).toBe(canonicalJson(details));
    expect((await store.readAudit(0, 1))[0]!.details).toEqual(details);
    expect(hashEvent(e)).toBe(e.hash);
  });

  it('keeps a chain ChainVerifier accepts, and shows where a row was edited behind its back', async () => {
    for (let n = 1; n <= 4; n++) await store.transaction((tx) => tx.appendAudit(event(n)));
    const ok = await verify(store);
    expect(ok.problem).toBeUndefined();
    expect(ok.head?.seq).toBe(4);

    await h.exec(`UPDATE audit SET details = '{"n":99}' WHERE seq = 3`);
    const bad = await verify(store);
    expect(bad.problem?.seq).toBe(3);
    expect(bad.problem?.reason).toMatch(/altered/);

    await h.exec('DELETE FROM audit WHERE seq = 2');
    expect((await verify(store)).problem?.seq).toBe(2);
  });

  it('appends journal entries and lists them per assignment in order', async () => {
    await store.appendJournal(journal('A-1', 's1'));
    await store.transaction(async (tx) => {
      await tx.appendJournal(journal('A-2', 'other'));
      await tx.appendJournal(journal('A-1', 's1', 'done'));
    });
    await store.appendJournal(journal('A-1', 's2', 'failed', 'ldap said no'));
    const entries = await store.journalFor('A-1');
    expect(entries.map((e) => [e.stepId, e.status, e.error])).toEqual([
      ['s1', 'started', undefined],
      ['s1', 'done', undefined],
      ['s2', 'failed', 'ldap said no'],
    ]);
    expect(entries[0]).toMatchObject({ ...journal('A-1', 's1') });
    const ids = entries.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
    expect(await store.journalFor('none')).toEqual([]);
  });

  it('numbers, records and lists FTI entries per assignment', async () => {
    const rec = (id: string, seq: number, assignmentId = 'A-1') => ({ id, assignmentId, seq, recordedAt: `2025-02-0${seq}T00:00:00Z`, data: { what: id } });
    await store.transaction(async (tx) => {
      expect(await tx.nextFtiSeq('A-1')).toBe(1);
      await tx.insertFti(rec('f1', 1));
      expect(await tx.nextFtiSeq('A-1')).toBe(2);
      await tx.insertFti(rec('f2', 2));
      expect(await tx.nextFtiSeq('A-2')).toBe(1);
      await tx.insertFti(rec('g1', 1, 'A-2'));
    });
    expect(await store.listFti('A-1')).toEqual([rec('f1', 1), rec('f2', 2)]);
    expect(await store.listFti('A-2')).toEqual([rec('g1', 1, 'A-2')]);
    expect(await store.listFti('none')).toEqual([]);
  });

  it('stores certificates and returns the latest for an assignment', async () => {
    expect(await store.getCertificate('A-1')).toBeUndefined();
    const first = { id: 'c1', assignmentId: 'A-1', hash: 'h1', issuedAt: '2025-05-01T00:00:00Z', document: { v: 1 } };
    const second = { id: 'c2', assignmentId: 'A-1', hash: 'h2', issuedAt: '2025-06-01T00:00:00Z', document: { v: 2, list: [1, 2] } };
    await store.transaction(async (tx) => {
      await tx.insertCertificate(second);
      await tx.insertCertificate(first);
    });
    expect(await store.getCertificate('A-1')).toEqual(second);
    expect(await store.listCertificates()).toEqual([first, second]);
  });

  it('keeps JSON meta values by key, overwriting on set', async () => {
    expect(await store.getMeta('missing')).toBeUndefined();
    await store.transaction(async (tx) => {
      await tx.setMeta('key', { a: [1, 2], b: 'x' });
      await tx.setMeta('n', 0);
    });
    expect(await store.getMeta('key')).toEqual({ a: [1, 2], b: 'x' });
    expect(await store.getMeta<number>('n')).toBe(0);
    await store.transaction((tx) => tx.setMeta('key', 'replaced'));
    expect(await store.getMeta('key')).toBe('replaced');
  });

  it('records a notice exactly once', async () => {
    expect(await store.transaction((tx) => tx.markNotice('A-1', 'expiry-7d', '2025-01-01T00:00:00Z'))).toBe(true);
    expect(await store.transaction((tx) => tx.markNotice('A-1', 'expiry-7d', '2025-01-02T00:00:00Z'))).toBe(false);
    expect(await store.transaction((tx) => tx.markNotice('A-1', 'expiry-1d', '2025-01-03T00:00:00Z'))).toBe(true);
    expect(await store.transaction((tx) => tx.markNotice('A-2', 'expiry-7d', '2025-01-04T00:00:00Z'))).toBe(true);
    expect(await store.noticesFor('A-1')).toEqual([
      { noticeKey: 'expiry-7d', at: '2025-01-01T00:00:00Z' },
      { noticeKey: 'expiry-1d', at: '2025-01-03T00:00:00Z' },
    ]);
  });

  it('hands a named lock to one holder at a time', async () => {
    const t0 = new Date('2025-02-01T02:00:00Z');
    expect(await store.acquireLock('nightly', 'run-a', t0, 60_000)).toEqual({ acquired: true });
    expect(await store.acquireLock('nightly', 'run-b', t0, 60_000)).toEqual({ acquired: false });
    // Re-acquiring by the holder keeps it; another name is independent.
    expect((await store.acquireLock('nightly', 'run-a', t0, 60_000)).acquired).toBe(true);
    expect((await store.acquireLock('other', 'run-b', t0, 60_000)).acquired).toBe(true);
    // Only the holder can release.
    await store.releaseLock('nightly', 'run-b');
    expect((await store.acquireLock('nightly', 'run-b', t0, 60_000)).acquired).toBe(false);
    await store.releaseLock('nightly', 'run-a');
    expect(await store.acquireLock('nightly', 'run-b', t0, 60_000)).toEqual({ acquired: true });
    await store.releaseLock('nightly', 'run-b');
    await store.releaseLock('other', 'run-b');
  });

  it('a lease is renewed by its holder and taken over only once it has ended, saying from whom', async () => {
    const t0 = new Date('2025-02-01T02:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    await store.acquireLock('nightly', 'run-a', t0, 60_000);
    // Renewing keeps the time it was first taken and moves the end.
    expect(await store.acquireLock('nightly', 'run-a', at(30_000), 60_000)).toEqual({ acquired: true });
    expect((await store.acquireLock('nightly', 'run-b', at(89_999), 60_000)).acquired).toBe(false);
    const later = await store.acquireLock('nightly', 'run-b', at(90_000), 60_000);
    expect(later).toEqual({
      acquired: true,
      takenOver: { name: 'nightly', holder: 'run-a', acquiredAt: t0.toISOString(), expiresAt: at(90_000).toISOString() },
    });
    // The old holder has lost it: renewing is refused, releasing does nothing.
    expect((await store.acquireLock('nightly', 'run-a', at(90_001), 60_000)).acquired).toBe(false);
    await store.releaseLock('nightly', 'run-a');
    expect((await store.acquireLock('nightly', 'run-c', at(90_001), 60_000)).acquired).toBe(false);
  });

  it('a holder that dies keeps its lease until it ends: the next store is refused until then, then takes it over', async () => {
    const t0 = new Date('2025-02-01T02:00:00Z');
    const other = await open();
    try {
      expect((await store.acquireLock('nightly', 'run-a', t0, 60_000)).acquired).toBe(true);
      await store.close(); // gone without releasing, as a killed process would be
      expect((await other.acquireLock('nightly', 'run-b', new Date(t0.getTime() + 59_999), 60_000)).acquired).toBe(false);
      expect(await other.acquireLock('nightly', 'run-b', new Date(t0.getTime() + 60_000), 60_000)).toEqual({
        acquired: true,
        takenOver: { name: 'nightly', holder: 'run-a', acquiredAt: t0.toISOString(), expiresAt: new Date(t0.getTime() + 60_000).toISOString() },
      });
    } finally {
      await other.close();
    }
  });

  // On the embedded store every write transaction holds SQLite's one write lock (BEGIN IMMEDIATE),
  // so two takers are serialised by construction; and node:sqlite, being synchronous, cannot hold
  // two open transactions on one file in one process without blocking itself.
  it.runIf(kind === 'postgres')('of three stores racing for an ended lease, exactly one wins', async () => {
    const t0 = new Date('2025-02-01T02:00:00Z');
    await store.acquireLock('nightly', 'run-a', t0, 1_000);
    const stores = [await open(), await open(), await open()];
    try {
      for (let round = 0; round < 5; round++) {
        const now = new Date(t0.getTime() + 2_000 * (round + 1));
        const results = await Promise.all(stores.map((s, i) => s.acquireLock('nightly', `racer-${round}-${i}`, now, 1_000)));
        expect(results.filter((r) => r.acquired)).toHaveLength(1);
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
