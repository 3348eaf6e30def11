import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetUserCommand, GetUserPolicyCommand, ListGroupsForUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { cli, prepare, ROOT } from '../helpers/scenario.js';
import { createTestSchema, type TestSchema } from '../helpers/pg.js';
import { tempDir } from '../helpers/manifest.js';
import { signedExample, startCliServers, type CliServers } from '../helpers/servers.js';

/**
 * Two real processes against one assignment, on the embedded store and on PostgreSQL: a revoke
 * that arrives while an onboarding is applying wins, and one amendment applied by two operators
 * at once extends the term once. The onboarding is held between two steps by its pause hook
 * (it waits for a file), so the interleaving is exact without any sleep in the test.
 */
let s: CliServers;
let pg: TestSchema;
const AT = '2025-02-05T15:00:00Z';

beforeAll(async () => {
  [s, pg] = await Promise.all([startCliServers(), createTestSchema()]);
});
afterAll(async () => {
  await Promise.all([s?.stop(), pg?.drop()]);
});

interface Run {
  exit: Promise<number>;
  stdout: () => string;
  /** Resolves when the process writes `text` to stderr. */
  saw: (text: string) => Promise<void>;
}

function start(dir: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {
    cwd: dir,
    env: { ...process.env, DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: AT, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    err += d;
    for (const w of waiters.filter((x) => err.includes(x.text))) w.resolve();
  });
  const exit = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    exit,
    stdout: () => out,
    saw: (text) =>
      new Promise<void>((resolve, reject) => {
        if (err.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exit.then((code) => reject(new Error(`exited ${code} before writing ${JSON.stringify(text)}; stderr: ${err}`)));
      }),
  };
}

async function setup(kind: 'sqlite' | 'postgres'): Promise<{ dir: string; approverPem: string }> {
  const dir = tempDir(`detailee-race-${kind}-`);
  const approverPem = readFileSync(prepare(dir, s.servers).approverKey, 'utf8');
  if (kind === 'postgres') {
    const cfgPath = join(dir, 'detailee.yaml');
    const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    cfg.store = pg.url;
    writeFileSync(cfgPath, stringify(cfg));
    expect(cli(dir, ['migrate', '--json'], AT).exit).toBe(0);
  }
  return { dir, approverPem };
}

describe.each(['sqlite', 'postgres'] as const)('races between two processes (%s store)', (kind) => {
  it('a revoke during an onboarding wins: the onboarding stops before its next step, and the revocation is proven on every target it touched', async () => {
    const { dir, approverPem } = await setup(kind);
    const user = `race${kind.slice(0, 2)}`;
    const id = `race-${kind}-1`;
    const f = signedExample(dir, approverPem, id, user);
    const go = join(dir, 'go');
    // Steps 1-3 are LDAP (entry, term, group); step 4 creates the IAM user.
    const onboarding = start(dir, ['onboard', f, '--yes', '--json'], { DETAILEE_PAUSE_AFTER_STEP: '4', DETAILEE_PAUSE_FILE: go });
    await onboarding.saw('paused after step 4');

    const revoke = cli(dir, ['revoke', id, '--reason', 'credentials compromised', '--yes', '--json'], AT);
    expect(revoke.exit, revoke.stderr).toBe(0);
    expect(revoke.json).toMatchObject({ complete: true, state: 'revoked' });

    writeFileSync(go, '');
    expect(await onboarding.exit).toBe(1);
    const result = JSON.parse(onboarding.stdout()) as { state: string; message: string };
    expect(result.state).toBe('revoked');
    expect(result.message).toMatch(/stopped/);

    // The IAM user onboarding made before the revoke is denied everything; nothing was added after.
    const iam = await s.moto.iam();
    expect((await iam.send(new GetUserCommand({ UserName: user }))).User?.UserName).toBe(user);
    const deny = await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: 'detailee-revoked' }));
    expect(decodeURIComponent(deny.PolicyDocument ?? '')).toMatch(/"Deny"/);
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: user }))).Groups).toEqual([]);
    await expect(iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: 'detailee-term' }))).rejects.toThrow();

    const show = cli(dir, ['show', id, '--json'], AT).json as { state: string; revocation: { condition: string; proven: { target: string }[] }; targets: { target: string }[] };
    expect(show.state).toBe('revoked');
    expect(show.targets.map((t) => t.target)).toEqual(['ldap', 'aws']);
    expect(show.revocation.condition).toBe('proven');
    expect(show.revocation.proven.map((p) => p.target).sort()).toEqual(['aws', 'ldap']);

    // A later nightly run re-proves it from live reads and finds it still revoked.
    const night = cli(dir, ['expire', '--json'], '2025-02-06T06:00:00Z');
    expect(night.exit, night.stderr).toBe(0);
    expect(night.json).toMatchObject({ regressed: [], reproved: 1 });
  }, 180_000);

  it('the same amendment applied by two operators at once extends the term once', async () => {
    const { dir, approverPem } = await setup(kind);
    const user = `amend${kind.slice(0, 2)}`;
    const id = `amend-${kind}-1`;
    const f = signedExample(dir, approverPem, id, user);
    expect(cli(dir, ['onboard', f, '--yes', '--json'], AT).exit).toBe(0);
    const before = (cli(dir, ['show', id, '--json'], AT).json as { endsAt: string }).endsAt;
    const amendment = join(dir, `${id}-amendment.yaml`);
    writeFileSync(amendment, stringify({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment: id, renewalDays: 60, reason: 'Second phase of the work.' }));
    writeFileSync(`${amendment}.jws`, signJws(readFileSync(amendment), undefined, approverPem, 'alan.turing'));

    const runs = [start(dir, ['renew', id, amendment, '--yes', '--json']), start(dir, ['renew', id, amendment, '--yes', '--json'])];
    const exits = await Promise.all(runs.map((r) => r.exit));
    const outputs = runs.map((r) => JSON.parse(r.stdout()) as { changed?: boolean; error?: { code: string } });
    // Each run either applied it, found it applied, or was told another run changed the assignment.
    for (const [i, o] of outputs.entries()) {
      if (exits[i] === 0) continue;
      // A failure names itself: which error, with what message (a busy store, a target error).
      expect(exits[i], JSON.stringify(o)).toBe(2);
      expect(o.error?.code).toBe('renew.conflict');
    }
    expect(outputs.filter((o) => o.changed === true)).toHaveLength(1);

    const after = cli(dir, ['show', id, '--json'], AT).json as { endsAt: string; renewalsLeft: number };
    expect(after.renewalsLeft).toBe(0);
    expect(Date.parse(after.endsAt) - Date.parse(before)).toBeGreaterThanOrEqual(59 * 86_400_000);
    expect(Date.parse(after.endsAt) - Date.parse(before)).toBeLessThanOrEqual(61 * 86_400_000);
    // A third run of the same amendment changes nothing.
    expect(cli(dir, ['renew', id, amendment, '--yes', '--json'], AT).json).toMatchObject({ changed: false });
  }, 180_000);
});
