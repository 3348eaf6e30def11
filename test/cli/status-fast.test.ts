import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../scripts/scenario.js';
import { HEARTBEAT_KEY } from '../../src/lifecycle/status.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/manifest.js';
import { makeRecord } from '../helpers/pg.js';

/**
 * The built binary: `status` answered by the fast start (bin/run.js → dist/fast) must be
 * byte-for-byte what the full oclif command prints, for every form it takes, and every error
 * must still come from the full command.
 */
const NOW = '2025-03-01T12:00:00Z';
const CONFIG = 'store: sqlite:detailee.db\ntimezone: America/New_York\n';
let dir: string;

const full = { DETAILEE_FAST_START: '0' };
const cacheDir = () => join(dir, '.cache', 'detailee');

beforeAll(async () => {
  dir = tempDir('detailee-cli-status-');
  writeFileSync(join(dir, 'detailee.yaml'), CONFIG);
  const store = await SqliteStore.open(join(dir, 'detailee.db'));
  await store.transaction(async (tx) => {
    await tx.insertAssignment(makeRecord('irs-2025-0001', { start: '2025-01-06' }));
    await tx.insertAssignment(makeRecord('irs-2025-0002', { start: '2025-04-01', timezone: 'Pacific/Auckland' }));
    await tx.insertAssignment(makeRecord('irs-2025-0003', { start: '2024-09-02', state: 'expired' }));
    await tx.setMeta(HEARTBEAT_KEY, { at: '2025-02-27T06:00:00.000Z' }); // stale at NOW: a warning on stderr
  });
  await store.close();
});

describe('detailee status: the fast start and the full command agree', () => {
  it('same stdout, stderr and exit code for every form the fast start takes', () => {
    const cfg = join(dir, 'detailee.yaml');
    const forms: [string[], Record<string, string>][] = [
      [['status', '--json'], {}],
      [['status'], {}],
      [['status', '--config', cfg, '--json'], { DETAILEE_CONFIG: '' }],
      [['status', `--config=${cfg}`], { DETAILEE_CONFIG: '' }],
      // oclif turns JSON on from the environment too; the fast start once printed the table here.
      [['status'], { DETAILEE_CONTENT_TYPE: 'json' }],
      [['status'], { DETAILEE_CONTENT_TYPE: 'JSON' }],
    ];
    for (const [args, env] of forms) {
      const fast = cli(dir, args, NOW, env);
      const slow = cli(dir, args, NOW, { ...env, ...full });
      expect(fast.exit, args.join(' ')).toBe(0);
      expect(fast.json, args.join(' ')).toEqual(slow.json);
      expect(fast.stderr, args.join(' ')).toBe(slow.stderr);
      expect(slow.exit).toBe(0);
    }
    const rows = cli(dir, ['status', '--json'], NOW).json as { id: string; display: string }[];
    // The expired fixture carries no revocation record, so nothing claims it was proven.
    expect(rows.map((r) => r.display)).toEqual(['active', 'scheduled', 'expired, revocation not proven']);
    expect(cli(dir, ['status'], NOW).stderr).toMatch(/^Warning: The nightly job last completed 54 hours ago/);
    // The fast start ran (only it keeps a validated config) and its cache is in the run's folder.
    expect(readdirSync(cacheDir())).toHaveLength(1);
  });

  it('an invalid config still exits 2 with the full message, and a fixed one is used again', () => {
    writeFileSync(join(dir, 'detailee.yaml'), `${CONFIG}notices: {daysBefore: [400]}\n`);
    const fast = cli(dir, ['status', '--json'], NOW);
    const slow = cli(dir, ['status', '--json'], NOW, full);
    expect(fast.exit).toBe(2);
    expect(fast.json).toEqual(slow.json);
    expect(JSON.stringify(fast.json)).toMatch(/notices\.daysBefore/);
    writeFileSync(join(dir, 'detailee.yaml'), CONFIG);
    expect(cli(dir, ['status', '--json'], NOW).exit).toBe(0);
  });

  it('--version prints what oclif prints', () => {
    const fast = cli(dir, ['--version'], NOW);
    const slow = cli(dir, ['--version'], NOW, full);
    expect(fast.exit).toBe(0);
    expect(fast.json).toBe(slow.json);
    expect(String(fast.json)).toMatch(/^detailee\/\d+\.\d+\.\d+ (linux|darwin)-\w+ node-v\d+/);
  });

  it('everything else goes to the full command: help, a bad flag, a missing config', () => {
    const help = cli(dir, ['status', '--help'], NOW);
    expect(help.exit).toBe(0);
    expect(String(help.json)).toMatch(/List every assignment/);
    const bad = cli(dir, ['status', '--jsno'], NOW);
    expect(bad.exit).toBe(2);
    const missing = cli(dir, ['status', '--json', '--config', join(dir, 'nope.yaml')], NOW, { DETAILEE_CONFIG: '' });
    expect(missing.exit).toBe(2);
    expect(missing.json).toMatchObject({ error: { code: 'config.missing' } });
    expect(existsSync(join(dir, 'nope.yaml'))).toBe(false);
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
