import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { verifyAudit } from '../../src/audit/audit.js';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { closeTargets, openTargets } from '../../src/targets/index.js';
import { cli } from '../helpers/scenario.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { startWorld, type World } from '../helpers/world.js';

/**
 * The store's disk really full, and really read-only: the SQLite store lives on a small tmpfs this
 * test mounts (so it needs root, as CI and the project's machines have). A full disk is filled at
 * the moment of the run chosen by the test; a read-only one is remounted before the run, because
 * Linux refuses to remount a file system read-only while a file on it is open for writing (the
 * moment-of-append case is covered by the fault-injected store in faults.test.ts).
 */
const ROOT_ONLY = typeof process.getuid === 'function' && process.getuid() === 0;

let w: World;
let mnt: string;

function mount(...args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

/** Write zeros until the file system refuses: afterwards not one more block can be allocated. */
function fillDisk(): void {
  const fd = openSync(join(mnt, 'filler'), 'a');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // The last partial chunk: fill the remaining bytes one block at a time.
  const fd2 = openSync(join(mnt, 'filler'), 'a');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd2);
  }
}

function freeDisk(): void {
  rmSync(join(mnt, 'filler'), { force: true });
}

/** Which targets hold an account for `username`, read live. */
async function accountsOf(username: string): Promise<string[]> {
  const targets = await openTargets(w.config, w.clock);
  try {
    const found: string[] = [];
    for (const t of targets) if ((await t.inspect(username)).exists) found.push(t.name);
    return found;
  } finally {
    await closeTargets(targets);
  }
}

beforeAll(async () => {
  if (!ROOT_ONLY) return;
  w = await startWorld();
  mnt = join(w.dir, 'disk');
  mkdirSync(mnt);
  mount('-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt);
});
afterAll(async () => {
  if (!ROOT_ONLY) return;
  try {
    execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
  } catch {
    /* never mounted */
  }
  await w?.close();
});

describe.skipIf(!ROOT_ONLY)('the store on a real file system that fills up or turns read-only (mounts a tmpfs: root only)', () => {
  it('disk full before anything is written: onboarding stops at its first write, exit 1, no account made; it converges once there is room', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const path = join(mnt, 'full-at-start.db');
    const store = await SqliteStore.open(path);
    const f = w.signedManifest(detaileeDoc('disk-full-0', 'dfull0'));
    try {
      const ctx = w.ctx({ store });
      const prep = await prepareOnboarding(ctx, f, undefined);
      fillDisk();
      let err: unknown;
      try {
        await applyOnboarding(ctx, prep);
      } catch (e) {
        err = e;
      }
      freeDisk();
      expect(err).toMatchObject({ exit: 1, code: 'store.write', message: expect.stringMatching(/could not be written: .*(full|SQLITE_FULL).*Nothing was changed/i) });
      expect(await store.getAssignment('disk-full-0')).toBeUndefined();
      expect(await store.auditFor('disk-full-0')).toEqual([]);
      expect(await accountsOf('dfull0')).toEqual([]);

      const r = await applyOnboarding(ctx, await prepareOnboarding(ctx, f, undefined));
      expect(r.targets.every((t) => t.ok)).toBe(true);
      expect((await verifyAudit(store)).ok).toBe(true);
    } finally {
      freeDisk();
      await store.close();
    }
  });

  it('disk full in the middle of an onboarding: exit 1, every applied step has its audit event, the chain verifies, a re-run finishes without repeating', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const path = join(mnt, 'full-midway.db');
    const store = await SqliteStore.open(path);
    const id = 'disk-full-2';
    const f = w.signedManifest(detaileeDoc(id, 'dfull2'));
    try {
      const ctx = w.ctx({ store, afterStep: (n) => n === 2 && fillDisk() });
      const prep = await prepareOnboarding(ctx, f, undefined);
      const planned = prep.rows.map((r) => r.step);
      await expect(applyOnboarding(ctx, prep)).rejects.toMatchObject({ exit: 1, code: 'store.write' });
      freeDisk();

      const journal = await store.journalFor(id);
      const done = journal.filter((j) => j.status === 'done').map((j) => j.stepId);
      expect(done).toEqual(planned.slice(0, 2));
      const applied = (await store.auditFor(id)).filter((e) => e.kind === 'step.applied').map((e) => (e.details as { step: string }).step);
      expect(applied).toEqual(done);
      expect((await verifyAudit(store)).ok).toBe(true);

      const r = await applyOnboarding(w.ctx({ store }), await prepareOnboarding(w.ctx({ store }), f, undefined));
      expect(r.targets.every((t) => t.ok)).toBe(true);
      const after = (await store.journalFor(id)).filter((j) => j.status === 'done').map((j) => j.stepId);
      expect(after.slice().sort()).toEqual(planned.slice().sort());
      expect((await store.getAssignment(id))?.data.provisioned).toBe(true);
      expect((await verifyAudit(store)).ok).toBe(true);
    } finally {
      freeDisk();
      await store.close();
    }
  });

  it("a read-only store, through the CLI: every command exits 1 saying the store's folder is read-only, and no account is made", async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const cfg = parse(readFileSync(join(w.dir, 'detailee.yaml'), 'utf8')) as Record<string, unknown>;
    cfg.store = `sqlite:${join(mnt, 'readonly.db')}`;
    const config = join(w.dir, 'readonly.yaml');
    writeFileSync(config, stringify(cfg));
    const env = { DETAILEE_CONFIG: config };
    const first = w.signedManifest(detaileeDoc('disk-ro-1', 'dro1'));
    const at = '2025-02-05T15:00:00Z';
    const ok = cli(w.dir, ['onboard', first, '--yes', '--json'], at, env);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(ok.exit, JSON.stringify(ok.json)).toBe(0);

    mount('-o', 'remount,ro', mnt);
    try {
      const second = w.signedManifest(detaileeDoc('disk-ro-2', 'dro2'));
      const refused = cli(w.dir, ['onboard', second, '--yes', '--json'], at, env);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(refused.exit, JSON.stringify(refused.json)).toBe(1);
      const error = (refused.json as { error: { code: string; message: string; actions: string[] } }).error;
      expect(error.code).toMatch(/^store\./);
      expect(error.message).toContain(join(mnt, 'readonly.db'));
      expect(error.message).toMatch(/read-only/);
      expect(error.actions.length).toBeGreaterThan(0);
      expect(await accountsOf('dro2')).toEqual([]);

      const fti = cli(w.dir, ['fti', 'record', 'disk-ro-1', '--description', 'batch 1', '--type', 'transcripts', '--tax-years', '2021', '--records', '3', '--media', 'paper', '--location', 'safe 3', '--received', '2025-02-05', '--json'], at, env);
      expect(fti.exit).toBe(1);

      // Even reading needs SQLite's -shm file beside the store: the message says so and what to do.
      const status = cli(w.dir, ['status', '--json'], at, env);
      expect(status.exit, JSON.stringify(status.json)).toBe(1);
      expect((status.json as { error: { message: string; actions: string[] } }).error).toMatchObject({
        message: expect.stringMatching(/folder is read-only/),
        actions: [expect.stringMatching(/copy the store file to a writable folder/)],
      });
    } finally {
      mount('-o', 'remount,rw', mnt);
    }
  });
});
