import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/scenario.js';
import { HEARTBEAT_KEY } from '../../src/lifecycle/status.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/manifest.js';
import { makeRecord } from '../helpers/pg.js';

/**
 * The built CLI as a user types it, on a machine where nothing is configured: $HOME and the XDG
 * folders point at an empty folder of the test's own, and no DETAILEE_* variable is set.
 */
const RUN = join(ROOT, 'bin', 'run.js');
const NOW = '2025-03-01T12:00:00Z';

interface Run {
  exit: number | null;
  stdout: string;
  stderr: string;
}

function clean(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DETAILEE_') && !k.startsWith('XDG_')) env[k] = v;
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), XDG_CACHE_HOME: join(home, '.cache'), DETAILEE_NOW: NOW, ...extra };
}

function run(cwd: string, home: string, args: string[], extra: Record<string, string> = {}, node = process.execPath): Run {
  const r = spawnSync(node, [RUN, ...args], { cwd, env: clean(home, extra), encoding: 'utf8', input: '' });
  return { exit: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runAsync(cwd: string, home: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [RUN, ...args], { cwd, env: clean(home), encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ exit: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Every command id, from the built command files (what oclif itself discovers). */
function commandIds(): string[] {
  const base = join(ROOT, 'dist', 'commands');
  const ids: string[] = [];
  const walk = (dir: string, prefix: string[]) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), [...prefix, e.name]);
      else if (e.name.endsWith('.js')) ids.push([...prefix, e.name.slice(0, -3)].join(' '));
    }
  };
  walk(base, []);
  return ids.sort();
}

