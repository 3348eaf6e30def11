import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ux } from '@oclif/core';
import { fastStatus, type FastIo } from '../../src/cli/fast-status.js';
import { cacheEntryPath, configCacheKey, readValidatedConfig, userCacheDir, writeValidatedConfig } from '../../src/config/cache.js';
import { loadConfig, validateConfigText } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { HEARTBEAT_KEY } from '../../src/lifecycle/status.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/manifest.js';
import { makeRecord } from '../helpers/pg.js';

const NOW = '2025-03-01T12:00:00Z';

/** A workspace with a config, a store holding two assignments, and a private cache folder. */
async function workspace(config = 'store: sqlite:detailee.db\ntimezone: America/New_York\n') {
  const dir = tempDir('detailee-fast-');
  const file = join(dir, 'detailee.yaml');
  writeFileSync(file, config);
  const store = await SqliteStore.open(join(dir, 'detailee.db'));
  await store.transaction(async (tx) => {
    await tx.insertAssignment(makeRecord('irs-a', { start: '2025-01-06' }));
    await tx.insertAssignment(makeRecord('irs-b', { start: '2025-04-01', timezone: 'Pacific/Auckland' }));
    await tx.setMeta(HEARTBEAT_KEY, { at: '2025-03-01T06:00:00.000Z' });
  });
  await store.close();
  const out: string[] = [];
  const err: string[] = [];
  const exits: number[] = [];
  const io: FastIo = {
    env: { DETAILEE_CONFIG: file, DETAILEE_NOW: NOW, XDG_CACHE_HOME: join(dir, 'cache') },
    cwd: dir,
    build: 'test-build',
    helpFlags: ['-h'],
    stdout: (s) => void out.push(s),
    stderr: (s) => err.push(s),
    setExit: (code) => exits.push(code),
  };
  return { dir, file, io, out, err, exits, cache: join(dir, 'cache', 'detailee') };
}

