import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, prepare, ROOT } from '../helpers/scenario.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { LOCK_NAME } from '../../src/lifecycle/expire.js';
import { createTestSchema, type TestSchema } from '../helpers/pg.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';
import { startCliServers, type CliServers } from '../helpers/servers.js';
import { startMoto, type Moto } from '../helpers/moto.js';

/** Several officers and one nightly host on one PostgreSQL store, through the built CLI. */
let pg: TestSchema;
let dir: string;
let key: string;
const NOW = '2025-02-05T15:00:00Z';

function runAsync(args: string[], at = NOW, where = dir): Promise<{ exit: number; json: unknown }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--json'], {
      cwd: where,
      env: { ...process.env, DETAILEE_CONFIG: join(where, 'detailee.yaml'), DETAILEE_NOW: at, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ exit: code ?? -1, json: JSON.parse(out || 'null') }));
  });
}

let moto: Moto;
beforeAll(async () => {
  [pg, moto] = await Promise.all([createTestSchema(), startMoto()]);
  dir = tempDir('detailee-pg-');
  const k = generateKeyPairSync('ed25519');
  key = join(dir, 'approver.pem');
  writeFileSync(key, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'approver.pub.pem'), k.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(
    join(dir, 'detailee.yaml'),
    stringify({
      store: pg.url,
      timezone: 'America/New_York',
      trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] },
      // One real target, so that each onboarding has something to record and later prove.
      targets: { aws: { region: 'us-east-1', endpoint: moto.endpoint, path: '/detailees/' } },
    }),
  );
});
afterAll(async () => {
  await Promise.all([pg?.drop(), moto?.stop()]);
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
    expect(cli(dir, ['migrate', '--json'], NOW).json).toMatchObject({ schemaVersion: 2 });
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

  it('a second nightly job exits 4 while another holds the lease, and runs once it is released', async () => {
    const holder = await PostgresStore.open(pg.url, { migrate: false });
    try {
      expect((await holder.acquireLock(LOCK_NAME, 'other-host:1', new Date(NOW), 60_000)).acquired).toBe(true);
      const r = cli(dir, ['expire', '--json'], NOW);
      expect(r.exit).toBe(4);
      expect((r.json as { error: { code: string } }).error.code).toBe('expire.locked');
      await holder.releaseLock(LOCK_NAME, 'other-host:1');
    } finally {
      await holder.close();
    }
    expect(cli(dir, ['expire', '--json'], NOW).exit).toBe(0);
  });

  it('eight officers recording FTI disclosures at once: eight entries, distinct ids, one linear chain that `audit verify` passes', async () => {
    const before = (cli(dir, ['audit', 'verify', '--json'], NOW).json as { events: number }).events;
    const args = (i: number) => ['fti', 'record', 'irs-2025-0501', '--description', `extract batch ${i}`, '--type', 'return transcripts', '--tax-years', '2021', '--records', String(10 + i), '--media', 'paper', '--location', 'Bldg 2, Room 114, safe 3', '--received', '2025-02-05'];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => runAsync(args(i))));
    expect(results.map((r) => r.exit)).toEqual(Array.from({ length: 8 }, () => 0));
    const ids = results.map((r) => (r.json as { id: string }).id).sort();
    expect(ids).toEqual(Array.from({ length: 8 }, (_, i) => `F-${String(i + 1).padStart(4, '0')}`));
    const listed = cli(dir, ['fti', 'list', 'irs-2025-0501', '--json'], NOW).json as { id: string; records: number }[];
    expect(listed.map((e) => e.id)).toEqual(ids);
    const verify = cli(dir, ['audit', 'verify', '--json'], NOW);
    expect(verify.exit).toBe(0);
    expect(verify.json).toMatchObject({ ok: true, events: before + 8 });
  });

  it('the audit chain is one linear chain after the concurrent runs, and store copy carries it to SQLite and back', async () => {
    expect(cli(dir, ['audit', 'verify', '--json'], NOW).json).toMatchObject({ ok: true });
    const head = (cli(dir, ['audit', 'verify', '--json'], NOW).json as { head: unknown }).head;
    const to = `sqlite:${join(dir, 'copy.db')}`;
    const r = cli(dir, ['store', 'copy', '--from', pg.url, '--to', to, '--json'], NOW);
    expect(r.exit).toBe(0);
    expect(r.json).toMatchObject({ assignments: 3 });
    const again = cli(dir, ['store', 'copy', '--from', pg.url, '--to', to, '--json'], NOW);
    expect(again.exit).toBe(2);
    const viaCopy = cli(dir, ['audit', 'verify', '--json'], NOW, { DETAILEE_DATABASE_URL: to });
    expect(viaCopy.json).toMatchObject({ ok: true });
    expect((viaCopy.json as { head: unknown }).head).toEqual(head);

    // And back: the SQLite copy into a fresh PostgreSQL schema, which then refuses a second copy.
    const back = await createTestSchema();
    try {
      const r2 = cli(dir, ['store', 'copy', '--from', to, '--to', back.url, '--json'], NOW);
      expect(r2.exit, JSON.stringify(r2.json)).toBe(0);
      expect(r2.json).toMatchObject({ assignments: 3 });
      const viaBack = cli(dir, ['audit', 'verify', '--json'], NOW, { DETAILEE_DATABASE_URL: back.url });
      expect(viaBack.json).toMatchObject({ ok: true, head });
      expect((cli(dir, ['status', '--json'], NOW, { DETAILEE_DATABASE_URL: back.url }).json as { id: string }[]).map((a) => a.id).sort()).toEqual(['irs-2025-0501', 'irs-2025-0502', 'irs-2025-0503']);
      const refused = cli(dir, ['store', 'copy', '--from', to, '--to', back.url, '--json'], NOW);
      expect(refused.exit).toBe(2);
      expect(JSON.stringify(refused.json)).toMatch(/not empty/);
    } finally {
      await back.drop();
    }
  });
});

