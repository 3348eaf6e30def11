import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cli, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { startPasswordCluster, type PasswordCluster } from '../helpers/pg-cluster.js';

/**
 * The PostgreSQL store's password comes from the environment (PGPASSWORD) or a PGPASSFILE, never
 * from the config, and is never printed — against a private server that really demands it.
 */
let pg: PasswordCluster;
let dir: string;
const NOW = '2025-02-05T15:00:00Z';

beforeAll(async () => {
  pg = await startPasswordCluster();
  dir = tempDir('detailee-pgpw-cli-');
  writeFileSync(join(dir, 'detailee.yaml'), stringify({ store: `postgres://${pg.user}@127.0.0.1:${pg.port}/${pg.database}`, timezone: 'America/New_York' }));
});
afterAll(async () => {
  await pg?.stop();
});

/** The CLI with no password in its environment but what the case gives it. */
function run(args: string[], env: Record<string, string>): StepOutput {
  const { PGPASSWORD: _p, PGPASSFILE: _f, ...rest } = process.env;
  void _p;
  void _f;
  const saved = process.env;
  process.env = rest;
  try {
    return cli(dir, [...args, '--json'], NOW, env);
  } finally {
    process.env = saved;
  }
}

function passfile(name: string, password: string, mode = 0o600): string {
  const f = join(dir, name);
  writeFileSync(f, `127.0.0.1:${pg.port}:${pg.database}:${pg.user}:${password}\n`, { mode });
  return f;
}

function expectNoSecret(out: StepOutput, ...secrets: string[]): void {
  const text = `${JSON.stringify(out.json)}\n${out.stderr}`;
  for (const s of secrets) expect(text).not.toContain(s);
}

describe('a PostgreSQL store that demands a password', () => {
  it('from a PGPASSFILE: migrate and status work, and the password is printed nowhere', () => {
    const env = { PGPASSFILE: passfile('pgpass', pg.password) };
    const migrate = run(['migrate'], env);
    expect(migrate.exit, JSON.stringify(migrate.json)).toBe(0);
    const status = run(['status'], env);
    expect(status.exit).toBe(0);
    expect(status.json).toEqual([]);
    expectNoSecret(migrate, pg.password);
    expectNoSecret(status, pg.password);
  });

  it('from PGPASSWORD: status works', () => {
    const status = run(['status'], { PGPASSWORD: pg.password });
    expect(status.exit, JSON.stringify(status.json)).toBe(0);
    expectNoSecret(status, pg.password);
  });

  it('a wrong password (PGPASSFILE, PGPASSWORD or the URL): exit 1, store.auth naming where passwords come from, no password printed', () => {
    const wrong = 'Wr0ng-Passw0rd-xyz';
    const urlConfig = join(dir, 'url.yaml');
    writeFileSync(urlConfig, stringify({ store: `postgres://${pg.user}:${wrong}@127.0.0.1:${pg.port}/${pg.database}`, timezone: 'America/New_York' }));
    const cases: Record<string, string>[] = [{ PGPASSFILE: passfile('pgpass-wrong', wrong) }, { PGPASSWORD: wrong }, { DETAILEE_CONFIG: urlConfig }];
    for (const env of cases) {
      const out = run(['status'], env);
      expect(out.exit, JSON.stringify(env)).toBe(1);
      const error = (out.json as { error: { code: string; message: string; actions: string[] } }).error;
      expect(error.code).toBe('store.auth');
      expect(error.message).toMatch(/refused the login: password authentication failed/);
      expect(error.actions.join(' ')).toMatch(/PGPASSWORD or PGPASSFILE/);
      expectNoSecret(out, wrong, pg.password);
    }
  });

  it('no password at all: exit 1 with a message saying one is needed and where it comes from', () => {
    const out = run(['status'], { PGPASSFILE: join(dir, 'no-such-pgpass') });
    expect(out.exit, JSON.stringify(out.json)).toBe(1);
    const error = (out.json as { error: { code: string; message: string; actions: string[] } }).error;
    expect(error.code, JSON.stringify(out.json)).toBe('store.auth');
    expect(error.actions.join(' ')).toMatch(/PGPASSWORD or PGPASSFILE/);
    expectNoSecret(out, pg.password);
  });
});