describe('the fast status start', () => {
  it("takes every flag of the command, and declines what oclif's parser or the command refuses, writing nothing", async () => {
    const w = await workspace();
    const ids = () => (JSON.parse(w.out.join('')) as { id: string }[]).map((r) => r.id);
    for (const [argv, expected] of [
      [['status', '--json', '--state', 'scheduled'], ['irs-b']],
      [['status', '--state=active,scheduled', '--json'], ['irs-a', 'irs-b']],
      [['status', '--state', 'active', '--state', 'scheduled', '--json'], ['irs-a', 'irs-b']],
      [['status', `--config=${w.file}`, '--ending-within', '200w', '--json'], ['irs-a', 'irs-b']],
      [['status', '--ending-within', '1d', '--json'], []],
    ] as [string[], string[]][]) {
      w.out.length = 0;
      expect(await fastStatus(argv, w.io), argv.join(' ')).toBe(true);
      expect(ids(), argv.join(' ')).toEqual(expected);
    }
    w.out.length = 0;
    expect(await fastStatus(['status', '--csv'], w.io)).toBe(true);
    expect(w.out.join('')).toMatch(/^id,username,state,display,start,lastDay,endsAt,daysLeft,renewalsLeft,nextAction\r\nirs-a,/);
    w.out.length = 0;
    expect(await fastStatus(['status', '--state', 'closed'], w.io)).toBe(true);
    expect(w.out.join('')).toBe('No assignments match.\n');
    w.out.length = 0;
    for (const argv of [
      ['show', 'x'],
      ['status', '--help'],
      ['status', '-h'],
      ['status', '--config', '--help'],
      ['status', 'extra'],
      ['status', '--config'],
      ['status', '--jsn'],
      ['status', '--csv', '--json'],
      ['status', '--state', 'actve'],
      ['status', '--ending-within', '30'],
      ['status', '--', 'x'],
    ]) {
      expect(await fastStatus(argv, w.io), argv.join(' ')).toBe(false);
    }
    expect(w.out).toEqual([]);
    expect(w.err).toEqual([]);
  });

  it('prints the rows as JSON, validates the config once, then starts from the cached verdict', async () => {
    const w = await workspace();
    expect(await fastStatus(['status', '--json'], w.io)).toBe(true);
    const rows = JSON.parse(w.out.join('')) as { id: string; display: string; daysLeft: number }[];
    expect(rows.map((r) => [r.id, r.display])).toEqual([
      ['irs-a', 'active'],
      ['irs-b', 'scheduled'],
    ]);
    expect(w.out.join('').endsWith('\n')).toBe(true);
    expect(w.err).toEqual([]);
    const entry = readdirSync(w.cache);
    expect(entry).toHaveLength(1);
    expect(statSync(join(w.cache, entry[0]!)).mode & 0o777).toBe(0o600);
    expect(statSync(w.cache).mode & 0o777).toBe(0o700);
    // The second start reads the verdict instead of validating: a verdict that says otherwise is
    // what it uses (so the cache is really read), as long as the key matches.
    const key = configCacheKey(w.file, 'store: sqlite:detailee.db\ntimezone: America/New_York\n', 'test-build');
    expect(readValidatedConfig(w.cache, w.file, key)).toMatchObject({ store: 'sqlite:detailee.db', timezone: 'America/New_York' });
    writeValidatedConfig(w.cache, w.file, key, { ...validateConfigText('store: sqlite:other.db\n', w.file) });
    w.out.length = 0;
    expect(await fastStatus(['status', '--json'], w.io)).toBe(true);
    expect(JSON.parse(w.out.join(''))).toEqual([]); // other.db: created empty
  });

  it('a changed config, another build or another config path is a miss and is validated again', async () => {
    const w = await workspace();
    const text = 'store: sqlite:detailee.db\ntimezone: America/New_York\n';
    const key = configCacheKey(w.file, text, 'test-build');
    expect(configCacheKey(w.file, `${text}\n`, 'test-build')).not.toBe(key);
    expect(configCacheKey(w.file, text, 'other-build')).not.toBe(key);
    expect(configCacheKey(join(w.dir, 'x.yaml'), text, 'test-build')).not.toBe(key);
    expect(cacheEntryPath(w.cache, w.file)).not.toBe(cacheEntryPath(w.cache, join(w.dir, 'x.yaml')));
    expect(await fastStatus(['status'], w.io)).toBe(true);
    // Now the file says something invalid: the fast start declines, writes nothing, and leaves
    // the message to the full command.
    writeFileSync(w.file, 'store: sqlite:detailee.db\ntimezone: Mars/Olympus_Mons\n');
    w.out.length = 0;
    expect(await fastStatus(['status'], w.io)).toBe(false);
    expect(w.out).toEqual([]);
    expect(w.err).toEqual([]);
  });

  it('ignores a cache entry that others can read or write: it could have been planted', async () => {
    const w = await workspace();
    const text = 'store: sqlite:detailee.db\ntimezone: America/New_York\n';
    const key = configCacheKey(w.file, text, 'test-build');
    expect(writeValidatedConfig(w.cache, w.file, key, validateConfigText('store: sqlite:planted.db\n', w.file))).toBe(true);
    chmodSync(cacheEntryPath(w.cache, w.file), 0o644);
    expect(readValidatedConfig(w.cache, w.file, key)).toBeUndefined();
    expect(await fastStatus(['status', '--json'], w.io)).toBe(true);
    expect((JSON.parse(w.out.join('')) as unknown[]).length).toBe(2);
    expect(existsSync(join(w.dir, 'planted.db'))).toBe(false);
  });

  it('still answers when the cache folder cannot be written', async () => {
    const w = await workspace();
    writeFileSync(join(w.dir, 'cache'), 'a file where the folder should be');
    expect(await fastStatus(['status', '--json'], w.io)).toBe(true);
    expect((JSON.parse(w.out.join('')) as unknown[]).length).toBe(2);
  });

  it('the human table and the heartbeat warning', async () => {
    const w = await workspace();
    w.io.env.DETAILEE_NOW = '2025-03-03T12:00:00Z'; // 54 hours after the last run
    expect(await fastStatus(['status'], w.io)).toBe(true);
    expect(w.out.join('')).toMatch(/^ID\s+USER\s+STATE/);
    expect(w.out.join('')).toMatch(/irs-b\s+uirsb\s+scheduled/);
    expect(w.err.join('')).toMatch(/^Warning: The nightly job last completed 54 hours ago/);
  });

  it('declines a missing config file, a bad DETAILEE_NOW and a store URL of another kind, writing nothing', async () => {
    const cases: [string, (w: Awaited<ReturnType<typeof workspace>>) => void][] = [
      ['missing config', (w) => void (w.io.env.DETAILEE_CONFIG = join(w.dir, 'nope.yaml'))],
      ['bad clock', (w) => void (w.io.env.DETAILEE_NOW = 'yesterday')],
      ['store URL of another kind', (w) => void (w.io.env.DETAILEE_DATABASE_URL = 'mongodb://db.example/detailee')],
    ];
    for (const [name, change] of cases) {
      const w = await workspace();
      change(w);
      expect(await fastStatus(['status', '--json'], w.io), name).toBe(false);
      expect(w.out, name).toEqual([]);
      expect(w.err, name).toEqual([]);
      expect(w.exits, name).toEqual([]);
      // Nor a cache entry: a run the full command must answer leaves nothing behind.
      expect(existsSync(w.cache), name).toBe(false);
    }
  });

  it("reports the store's own refusal itself, as the command would (trying the store once, not twice), and remembers nothing", async () => {
    const w = await workspace();
    w.io.env.DETAILEE_DATABASE_URL = `sqlite:${w.dir}`; // a folder: no store opens there
    expect(await fastStatus(['status', '--json'], w.io)).toBe(true);
    const doc = JSON.parse(w.out.join('')) as { error: { code: string; exit: number; message: string } };
    expect(doc.error.exit).toBeGreaterThan(0);
    expect(w.exits).toEqual([doc.error.exit]);
    expect(doc.error.message).toContain(w.dir);
    expect(existsSync(w.cache)).toBe(false);
    const plain = await workspace();
    plain.io.env.DETAILEE_DATABASE_URL = `sqlite:${plain.dir}`;
    expect(await fastStatus(['status'], plain.io)).toBe(true);
    expect(plain.out).toEqual([]);
    expect(plain.err.join('')).toMatch(new RegExp(`^Error: .*\\n(  → .*\\n)+$`, 's'));
  });

  it('a validated config survives the cache unchanged (every key of a full config)', () => {
    const dir = tempDir('detailee-fast-');
    mkdirSync(join(dir, 'keys'));
    const text = [
      'store: sqlite:data/detailee.db',
      'timezone: Pacific/Auckland',
      'trust:',
      '  signers:',
      '    - {name: alan.turing, role: approver, publicKey: keys/a.pem, notBefore: 2025-01-01, notAfter: "2026-01-01T00:00:00Z"}',
      '    - {name: piv, role: sponsor, certificateSha256: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"}',
      '  caCertificates: [keys/ca.pem]',
      '  requiredRoles: [approver]',
      'targets:',
      '  ldap: {url: "ldap://127.0.0.1:389", bindDN: "cn=admin,dc=example,dc=gov", bindPasswordEnv: LDAP_PW, peopleDN: "ou=people,dc=example,dc=gov", groupsDN: "ou=groups,dc=example,dc=gov"}',
      'notices: {daysBefore: [30, 7], outbox: outbox}',
      'certificates: {signingKey: keys/cert.pem, outputDir: certs}',
    ].join('\n');
    const file = join(dir, 'detailee.yaml');
    writeFileSync(file, text);
    const parsed = validateConfigText(text, file);
    const roundTripped = JSON.parse(JSON.stringify(parsed)) as typeof parsed;
    expect(resolveConfig(roundTripped, file, {}, dir)).toEqual(loadConfig(file, {}, dir));
    expect(userCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/detailee');
  });

  it('JSON.stringify with two spaces is the document oclif itself prints without a theme (every command prints it so)', () => {
    const doc = { ranAt: '2025-06-06T06:00:00.000Z', revoked: [{ id: 'a', complete: false, wouldRevoke: true, targets: [] }], n: -1.5e-7, s: 'quote " and \\ and ü', none: null, t: true };
    expect(ux.colorizeJson(doc, { pretty: true })).toBe(JSON.stringify(doc, null, 2));
    expect(ux.colorizeJson([], { pretty: true })).toBe(JSON.stringify([], null, 2));
  });
});
