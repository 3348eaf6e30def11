import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Config } from '@oclif/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from '../helpers/scenario.js';
import { HEARTBEAT_KEY } from '../../src/lifecycle/status.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/manifest.js';
import { createTestSchema, makeRecord, type TestSchema } from '../helpers/pg.js';
import { PostgresStore } from '../../src/store/postgres.js';

/**
 * The built binary has one CLI, started two ways: `status` and `--version` from the fast start
 * (bin/start.js → dist/fast, which parses `status` with the command's own flag definitions and
 * oclif's parser), everything else — and whatever the fast start declines — through oclif.
 * DETAILEE_FAST_START=0 is oclif alone. Every case below runs both ways and must print the same
 * output and exit code; the fast start must also really have answered what it takes.
 */
const NOW = '2025-03-01T12:00:00Z';
const CONFIG = 'store: sqlite:detailee.db\ntimezone: America/New_York\n';
const AD =
  'targets:\n  ad: {url: "ldaps://dc1.agency.gov", bindDN: "svc@agency.gov", bindPasswordEnv: AD_PW, usersDN: "OU=Detailees,DC=agency,DC=gov", groupsDN: "OU=Groups,DC=agency,DC=gov", upnSuffix: agency.gov, caCertificate: ca.pem}\n';
let dir: string;

/** Node's warnings name the process: "(node:1234)" differs between any two runs. */
const samePid = (stderr: string) => stderr.replace(/^\(node:\d+\)/gm, '(node:PID)');

let caches = 0;
/**
 * `args` through the fast start and through oclif alone, each with a cache folder of its own:
 * asserts the same stdout (the same document where it is JSON: both print it with jsonDocument,
 * src/cli/common.ts), stderr and exit code, and says whether the fast start answered (only it
 * keeps a validated config, and only once it has answered; a run it declines leaves nothing).
 */
function bothStarts(args: string[], env: Record<string, string> = {}, where = dir, between = () => undefined as void) {
  const fastCache = join(where, `.cache-${++caches}`);
  const fullCache = join(where, `.cache-${++caches}`);
  const fast = cli(where, args, NOW, { XDG_CACHE_HOME: fastCache, ...env });
  between();
  const full = cli(where, args, NOW, { XDG_CACHE_HOME: fullCache, ...env, DETAILEE_FAST_START: '0' });
  const label = `${args.join(' ')} ${JSON.stringify(env)}`;
  expect(fast.exit, label).toBe(full.exit);
  expect(fast.json, label).toEqual(full.json);
  expect(samePid(fast.stderr), label).toBe(samePid(full.stderr));
  expect(existsSync(fullCache), label).toBe(false);
  return { ...fast, label, answeredFast: existsSync(join(fastCache, 'detailee')) };
}

beforeAll(async () => {
  dir = tempDir('detailee-cli-status-');
  writeFileSync(join(dir, 'detailee.yaml'), CONFIG);
  writeFileSync(join(dir, 'with-ad.yaml'), `${CONFIG}${AD}`);
  const store = await SqliteStore.open(join(dir, 'detailee.db'));
  await store.transaction(async (tx) => {
    await tx.insertAssignment(makeRecord('irs-2025-0001', { start: '2025-01-06' }));
    await tx.insertAssignment(makeRecord('irs-2025-0002', { start: '2025-04-01', timezone: 'Pacific/Auckland' }));
    await tx.insertAssignment(makeRecord('irs-2025-0003', { start: '2024-09-02', state: 'expired' }));
    await tx.setMeta(HEARTBEAT_KEY, { at: '2025-02-27T06:00:00.000Z' }); // stale at NOW: a warning on stderr
  });
  await store.close();
});

