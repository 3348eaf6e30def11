import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from '../../scripts/scenario.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { LOCK_NAME } from '../../src/lifecycle/expire.js';
import { createTestSchema, type TestSchema } from '../helpers/pg.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';

/** Several officers and one nightly host on one PostgreSQL store, through the built CLI. */
let pg: TestSchema;
let dir: string;
let key: string;
const NOW = '2025-02-05T15:00:00Z';

function runAsync(args: string[]): Promise<{ exit: number; json: unknown }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--json'], {
      cwd: dir,
      env: { ...process.env, DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: NOW },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ exit: code ?? -1, json: JSON.parse(out || 'null') }));
  });
}

beforeAll(async () => {
  pg = await createTestSchema();
  dir = tempDir('detailee-pg-');
  const k = generateKeyPairSync('ed25519');
  key = join(dir, 'approver.pem');
  writeFileSync(key, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'approver.pub.pem'), k.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(
    join(dir, 'detailee.yaml'),
    stringify({ store: pg.url, timezone: 'America/New_York', trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] } }),
  );
});
afterAll(async () => {
  await pg?.drop();
});

function signed(id: string, username: string, purpose = 'Support IT modernisation.'): string {
  const m = manifest({ id, purpose });
  (m.detailee as Record<string, unknown>).username = username;
  const f = writeManifest(dir, m, `${id}-${username}-${purpose.length}.yaml`);
  expect(cli(dir, ['assignment', 'sign', f, '--key', key, '--kid', 'alan.turing'], NOW).exit).toBe(0);
  return f;
}

describe('detailee CLI on a shared PostgreSQL store', () => {
  it('refuses an unmigrated store until `detailee migrate` runs', () => {
    const r = cli(dir, ['status', '--json'], NOW);
    expect(r.exit).toBe(2);
    expect(JSON.stringify(r.json)).toMatch(/detailee migrate/);
    expect(cli(dir, ['migrate', '--json'], NOW).json).toMatchObject({ schemaVersion: 1 });
    expect(cli(dir, ['status', '--json'], NOW).exit).toBe(0);
  });

  it('two officers onboarding different detailees at once both succeed', async () => {
    const a = signed('irs-2025-0501', 'alpha');
    const b = signed('irs-2025-0502', 'bravo');
    const [ra, rb] = await Promise.all([runAsync(['onboard', a, '--yes']), runAsync(['onboard', b, '--yes'])]);
    expect([ra.exit, rb.exit]).toEqual([0, 0]);
  });

  it('the same id at once: exactly one wins, the other gets a clear exit 2', async () => {
    const a = signed('irs-2025-0503', 'charlie', 'First version of the memorandum.');
    const b = signed('irs-2025-0503', 'charlie', 'A second, different version of the memorandum.');
    const results = await Promise.all([runAsync(['onboard', a, '--yes']), runAsync(['onboard', b, '--yes'])]);
    expect(results.map((r) => r.exit).sort()).toEqual([0, 2]);
    const loser = results.find((r) => r.exit === 2)!;
    expect((loser.json as { error: { code: string } }).error.code).toBe('onboard.conflict');
  });

  it('a second nightly job exits 4 while another holds the advisory lock', async () => {
    const holder = await PostgresStore.open(pg.url, { migrate: false });
    try {
      expect((await holder.acquireLock(LOCK_NAME, 'other-host:1', new Date(NOW), 60_000)).acquired).toBe(true);
      const r = cli(dir, ['expire', '--json'], NOW);
      expect(r.exit).toBe(4);
      expect((r.json as { error: { code: string } }).error.code).toBe('expire.locked');
    } finally {
      await holder.close(); // the session ends: the lock goes with it
    }
    expect(cli(dir, ['expire', '--json'], NOW).exit).toBe(0);
  });

  it('the audit chain is one linear chain after the concurrent runs, and store copy carries it to SQLite', () => {
    expect(cli(dir, ['audit', 'verify', '--json'], NOW).json).toMatchObject({ ok: true });
    const to = `sqlite:${join(dir, 'copy.db')}`;
    const r = cli(dir, ['store', 'copy', '--from', pg.url, '--to', to, '--json'], NOW);
    expect(r.exit).toBe(0);
    expect(r.json).toMatchObject({ assignments: 3 });
    const again = cli(dir, ['store', 'copy', '--from', pg.url, '--to', to, '--json'], NOW);
    expect(again.exit).toBe(2);
    const viaCopy = cli(dir, ['audit', 'verify', '--json'], NOW, { DETAILEE_DATABASE_URL: to });
    expect(viaCopy.json).toMatchObject({ ok: true });
    expect((viaCopy.json as { head: unknown }).head).toEqual((cli(dir, ['audit', 'verify', '--json'], NOW).json as { head: unknown }).head);
  });
});