describe('the nightly job on PostgreSQL killed while it holds the lock (real slapd and moto)', () => {
  let servers: CliServers;
  let work: string;
  let schema: TestSchema;
  beforeAll(async () => {
    [servers, schema] = await Promise.all([startCliServers(), createTestSchema()]);
    work = tempDir('detailee-pg-kill-');
    const { manifest: m, approverKey } = prepare(work, servers.servers);
    const cfg = parse(readFileSync(join(work, 'detailee.yaml'), 'utf8')) as Record<string, unknown>;
    cfg.store = schema.url;
    writeFileSync(join(work, 'detailee.yaml'), stringify(cfg));
    expect(cli(work, ['migrate', '--json'], '2025-02-01T15:00:00Z').exit).toBe(0);
    expect(cli(work, ['assignment', 'sign', m, '--key', approverKey, '--kid', 'alan.turing'], '2025-02-01T15:00:00Z').exit).toBe(0);
    const onboard = cli(work, ['onboard', m, '--yes', '--json'], '2025-02-05T15:00:00Z');
    expect(onboard.exit, JSON.stringify(onboard.json)).toBe(0);
  });
  afterAll(async () => {
    await Promise.all([servers?.stop(), schema?.drop()]);
  });

  it('SIGKILLed after its first revocation step: its lease holds off the next run until it ends, then that run takes it over, says so and finishes (exit 0)', async () => {
    const END = '2025-06-06T06:00:00Z'; // past the end of term (2025-06-06T00:00 New York)
    const LEASE_ENDED = '2025-06-06T08:00:00Z'; // the nightly lease lasts two hours
    const killed = await new Promise<{ signal: NodeJS.Signals | null }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'expire', '--json'], {
        cwd: work,
        env: { ...process.env, DETAILEE_CONFIG: join(work, 'detailee.yaml'), DETAILEE_NOW: END, DETAILEE_FAULT_AFTER_STEP: '1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
        stdio: 'ignore',
      });
      child.on('close', (_code, signal) => resolve({ signal }));
    });
    expect(killed.signal).toBe('SIGKILL');
    const show = cli(work, ['show', 'irs-2025-0042', '--json'], END).json as { state: string; revocationComplete: boolean };
    expect(show).toMatchObject({ state: 'expired', revocationComplete: false });

    // The dead run's lease stands for its two hours, as on the embedded store.
    const early = cli(work, ['expire', '--json'], END);
    expect(early.exit, JSON.stringify(early.json)).toBe(4);
    expect((early.json as { error: { code: string } }).error.code).toBe('expire.locked');
    const next = cli(work, ['expire', '--json'], LEASE_ENDED);
    expect(next.exit, JSON.stringify(next.json)).toBe(0);
    expect((next.json as { lock: { takenOver: { holder: string } | null } }).lock.takenOver).toMatchObject({ holder: expect.stringContaining(':') });
    expect((next.json as { revoked: { id: string; complete: boolean }[]; failed: unknown[] }).revoked).toEqual([expect.objectContaining({ id: 'irs-2025-0042', complete: true })]);
    expect(cli(work, ['show', 'irs-2025-0042', '--json'], LEASE_ENDED).json).toMatchObject({ state: 'expired', revocationComplete: true });
    expect(cli(work, ['audit', 'verify', '--json'], LEASE_ENDED).json).toMatchObject({ ok: true });
  });
});
