import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { heartbeat, HEARTBEAT_KEY } from '../../src/lifecycle/status.js';
import { runExpire, LOCK_NAME, LOCK_TTL_MS } from '../../src/lifecycle/expire.js';
import { loadConfig } from '../../src/config/load.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { fixedClock } from '../../src/time/clock.js';
import { makeRecord } from '../helpers/pg.js';
import { tempDir } from '../helpers/manifest.js';

const T = Date.parse('2025-03-01T05:00:00Z');

describe('the nightly job heartbeat and lock (no targets needed)', () => {
  it('status warns only when the last complete run is older than 26 hours', async () => {
    const store = await SqliteStore.open(join(tempDir(), 'hb.db'));
    await store.transaction((tx) => tx.insertAssignment(makeRecord('a1', {})));
    expect((await heartbeat(store, new Date(T))).warning).toMatch(/never completed/);
    await store.transaction((tx) => tx.setMeta(HEARTBEAT_KEY, { at: new Date(T).toISOString() }));
    expect(await heartbeat(store, new Date(T + 25 * 3600_000))).toMatchObject({ stale: false, warning: null });
    const late = await heartbeat(store, new Date(T + 27 * 3600_000));
    expect(late.stale).toBe(true);
    expect(late.warning).toMatch(/27 hours ago/);
    await store.close();
  });

  it('a lock left by a killed run is taken over after its timeout, and that is logged', async () => {
    const dir = tempDir();
    const store = await SqliteStore.open(join(dir, 'lock.db'));
    writeFileSync(join(dir, 'detailee.yaml'), 'store: sqlite:lock.db\n');
    const config = loadConfig(join(dir, 'detailee.yaml'), {}, dir);
    const ctx = { config, store, clock: fixedClock(new Date(T)), actor: 'cron', openTargets: async () => [] };
    await store.acquireLock(LOCK_NAME, 'dead-host:123:run', new Date(T - LOCK_TTL_MS + 60_000), LOCK_TTL_MS);
    await expect(runExpire(ctx, { dryRun: false, concurrency: 1 })).rejects.toMatchObject({ exit: 4 });
    const later = { ...ctx, clock: fixedClock(new Date(T + 120_000)) };
    const r = await runExpire(later, { dryRun: false, concurrency: 1 });
    expect(r.lock.takenOver).toMatchObject({ holder: 'dead-host:123:run' });
    const events = await store.readAudit(0, 100);
    expect(events.map((e) => e.kind)).toEqual(['lock.taken-over', 'expire.run']);
    expect(await store.getMeta(HEARTBEAT_KEY)).toMatchObject({ at: new Date(T + 120_000).toISOString() });
    await store.close();
  });
});
