import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/time/clock.js';
import { loadConfig } from '../../src/config/load.js';
import { exitCodeOf, runExpire } from '../../src/lifecycle/expire.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AssignmentRecord, EndingPage, Store } from '../../src/store/types.js';
import { tempDir } from '../helpers/manifest.js';
import { makeRecord } from '../helpers/pg.js';

const NOW = new Date('2025-03-01T05:00:00Z');

/** Seven due, two ended earlier, one ending within the notice horizon, one far off. */
async function seeded(): Promise<{ store: SqliteStore; dir: string }> {
  const dir = tempDir();
  mkdirSync(join(dir, 'outbox'));
  writeFileSync(join(dir, 'detailee.yaml'), 'timezone: America/New_York\nnotices: {outbox: outbox}\n');
  const store = await SqliteStore.open(join(dir, 'pages.db'));
  await store.transaction(async (tx) => {
    for (let i = 0; i < 7; i++) await tx.insertAssignment(onLdap(makeRecord(`due-${i}`, { start: '2025-01-01', days: 10 + i })));
    for (const id of ['gone-1', 'gone-2']) await tx.insertAssignment(onLdap(makeRecord(id, { start: '2024-10-01', days: 10, state: 'expired' })));
    await tx.insertAssignment(onLdap(makeRecord('soon', { start: '2025-02-01', days: 35 })));
    await tx.insertAssignment(onLdap(makeRecord('later', { start: '2025-02-20', days: 120 })));
  });
  return { store, dir };
}

/** Provisioned on LDAP, which the config here does not name: no revocation can be proven. */
function onLdap(rec: AssignmentRecord): AssignmentRecord {
  return { ...rec, data: { ...rec.data, provisioned: true, targets: [{ target: 'ldap', groups: [], policies: [], recordedAt: '2024-12-01T00:00:00Z' }] } };
}

/** The store, recording every listEndingBy page asked for. */
function spying(store: Store): { store: Store; pages: (EndingPage | undefined)[] } {
  const pages: (EndingPage | undefined)[] = [];
  const spy = Object.create(store) as Store;
  spy.listEndingBy = (before, states, page) => {
    pages.push(page);
    return store.listEndingBy(before, states, page);
  };
  return { store: spy, pages };
}

describe('the nightly job reads the store a page at a time (its recorded target missing from the config)', () => {
  it('a dry run lists each due assignment once, as would-revoke and not complete, in pages; it changes nothing and exits 0', async () => {
    const { store, dir } = await seeded();
    const { store: spy, pages } = spying(store);
    const ctx = { config: loadConfig(join(dir, 'detailee.yaml'), {}, dir), store: spy, clock: fixedClock(NOW), actor: 'cron', openTargets: async () => [] };
    const r = await runExpire(ctx, { dryRun: true, concurrency: 4, pageSize: 3 });
    expect(r.revoked.map((x) => x.id)).toEqual(Array.from({ length: 7 }, (_, i) => `due-${i}`));
    for (const x of r.revoked) expect(x).toEqual({ id: x.id, username: expect.any(String) as string, complete: false, wouldRevoke: true, targets: [] });
    expect(exitCodeOf(r)).toBe(0);
    // Only the one ending after now and within the horizon gets notices (its missed thresholds, late).
    expect(new Set(r.notices.map((n) => n.id))).toEqual(new Set(['soon']));
    // Every read was a page of at most three rows; the notices never read the ones already due.
    expect(pages.length).toBeGreaterThan(3);
    for (const p of pages) expect(p?.limit).toBe(3);
    expect(pages[0]?.after?.endsAt).toBe(NOW.toISOString());
    expect((await store.listSummaries(['active'])).length).toBe(9);
    await store.close();
  });

  it('a live run revokes each due assignment exactly once across pages, unproven where the target is missing (exit 1); the next run finds nothing due', async () => {
    const { store, dir } = await seeded();
    const ctx = { config: loadConfig(join(dir, 'detailee.yaml'), {}, dir), store, clock: fixedClock(NOW), actor: 'cron', openTargets: async () => [] };
    const r = await runExpire(ctx, { dryRun: false, concurrency: 2, pageSize: 2 });
    expect(r.revoked.map((x) => x.id).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `due-${i}`));
    // The state moves to expired, but with the recorded target gone from the config nothing is proven.
    expect(r.revoked.every((x) => !x.complete && x.wouldRevoke === undefined)).toBe(true);
    const revokeFailures = r.failed.filter((f) => f.stage === 'revoke');
    expect(revokeFailures.map((f) => f.id).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `due-${i}`));
    for (const f of revokeFailures) expect(f).toMatchObject({ target: 'ldap', error: expect.stringMatching(/config has no targets\.ldap: unproven/) });
    expect(exitCodeOf(r)).toBe(1);
    expect((await store.listSummaries(['expired'])).map((s) => s.id).sort()).toEqual([...Array.from({ length: 7 }, (_, i) => `due-${i}`), 'gone-1', 'gone-2'].sort());
    const next = await runExpire({ ...ctx, clock: fixedClock(new Date(NOW.getTime() + 86_400_000)) }, { dryRun: false, concurrency: 2, pageSize: 2 });
    expect(next.revoked).toEqual([]);
    await store.close();
  });
});