describe('the CLI on an unconfigured machine', () => {
  let home: string;
  let cwd: string;
  beforeAll(() => {
    home = tempDir('detailee-home-');
    cwd = tempDir('detailee-cwd-');
  });

  it.each([
    [['status'], {}],
    [['status', '--json'], {}],
    [['status'], { DETAILEE_FAST_START: '0' }],
    [['expire'], {}],
    [['expire', '--json'], {}],
    [['audit', 'verify'], {}],
    [['show', 'irs-2025-0042'], {}],
  ] as [string[], Record<string, string>][])('%j refuses with exit 2, points at `detailee init`, and creates nothing', (args, extra) => {
    const r = run(cwd, home, args, extra);
    expect(r.exit, r.stderr).toBe(2);
    if (args.includes('--json')) {
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'config.none', exit: 2, actions: [expect.stringMatching(/detailee init/)] } });
    } else {
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Error: No config found: .*\n {2}→ Run `detailee init`/);
    }
    expect(readdirSync(home)).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a config that names no store refuses too (exit 2, naming the file and the key), and creates no store', () => {
    const dir = tempDir('detailee-nostore-');
    writeFileSync(join(dir, 'detailee.yaml'), 'timezone: America/New_York\n');
    for (const extra of [{}, { DETAILEE_FAST_START: '0' }] as Record<string, string>[]) {
      const r = run(dir, home, ['status'], extra);
      expect(r.exit).toBe(2);
      expect(r.stderr).toMatch(/The config .*detailee\.yaml names no store/);
      expect(r.stderr).toMatch(/store: sqlite:detailee\.db/);
    }
    expect(readdirSync(dir)).toEqual(['detailee.yaml']);
    expect(readdirSync(home)).toEqual([]);
  });

  it('init from flags writes a complete config with every section, and status then accepts it', () => {
    const dir = tempDir('detailee-init-');
    const r = run(dir, home, [
      'init',
      '--timezone', 'America/Chicago',
      '--ldap-url', 'ldaps://ldap.irs.example.gov',
      '--ldap-bind-dn', 'cn=detailee,ou=services,dc=irs,dc=example,dc=gov',
      '--ldap-bind-password-file', 'secrets/ldap-password',
      '--ldap-people-dn', 'ou=people,dc=irs,dc=example,dc=gov',
      '--ldap-groups-dn', 'ou=groups,dc=irs,dc=example,dc=gov',
      '--aws-region', 'us-east-1',
      '--notices-from', 'detailee@irs.example.gov',
      '--signer', 'alan.turing:approver:keys/alan.turing.pub.pem',
      '--json',
    ]);
    expect(r.exit, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { config: string; store: string; todo: string[] };
    expect(out.config).toBe(join(dir, 'detailee.yaml'));
    expect(out.todo).toEqual([expect.stringMatching(/Write the LDAP bind password to .*secrets\/ldap-password/)]);
    const text = readFileSync(out.config, 'utf8');
    const cfg = parse(text) as Record<string, Record<string, unknown>>;
    expect(cfg).toMatchObject({
      store: 'sqlite:detailee.db',
      timezone: 'America/Chicago',
      trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'keys/alan.turing.pub.pem' }], requiredRoles: ['approver'] },
      targets: {
        ldap: { url: 'ldaps://ldap.irs.example.gov', bindPasswordFile: 'secrets/ldap-password', peopleDN: 'ou=people,dc=irs,dc=example,dc=gov' },
        aws: { region: 'us-east-1', path: '/detailees/' },
      },
      notices: { outbox: 'outbox', from: 'detailee@irs.example.gov' },
      certificates: { signingKey: 'keys/certificate-signing.pem', outputDir: 'certificates' },
    });
    // Commented: what is left to fill says how.
    expect(text).toMatch(/^ +# smtp:\n +# +host: /m);
    expect(text).toMatch(/^# Who may sign assignment manifests/m);
    expect(existsSync(join(dir, 'detailee.db'))).toBe(true);
    expect(existsSync(join(dir, 'keys', 'certificate-signing.pem'))).toBe(true);
    const st = run(dir, home, ['status']);
    expect(st.exit, st.stderr).toBe(0);
    expect(st.stdout).toBe('No assignments recorded.\n');
    // Only the fast status start's cache of the validated config, under $XDG_CACHE_HOME.
    expect(readdirSync(home).filter((n) => n !== '.cache')).toEqual([]);
  });

  it('init without flags and without a terminal never asks: the targets are commented-out examples, and it says what is left', () => {
    const dir = tempDir('detailee-init-plain-');
    const r = run(dir, home, ['init']);
    expect(r.exit, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Before the first onboarding:\n {2}- Add the approvers who sign manifests under trust\.signers in /);
    expect(r.stdout).toMatch(/Add the LDAP and\/or AWS target/);
    const text = readFileSync(join(dir, 'detailee.yaml'), 'utf8');
    expect(text).toMatch(/^ {2}# ldap:\n {2}# {3}url: ldaps:\/\//m);
    expect(text).toMatch(/^ {2}# aws:/m);
    expect(parse(text)).toMatchObject({ store: 'sqlite:detailee.db', timezone: 'America/New_York', targets: {} });
  });

  it('init with half a target refuses (exit 2, naming the missing flags) and writes nothing', () => {
    const dir = tempDir('detailee-init-half-');
    const r = run(dir, home, ['init', '--ldap-url', 'ldaps://ldap.example.gov', '--aws-region', 'us-east-1']);
    expect(r.exit).toBe(2);
    expect(r.stderr).toMatch(/The LDAP target is incomplete: --ldap-bind-dn, --ldap-bind-password-file, --ldap-people-dn, --ldap-groups-dn are missing/);
    const bad = run(dir, home, ['init', '--aws-region', 'mars-1']);
    expect(bad.exit).toBe(2);
    expect(bad.stderr).toMatch(/targets\.aws\.region/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('CLI habits', () => {
  let dir: string;
  let home: string;
  beforeAll(async () => {
    home = tempDir('detailee-home-');
    dir = tempDir('detailee-habits-');
    writeFileSync(join(dir, 'detailee.yaml'), 'store: sqlite:detailee.db\ntimezone: America/New_York\n');
    const store = await SqliteStore.open(join(dir, 'detailee.db'));
    await store.transaction(async (tx) => {
      for (let i = 1; i <= 40; i++) await tx.insertAssignment(makeRecord(`irs-2025-${String(i).padStart(4, '0')}`, { start: '2025-01-06' }));
      await tx.insertAssignment(makeRecord('irs-2024-0099', { start: '2024-09-02', state: 'expired' }));
      await tx.setMeta(HEARTBEAT_KEY, { at: '2025-03-01T06:00:00.000Z' });
      for (let i = 1; i <= 1200; i++) await tx.appendAudit({ at: '2025-03-01T06:00:00.000Z', actor: 'cron', kind: 'test.event', assignmentId: null, details: { i } });
    });
    await store.close();
  });

  // One CLI start per command: a few at a time, since each start is mostly waiting on a loaded machine.
  it('every command\'s --help has EXAMPLES that use the command itself', async () => {
    const ids = commandIds();
    expect(ids).toEqual(expect.arrayContaining(['init', 'status', 'expire', 'offboard', 'audit verify', 'store copy']));
    const missing: string[] = [];
    const queue = [...ids];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const r = await runAsync(dir, home, [...id.split(' '), '--help']);
          const examples = r.stdout.split('\nEXAMPLES\n')[1] ?? '';
          if (r.exit !== 0 || !new RegExp(`^ +\\$ detailee ${id}\\b`, 'm').test(examples)) missing.push(id);
        }
      }),
    );
    expect(missing).toEqual([]);
  }, 240_000);

  it('-h is help, for the CLI and for a command', () => {
    const top = run(dir, home, ['-h']);
    expect(top.exit).toBe(0);
    expect(top.stdout).toMatch(/^USAGE\n {2}\$ detailee \[COMMAND\]/m);
    const cmd = run(dir, home, ['status', '-h']);
    expect(cmd.exit).toBe(0);
    expect(cmd.stdout).toMatch(/^USAGE\n {2}\$ detailee status/m);
    expect(cmd.stdout).toMatch(/^EXAMPLES$/m);
  });

  it('a mistyped command names the command it most likely meant (exit 2, also as JSON)', () => {
    const r = run(dir, home, ['stauts']);
    expect(r.exit).toBe(2);
    expect(r.stderr).toBe('Error: stauts is not a detailee command. Did you mean `detailee status`?\n  → Run `detailee --help` for the list of commands.\n');
    const topic = run(dir, home, ['audit', 'verfy']);
    expect(topic.stderr).toMatch(/Did you mean `detailee audit verify`\?/);
    const json = run(dir, home, ['certifcate', 'verify', 'x.pdf', '--json']);
    expect(json.exit).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'usage.command', message: expect.stringMatching(/Did you mean `detailee certificate verify`\?/) } });
    expect(run(dir, home, ['xyzzy']).stderr).toBe('Error: xyzzy is not a detailee command.\n  → Run `detailee --help` for the list of commands.\n');
  });

  it('shell completion: the bash setup line names the CLI', () => {
    const r = run(dir, home, ['autocomplete', 'script', 'bash']);
    expect(r.exit, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DETAILEE_AC_BASH_SETUP_PATH=.*detailee\/autocomplete\/bash_setup/);
  });

  it.each([
    ['the fast start', {}],
    ['the full command', { DETAILEE_FAST_START: '0' }],
  ])('status | head -1 and a reader that closes at once end quietly with exit 0 (%s)', (_, extra) => {
    for (const reader of ['head -1', 'true']) {
      for (const json of ['', ' --json']) {
        const r = spawnSync('bash', ['-c', `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(RUN)} status${json} | ${reader} >/dev/null`], {
          cwd: dir,
          env: clean(home, extra),
          encoding: 'utf8',
        });
        expect([reader, json, r.status, r.stderr]).toEqual([reader, json, 0, '']);
      }
    }
  });

  it('audit verify shows its progress on a terminal, and none through a pipe', () => {
    const piped = run(dir, home, ['audit', 'verify']);
    expect(piped.exit, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/^Audit log intact: 1200 events/);
    expect(piped.stderr).toBe('');
    const tty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(RUN)} audit verify`, '/dev/null'], { cwd: dir, env: clean(home), input: '', encoding: 'utf8', timeout: 60_000 });
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/audit verify: 1000\/1200\r.*audit verify: 1200\/1200/s);
    expect(tty.stdout).toMatch(/Audit log intact: 1200 events/);
  });

  it('next-action hints name the real assignment, never a placeholder', () => {
    const r = run(dir, home, ['status', '--json']);
    const rows = JSON.parse(r.stdout) as { id: string; nextAction: string }[];
    // Expired with no proven revocation on record: the hint says how to finish it, by its id.
    expect(rows.find((x) => x.id === 'irs-2024-0099')?.nextAction).toBe(
      'finish the revocation: `detailee offboard irs-2024-0099` or the nightly job; `detailee show irs-2024-0099` names what is unproven',
    );
    expect(r.stdout).not.toMatch(/\bID\b/);
  });

  it('everything a message or the README refers to in the project exists, and nothing points outside it', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const sources = [readme, ...['src', 'commands', 'templates'].flatMap((d) => filesUnder(join(ROOT, d)).map((f) => readFileSync(f, 'utf8')))];
    for (const s of sources) expect(s).not.toMatch(/DOMAIN\.md|\.\.\/shared/);
    for (const ref of new Set([...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!))) expect(existsSync(join(ROOT, ref)), ref).toBe(true);
    expect(existsSync(join(ROOT, 'docs', 'rules.md'))).toBe(true);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|ya?ml|md|mustache)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** The machine's own Node when it is older than the CLI needs (PATH without the test's prefix). */
function oldNode(): { path: string; version: string } | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    const p = join(d, 'node');
    if (!existsSync(p)) continue;
    const v = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    const [a, b] = v.split('.').map(Number) as [number, number];
    if (a < 22 || (a === 22 && b < 22)) return { path: p, version: v };
  }
  return undefined;
}

describe('an unsupported Node', () => {
  const old = oldNode();
  it('package.json engines and the entry points\' check name the same version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const check = readFileSync(join(ROOT, 'bin', 'node-check.js'), 'utf8');
    const need = /var NEED = \[(\d+), (\d+), (\d+)\]/.exec(check)!.slice(1).join('.');
    expect(pkg.engines.node).toBe(`>=${need}`);
  });

  it.skipIf(old === undefined)('every entry point prints one line naming both versions and exits 2', () => {
    const home = tempDir('detailee-home-');
    for (const [entry, args] of [
      ['run.js', ['status']],
      ['run.js', ['--version']],
      ['run.js', ['init', '--help']],
      ['dev.js', ['status']],
    ] as const) {
      const r = spawnSync(old!.path, [join(ROOT, 'bin', entry), ...args], { cwd: home, env: clean(home), encoding: 'utf8' });
      expect([entry, r.status, r.stdout, r.stderr]).toEqual([entry, 2, '', `detailee needs Node.js >= 22.22.0; this is Node.js ${old!.version}.\n`]);
    }
    expect(readdirSync(home)).toEqual([]);
  });
});
