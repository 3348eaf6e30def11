import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { signedExample, startCliServers, type CliServers } from '../helpers/servers.js';

/** The built CLI's onboard and revoke against a real slapd and moto: the plan table, a first password, a target down. */
let s: CliServers;
let dir: string;
let approverPem: string;
const AT = '2025-02-05T15:00:00Z';

beforeAll(async () => {
  s = await startCliServers();
  dir = tempDir('detailee-onboard-revoke-');
  approverPem = readFileSync(prepare(dir, s.servers).approverKey, 'utf8');
});
afterAll(async () => {
  await s?.stop();
});

function signed(id: string, username: string): string {
  return signedExample(dir, approverPem, id, username);
}

/** spawnSync holds the event loop: drain the servers' log pipes after each run. */
async function run(args: string[], now = AT): Promise<StepOutput> {
  const out = cli(dir, args, now);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

function storeBytes(): Buffer {
  const store = (parse(readFileSync(join(dir, 'detailee.yaml'), 'utf8')) as { store: string }).store.replace(/^sqlite:/, '');
  const path = join(dir, store);
  let wal = Buffer.alloc(0);
  try {
    wal = readFileSync(`${path}-wal`);
  } catch {
    /* checkpointed and removed at close */
  }
  return Buffer.concat([readFileSync(path), wal]);
}

describe('onboard and revoke through the CLI', () => {
  it('--dry-run prints the plan as a table (target, step, detail) and changes nothing', async () => {
    const f = signed('cli-dry-1', 'clidry');
    const out = await run(['onboard', f, '--dry-run']);
    expect(out.exit, out.stderr).toBe(0);
    const text = String(out.json);
    expect(text).toMatch(/TARGET\s+STEP\s+DETAIL/);
    expect(text).toMatch(/^ldap\s+create entry\s+.*uid=clidry/m);
    expect(text).toMatch(/^aws\s+create user\s+create \/detailees\/clidry for cli-dry-1/m);
    expect(text).toMatch(/Dry run: nothing was changed\./);
    expect((await run(['show', 'cli-dry-1', '--json'])).exit).toBe(2);
  });

  it('--issue-password shows the password once, stores only the server hash with pwdReset, and records no copy of it', async () => {
    const f = signed('cli-pw-1', 'clipw');
    const out = await run(['onboard', f, '--yes', '--issue-password', '--json']);
    expect(out.exit, out.stderr).toBe(0);
    const pw = (out.json as { initialPassword: string }).initialPassword;
    expect(pw).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const entry = await s.slapd.admin((c) =>
      c.search(`uid=clipw,${s.slapd.peopleDN}`, { scope: 'base', attributes: ['userPassword', 'pwdReset'], explicitBufferAttributes: ['userPassword'] }),
    );
    const stored = (entry.searchEntries[0]!.userPassword as Buffer).toString('utf8');
    expect(stored).toMatch(/^\{SSHA|^\{ARGON2|^\{CRYPT|^\{PBKDF2/);
    expect(stored).not.toContain(pw);
    expect(entry.searchEntries[0]!.pwdReset).toBe('TRUE');
    expect(storeBytes().includes(Buffer.from(pw))).toBe(false);
    const exported = await run(['audit', 'export']);
    expect(String(exported.json)).not.toContain(pw);
    expect(String(exported.json)).toMatch(/"kind":"password\.issued"/);
    expect(out.stderr).not.toContain(pw);
    // Human output names it once, as shown-once.
    const again = signed('cli-pw-2', 'clipw2');
    const human = await run(['onboard', again, '--yes', '--issue-password']);
    const lines = String(human.json).split('\n').filter((l) => /Initial LDAP password \(shown once, must be changed at first login\): \S{24}$/.test(l));
    expect(lines).toHaveLength(1);
  });

  it('revoke with the directory down: exit 1, per-target result, the failure journaled and audited; a re-run after it is back finishes (exit 0)', async () => {
    const f = signed('cli-rev-1', 'clirev');
    expect((await run(['onboard', f, '--yes', '--json'])).exit).toBe(0);
    // Without --issue-password no password is set at all (the detailee signs in by the agency's SSO).
    const entry = await s.slapd.admin((c) => c.search(`uid=clirev,${s.slapd.peopleDN}`, { scope: 'base', attributes: ['userPassword', 'pwdReset'] }));
    expect(entry.searchEntries[0]).toMatchObject({ userPassword: [], pwdReset: [] });
    s.slapd.kill();
    let down: StepOutput;
    try {
      down = await run(['revoke', 'cli-rev-1', '--reason', 'left early', '--yes', '--json'], '2025-03-01T15:00:00Z');
    } finally {
      await s.slapd.restart();
    }
    expect(down.exit).toBe(1);
    const r = down.json as { complete: boolean; state: string; targets: { target: string; ok: boolean; error?: string }[] };
    expect(r).toMatchObject({ complete: false, state: 'revoked' });
    expect(r.targets.find((t) => t.target === 'aws')).toMatchObject({ ok: true });
    expect(r.targets.find((t) => t.target === 'ldap')).toMatchObject({ ok: false, error: expect.stringMatching(/LDAP ldap:\/\/127\.0\.0\.1:\d+/) });
    const events = String((await run(['audit', 'export'])).json)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; assignmentId: string; details: { targets?: { target: string; ok: boolean; pending: string[] }[] } });
    const incomplete = events.filter((e) => e.kind === 'revocation.incomplete' && e.assignmentId === 'cli-rev-1');
    expect(incomplete).toHaveLength(1);
    // A first revocation plans from the onboarding record, so the directory being down shows at the
    // first write: the journal says so (ldap.lock failed), every LDAP step is still pending, and the
    // re-run reads the entry, plans and applies them all.
    const ldap = incomplete[0]!.details.targets!.find((t) => t.target === 'ldap')!;
    expect(ldap.ok).toBe(false);
    expect(ldap.pending[0]).toBe('ldap.lock');
    expect(ldap.pending.filter((p) => p.startsWith('ldap.group.remove')).length).toBeGreaterThan(0);
    const journal = ((await run(['show', 'cli-rev-1', '--json'], '2025-03-01T15:00:00Z')).json as { journal: { operation: string; step: string; status: string }[] }).journal.filter((j) => j.operation === 'revoke');
    expect(journal).toEqual(expect.arrayContaining([expect.objectContaining({ step: 'ldap.lock', status: 'failed' })]));
    expect(journal.filter((j) => j.step.startsWith('ldap.') && j.status === 'done')).toEqual([]);

    const back = await run(['revoke', 'cli-rev-1', '--reason', 'left early', '--yes', '--json'], '2025-03-01T15:00:00Z');
    expect(back.exit, JSON.stringify(back.json)).toBe(0);
    expect(back.json).toMatchObject({ complete: true, state: 'revoked' });
    expect((await run(['show', 'cli-rev-1', '--json'], '2025-03-01T15:00:00Z')).json).toMatchObject({ state: 'revoked', revocationComplete: true });
  });
});