describe('detailee status: the fast start and oclif alone agree', () => {
  const cfg = () => join(dir, 'detailee.yaml');
  it.each<[string, () => string[], Record<string, string>?]>([
    ['--json', () => ['status', '--json']],
    ['the table', () => ['status']],
    ['`--` and nothing after it', () => ['status', '--']],
    ['--config F --json', () => ['status', '--config', cfg(), '--json'], { DETAILEE_CONFIG: '' }],
    ['--config=F', () => ['status', `--config=${cfg()}`], { DETAILEE_CONFIG: '' }],
    // oclif turns JSON on from the environment too; the fast start once printed the table here.
    ['DETAILEE_CONTENT_TYPE=json', () => ['status'], { DETAILEE_CONTENT_TYPE: 'json' }],
    ['DETAILEE_CONTENT_TYPE=JSON', () => ['status'], { DETAILEE_CONTENT_TYPE: 'JSON' }],
    ['--state S --json', () => ['status', '--state', 'active', '--json']],
    ['--state=S,S --json', () => ['status', '--state=scheduled,expired', '--json']],
    ['--state S --state S', () => ['status', '--state', 'scheduled', '--state', 'active']],
    ['--ending-within Nd --json', () => ['status', '--ending-within', '400d', '--json']],
    ['--state S --ending-within Nw', () => ['status', '--state', 'active', '--ending-within', '60w']],
    ['a filter nothing matches', () => ['status', '--state', 'closed']],
    ['a filter nothing matches, --json', () => ['status', '--state', 'closed', '--json']],
    ['--csv', () => ['status', '--csv']],
    ['--csv --state S', () => ['status', '--csv', '--state', 'expired']],
    // --csv excludes the --json flag, not the environment: CSV, then the JSON document.
    ['--csv with DETAILEE_CONTENT_TYPE=json', () => ['status', '--csv'], { DETAILEE_CONTENT_TYPE: 'json' }],
  ])('the fast start answers status %s with what oclif prints', (_, args, env) => {
    const run = bothStarts(args(), env);
    expect(run.exit).toBe(0);
    expect(run.answeredFast).toBe(true);
  });

  it('what both print: the rows, the heartbeat warning, CSV then JSON', () => {
    const rows = cli(dir, ['status', '--json'], NOW).json as { id: string; display: string }[];
    // The expired fixture carries no revocation record, so nothing claims it was proven.
    expect(rows.map((r) => r.display)).toEqual(['active', 'scheduled', 'expired, revocation not proven']);
    expect(cli(dir, ['status'], NOW).stderr).toMatch(/^Warning: The nightly job last completed 54 hours ago/);
    expect(String(cli(dir, ['status', '--csv'], NOW, { DETAILEE_CONTENT_TYPE: 'json' }).json)).toMatch(/^id,username,.*\r\n(.*\r\n){3}\[\n {2}\{\n/s);
  });

  it('what the fast start declines, oclif answers, the same either way: help and what the parser refuses', () => {
    const run = (args: string[]) => {
      const r = bothStarts(args);
      expect(r.answeredFast, r.label).toBe(false);
      return r;
    };
    // A help flag anywhere before `--` is help, even where the parser would take it as a value.
    expect(String(run(['status', '--config', '--help']).json)).toMatch(/^List every assignment/);
    expect(run(['status', '-h']).exit).toBe(0);
    for (const args of [['status', '--jsno'], ['status', '--jsno', '--json'], ['status', 'extra', '--json'], ['status', '--config'], ['status', '--csv', '--json']]) {
      expect(run(args).exit, args.join(' ')).toBe(2);
    }
    // The command's own refusals of a value (status-filter.ts), with JSON and without a config.
    expect(run(['status', '--state', 'actve', '--json']).json).toMatchObject({ error: { code: 'status.state' } });
    expect(run(['status', '--ending-within', '30', '--json']).json).toMatchObject({ error: { code: 'status.ending-within' } });
  });

  it('what the fast start declines, oclif answers, the same either way: a missing config, a clock or store it does not take', () => {
    const run = (args: string[], env: Record<string, string>) => {
      const r = bothStarts(args, env);
      expect(r.answeredFast, r.label).toBe(false);
      return r;
    };
    const missing = run(['status', '--json', '--config', join(dir, 'nope.yaml')], { DETAILEE_CONFIG: '' });
    expect(missing.exit).toBe(2);
    expect(missing.json).toMatchObject({ error: { code: 'config.missing' } });
    expect(existsSync(join(dir, 'nope.yaml'))).toBe(false);
    expect(run(['status'], { DETAILEE_CONFIG: join(dir, 'nope.yaml') }).exit).toBe(2);
    expect(run(['status'], { DETAILEE_CONTENT_TYPE: 'json', DETAILEE_CONFIG: join(dir, 'nope.yaml') }).json).toMatchObject({ error: { code: 'config.missing' } });
    expect(run(['status', '--json'], { DETAILEE_NOW: 'yesterday' }).exit).toBe(2);
    expect(run(['status', '--json'], { DETAILEE_DATABASE_URL: 'mongodb://db.example/detailee' }).exit).toBe(2);
    // A config with an AD target is answered by the fast start, as the command answers it.
    const withAd = bothStarts(['status', '--config', join(dir, 'with-ad.yaml')]);
    expect(withAd.exit).toBe(0);
    expect(withAd.answeredFast).toBe(true);
  });

  it('an invalid config exits 2 with the full message either way, and a fixed one is used again', () => {
    writeFileSync(join(dir, 'detailee.yaml'), `${CONFIG}notices: {daysBefore: [400]}\n`);
    const bad = bothStarts(['status', '--json']);
    expect(bad.exit).toBe(2);
    expect(JSON.stringify(bad.json)).toMatch(/notices\.daysBefore/);
    writeFileSync(join(dir, 'detailee.yaml'), CONFIG);
    expect(cli(dir, ['status', '--json'], NOW).exit).toBe(0);
    // The fast start keeps its verdict in the run's own cache folder: one entry per config path.
    expect(readdirSync(join(dir, '.cache', 'detailee'))).toHaveLength(1);
  });

  it('--version prints what oclif prints', () => {
    const run = bothStarts(['--version']);
    expect(run.exit).toBe(0);
    expect(String(run.json)).toMatch(/^detailee\/\d+\.\d+\.\d+ (linux|darwin)-\w+ node-v\d+/);
  });
});

/** Every command and topic oclif knows (plugins' included), as a user types it. */
const oclif = await Config.load(ROOT);
const words = (id: string) => id.split(':');
const commands = oclif.commandIDs.map(words);
const topics = [...oclif.topics].map((t) => t.name).filter((t) => !oclif.commandIDs.includes(t)).map(words);

describe('--help is the same through both starts, for every command and topic', () => {
  it('the list covers every command file, the plugins\' commands and the topics', () => {
    const files = readdirSync(join(ROOT, 'commands'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -'.ts'.length).split(sep).join(':'));
    expect(files.length).toBeGreaterThan(20);
    expect(oclif.commandIDs).toEqual(expect.arrayContaining([...files, 'help', 'autocomplete']));
    expect(topics.map((t) => t.join(' '))).toEqual(expect.arrayContaining(['assignment', 'audit', 'certificate', 'fti', 'store']));
  });

  it.each([[], ...topics, ...commands].map((c) => [c.join(' ') || '(none)', c] as const))('detailee %s --help', (_, words) => {
    const run = bothStarts([...words, '--help']);
    expect(run.exit).toBe(0);
    expect(String(run.json)).toMatch(/USAGE/);
    expect(run.answeredFast).toBe(false);
  });

  it('a topic alone, and no command at all, show help too', () => {
    for (const args of [[], ['assignment'], ['store']]) {
      const run = bothStarts(args);
      expect(run.exit, args.join(' ')).toBe(0);
      expect(String(run.json), args.join(' ')).toMatch(/USAGE|COMMANDS/);
    }
  });
});

describe('detailee status: finding assignments by state and end', () => {
  const ids = (out: unknown) => (out as { id: string }[]).map((r) => r.id);

  it('--state keeps the named states; "scheduled" and "active" split the active ones by their start', () => {
    expect(ids(cli(dir, ['status', '--state', 'active', '--json'], NOW).json)).toEqual(['irs-2025-0001']);
    expect(ids(cli(dir, ['status', '--state', 'scheduled,expired', '--json'], NOW).json)).toEqual(['irs-2025-0002', 'irs-2025-0003']);
    expect(ids(cli(dir, ['status', '--state', 'scheduled', '--state', 'active', '--json'], NOW).json)).toEqual(['irs-2025-0001', 'irs-2025-0002']);
    const none = cli(dir, ['status', '--state', 'closed'], NOW);
    expect(none.exit).toBe(0);
    expect(String(none.json)).toMatch(/^No assignments match\./);
  });

  it('--ending-within keeps active assignments with at most that many days left, the boundary included', () => {
    const rows = cli(dir, ['status', '--json'], NOW).json as { id: string; daysLeft: number | null }[];
    const left = rows.find((r) => r.id === 'irs-2025-0001')!.daysLeft!;
    expect(left).toBeGreaterThan(7);
    expect(ids(cli(dir, ['status', '--ending-within', `${left}d`, '--json'], NOW).json)).toEqual(['irs-2025-0001']);
    expect(ids(cli(dir, ['status', '--ending-within', `${left - 1}d`, '--json'], NOW).json)).toEqual([]);
    const weeks = Math.ceil(left / 7);
    expect(ids(cli(dir, ['status', '--ending-within', `${weeks}w`, '--json'], NOW).json)).toEqual(['irs-2025-0001']);
    // An expired assignment has no days left to count: it never matches a period.
    expect(ids(cli(dir, ['status', '--state', 'expired', '--ending-within', '3660d', '--json'], NOW).json)).toEqual([]);
  });

  it('--csv prints RFC 4180 with a header and the values of the JSON rows', () => {
    const out = cli(dir, ['status', '--csv'], NOW);
    expect(out.exit).toBe(0);
    const text = String(out.json);
    expect(text.endsWith('\r\n')).toBe(true);
    const lines = text.split('\r\n').slice(0, -1);
    expect(lines[0]).toBe('id,username,state,display,start,lastDay,endsAt,daysLeft,renewalsLeft,nextAction');
    const rows = cli(dir, ['status', '--json'], NOW).json as Record<string, unknown>[];
    expect(lines).toHaveLength(rows.length + 1);
    expect(lines[3]).toMatch(/^irs-2025-0003,[^,]+,expired,"?expired, revocation not proven"?,/);
    expect(lines[1]!.split(',')[0]).toBe('irs-2025-0001');
  });

  it('bad input exits 2 naming the flag, before the store is read', () => {
    const badState = cli(dir, ['status', '--state', 'actve', '--json'], NOW);
    expect(badState.exit).toBe(2);
    expect(badState.json).toMatchObject({ error: { code: 'status.state', message: expect.stringContaining('"actve"') } });
    for (const p of ['30', '1m', '0d', '99999d']) {
      const bad = cli(dir, ['status', '--ending-within', p, '--json'], NOW);
      expect(bad.exit, p).toBe(2);
      expect(bad.json, p).toMatchObject({ error: { code: 'status.ending-within' } });
    }
    // No config is needed to refuse a bad flag.
    const noConfig = cli(dir, ['status', '--state', 'nope'], NOW, { DETAILEE_CONFIG: join(dir, 'absent.yaml') });
    expect(noConfig.exit).toBe(2);
    expect(noConfig.stderr).toMatch(/--state/);
    expect(cli(dir, ['status', '--csv', '--json'], NOW).exit).toBe(2);
  });
});

describe('detailee status on a shared PostgreSQL store: the fast start answers it, as oclif would', () => {
  let pg: TestSchema;
  let pgDir: string;
  beforeAll(async () => {
    pg = await createTestSchema();
    pgDir = tempDir('detailee-cli-status-pg-');
    writeFileSync(join(pgDir, 'detailee.yaml'), `store: ${pg.url}\ntimezone: America/New_York\n`);
    const store = await PostgresStore.open(pg.url, { migrate: true });
    await store.transaction(async (tx) => {
      await tx.insertAssignment(makeRecord('irs-2025-0101', { start: '2025-01-06' }));
      await tx.insertAssignment(makeRecord('irs-2025-0102', { start: '2025-04-01' }));
      await tx.insertAssignment(makeRecord('irs-2025-0103', { start: '2024-09-02', state: 'revoked' }));
    });
    await store.close();
  });
  afterAll(async () => {
    await pg?.drop();
  });

  it.each([[['status', '--json']], [['status']], [['status', '--csv']], [['status', '--state', 'scheduled,revoked', '--json']]])('%j', (args) => {
    const run = bothStarts(args, {}, pgDir);
    expect(run.exit).toBe(0);
    expect(run.answeredFast).toBe(true);
    if (args.includes('--json')) expect((run.json as { id: string }[]).map((r) => r.id)).toEqual(args.includes('--state') ? ['irs-2025-0102', 'irs-2025-0103'] : ['irs-2025-0101', 'irs-2025-0102', 'irs-2025-0103']);
  });

  it('an unmigrated store: the same refusal (exit 2, run detailee migrate) either way, with and without --json', async () => {
    const bare = await createTestSchema();
    try {
      for (const args of [['status', '--json'], ['status']]) {
        const run = bothStarts(args, { DETAILEE_DATABASE_URL: bare.url }, pgDir);
        expect(run.exit).toBe(2);
        expect(`${JSON.stringify(run.json)}${run.stderr}`).toMatch(/detailee migrate/);
      }
    } finally {
      await bare.drop();
    }
  });

  it('a server that fails the connection is tried by the fast start alone, not again by oclif, and reported the same way', async () => {
    const server = await connectionCounter();
    try {
      const url = `postgres://detailee@127.0.0.1:${server.port}/test`;
      let fast = 0;
      const run = bothStarts(['status', '--json'], { DETAILEE_DATABASE_URL: url }, pgDir, () => {
        fast = server.count();
      });
      expect(run.exit).toBe(1);
      expect(run.json).toMatchObject({ error: { exit: 1, fault: 'environment' } });
      // Handed over to oclif, the fast start's attempt would have been followed by oclif's own.
      expect(fast).toBeGreaterThan(0);
      expect(server.count()).toBe(2 * fast);
    } finally {
      await server.stop();
    }
  });
});

/**
 * A loopback TCP server in a child process (the CLI runs synchronously in this one) that counts
 * connections and closes each once the client's first message is in (closing before it, the
 * client's write meets a reset and the message varies with timing).
 */
async function connectionCounter(): Promise<{ port: number; count: () => number; stop: () => Promise<void> }> {
  const log = join(tempDir('detailee-pg-counter-'), 'connections');
  writeFileSync(log, '');
  const child = spawn(
    process.execPath,
    ['-e', `const fs=require('node:fs');require('node:net').createServer((s)=>{fs.appendFileSync(${JSON.stringify(log)}, 'x');s.once('data',()=>s.end());}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`the counting server exited (${code})`)));
  });
  return {
    port,
    count: () => readFileSync(log, 'utf8').length,
    stop: async () => {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
