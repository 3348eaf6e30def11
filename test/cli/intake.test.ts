import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from '../helpers/scenario.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';
import { startCliServers, type CliServers } from '../helpers/servers.js';

/** The built CLI, end to end: intake, store and audit, with one real target (moto). */
const NOW = '2025-02-03T15:00:00Z';
let dir: string;
let approverKey: string;
let mfile: string;

function run(args: string[], now = NOW) {
  return cli(dir, [...args, '--json'], now);
}

function storeRows(sql: string): unknown[] {
  const db = new DatabaseSync(join(dir, 'detailee.db'));
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

let servers: CliServers;
afterAll(async () => {
  await servers?.stop();
});

beforeAll(async () => {
  servers = await startCliServers();
  dir = tempDir('detailee-cli-');
  expect(run(['init', '--dir', dir, '--timezone', 'America/New_York']).exit).toBe(0);
  const k = generateKeyPairSync('ed25519');
  approverKey = join(dir, 'approver.pem');
  writeFileSync(approverKey, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'approver.pub.pem'), k.publicKey.export({ type: 'spki', format: 'pem' }));
  const cfgPath = join(dir, 'detailee.yaml');
  const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  cfg.trust = { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem', notAfter: '2026-12-31' }], requiredRoles: ['approver'] };
  // AWS alone: the onboarding here has a target to record, and --issue-password has no LDAP one.
  cfg.targets = { aws: { region: 'us-east-1', endpoint: servers.servers.awsEndpoint, path: '/detailees/' } };
  writeFileSync(cfgPath, stringify(cfg));
  mfile = writeManifest(dir, manifest());
  expect(run(['assignment', 'sign', mfile, '--key', approverKey, '--kid', 'alan.turing']).exit).toBe(0);
});

describe('detailee CLI: intake', () => {
  it('prints its version and help', () => {
    const v = cli(dir, ['--version'], NOW);
    expect(v.exit).toBe(0);
    expect(String(v.json)).toMatch(/detailee\/0\.1\.0/);
    const h = cli(dir, ['onboard', '--help'], NOW);
    expect(String(h.json)).toMatch(/--dry-run/);
  });

  it('assignment verify --json has the documented shape', () => {
    const r = run(['assignment', 'verify', mfile]);
    expect(r.exit).toBe(0);
    expect(r.json).toMatchObject({
      id: 'irs-2025-0042',
      valid: true,
      signers: [{ name: 'alan.turing', role: 'approver', form: 'jws' }],
      term: { start: '2025-02-06', lastDay: '2025-06-05', endsAt: '2025-06-06T00:00:00-04:00', days: 120, renewalsLeft: 1 },
    });
  });

  it('a manifest changed after signing exits 3 and names the signature', () => {
    const copy = join(dir, 'tampered.yaml');
    writeFileSync(copy, readFileSync(mfile, 'utf8').replace('days: 120', 'days: 119'));
    writeFileSync(`${copy}.jws`, readFileSync(`${mfile}.jws`));
    const r = run(['assignment', 'verify', copy]);
    expect(r.exit).toBe(3);
    expect(r.json).toMatchObject({ valid: false });
    expect(JSON.stringify((r.json as { failures: unknown[] }).failures)).toMatch(/alan\.turing/);
  });

  it('an invalid manifest exits 2, names the field, and the store is untouched', () => {
    const before = storeRows('SELECT COUNT(*) AS n FROM audit');
    const bad = writeManifest(dir, manifest({ id: '../etc' }), 'bad.yaml');
    const r = run(['onboard', bad, '--yes']);
    expect(r.exit).toBe(2);
    expect((r.json as { error: { message: string } }).error.message).toMatch(/id: /);
    expect(storeRows('SELECT COUNT(*) AS n FROM audit')).toEqual(before);
  });

  it('onboard without a terminal and without --yes exits 2 and changes nothing', () => {
    const r = run(['onboard', mfile]);
    expect(r.exit).toBe(2);
    expect((r.json as { error: { code: string } }).error.code).toBe('confirm.no-tty');
    expect(storeRows('SELECT id FROM assignments')).toEqual([]);
  });

  it('onboard refuses a missing prerequisite with exit 2', () => {
    const m = manifest({ id: 'irs-2025-0043', prerequisites: { disclosureTraining: '2025-01-20', confidentialityAgreement: '2025-03-01' } });
    (m.detailee as Record<string, unknown>).username = 'other';
    const f = writeManifest(dir, m, 'prereq.yaml');
    expect(run(['assignment', 'sign', f, '--key', approverKey, '--kid', 'alan.turing']).exit).toBe(0);
    const r = run(['onboard', f, '--yes']);
    expect(r.exit).toBe(2);
    const msg = (r.json as { error: { message: string } }).error.message;
    expect(msg).toMatch(/backgroundInvestigation\.adjudicated is missing/);
    expect(msg).toMatch(/confidentialityAgreement \(2025-03-01\) is after the term start/);
  });

  it('onboard --issue-password without an LDAP target exits 2 before anything is recorded', () => {
    const m = manifest({ id: 'irs-2025-0044' });
    (m.detailee as Record<string, unknown>).username = 'nopass';
    const f = writeManifest(dir, m, 'nopass.yaml');
    expect(run(['assignment', 'sign', f, '--key', approverKey, '--kid', 'alan.turing']).exit).toBe(0);
    const before = storeRows('SELECT COUNT(*) AS n FROM audit');
    const r = run(['onboard', f, '--yes', '--issue-password'], '2025-02-05T15:00:00Z');
    expect(r.exit).toBe(2);
    expect((r.json as { error: { code: string } }).error.code).toBe('onboard.password');
    expect(storeRows("SELECT id FROM assignments WHERE id = 'irs-2025-0044'")).toEqual([]);
    expect(storeRows('SELECT COUNT(*) AS n FROM audit')).toEqual(before);
  });

  it('onboard records the assignment and says so when run again; status and show report it', () => {
    const first = run(['onboard', mfile, '--yes']);
    expect(first.exit).toBe(0);
    expect(first.json).toMatchObject({ id: 'irs-2025-0042', state: 'active', changed: true });
    const again = run(['onboard', mfile, '--yes']);
    expect(again.exit).toBe(0);
    expect(again.json).toMatchObject({ changed: false });
    const st = run(['status'], '2025-02-05T12:00:00Z');
    expect(st.json).toEqual([expect.objectContaining({ id: 'irs-2025-0042', display: 'scheduled', lastDay: '2025-06-05' })]);
    expect(st.stderr).toMatch(/nightly job .* never completed/);
    const sh = run(['show', 'irs-2025-0042'], '2025-06-01T12:00:00Z');
    expect(sh.json).toMatchObject({ state: 'active', daysLeft: 5, nextAction: expect.stringMatching(/expires/) });
    const kinds = (sh.json as { timeline: { kind: string }[] }).timeline.map((t) => t.kind);
    expect(kinds[0]).toBe('assignment.onboarding');
    expect(kinds.at(-1)).toBe('assignment.onboarded');
    expect(new Set(kinds.slice(1, -1))).toEqual(new Set(['step.applied']));
    expect((sh.json as { targets: { target: string; object: string }[] }).targets).toEqual([expect.objectContaining({ target: 'aws', object: expect.stringMatching(/:user\/detailees\/abyron$/) })]);
  });

  it('without a terminal, onboard and revoke refuse to ask (exit 2, human output too); on a terminal, revoke asks and "no" changes nothing', () => {
    const events = () => storeRows('SELECT COUNT(*) AS n FROM audit');
    const before = events();
    const other = manifest({ id: 'irs-2025-0045' });
    (other.detailee as Record<string, unknown>).username = 'notty';
    const f = writeManifest(dir, other, 'notty.yaml');
    expect(run(['assignment', 'sign', f, '--key', approverKey, '--kid', 'alan.turing']).exit).toBe(0);
    const onboard = cli(dir, ['onboard', f], NOW);
    expect(onboard.exit).toBe(2);
    expect(onboard.stderr).toMatch(/no terminal to ask on, and --yes was not given/);
    const revoke = cli(dir, ['revoke', 'irs-2025-0042', '--reason', 'test'], NOW);
    expect(revoke.exit).toBe(2);
    expect(revoke.stderr).toMatch(/Revoke all access for abyron .* no terminal to ask on/);
    expect(events()).toEqual(before);

    // A real pseudo-terminal (util-linux `script`); the answer is typed ahead and read by the prompt.
    const tty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin', 'run.js'))} revoke irs-2025-0042 --reason test`, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: NOW },
      input: 'n\r',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(tty.status, tty.stdout + tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/Revoke all access for abyron \(irs-2025-0042\) now\?/);
    expect(tty.stdout).toMatch(/Not confirmed: nothing was changed\./);
    expect(events()).toEqual(before);
    expect(storeRows("SELECT state FROM assignments WHERE id = 'irs-2025-0042'")).toEqual([{ state: 'active' }]);
  });

  it('status and show print tables a person can read: state, last day, days left, next action, and the timeline', () => {
    const st = cli(dir, ['status'], '2025-06-01T12:00:00Z');
    expect(st.exit).toBe(0);
    const lines = String(st.json).split('\n');
    expect(lines[0]).toMatch(/^ID\s+USER\s+STATE\s+/);
    expect(lines.find((l) => l.startsWith('irs-2025-0042'))).toMatch(/^irs-2025-0042\s+abyron\s+active\s+.*2025-06-05\s+5\s+/);
    const sh = cli(dir, ['show', 'irs-2025-0042'], '2025-06-01T12:00:00Z');
    expect(sh.exit).toBe(0);
    const text = String(sh.json);
    expect(text).toMatch(/^irs-2025-0042 \(abyron\) — active$/m);
    expect(text).toMatch(/term: {8}2025-02-06 to 2025-06-05 \(last day\), ends 2025-06-06T00:00:00-04:00 \[America\/New_York\]/);
    expect(text).toMatch(/days left: {3}5 {4}renewals left: 1/);
    expect(text).toMatch(/signed by: {3}alan\.turing \(approver, jws\)/);
    expect(text).toMatch(/next action: .*expires/);
    expect(text).toMatch(/SEQ\s+AT\s+ACTOR\s+EVENT\s+DETAIL/);
    expect(text).toMatch(/^\d+\s+2025-02-03T15:00:00\.000Z\s+\S+\s+assignment\.onboarding\s/m);
    expect(text).toMatch(/^\d+\s+\S+\s+\S+\s+assignment\.onboarded\s/m);
  });

  it('a different manifest for an existing id is refused', () => {
    const m = manifest({ purpose: 'Something else entirely.' });
    const f = writeManifest(dir, m, 'different.yaml');
    expect(run(['assignment', 'sign', f, '--key', approverKey, '--kid', 'alan.turing']).exit).toBe(0);
    const r = run(['onboard', f, '--yes']);
    expect(r.exit).toBe(2);
    expect((r.json as { error: { code: string } }).error.code).toBe('onboard.conflict');
  });

  it('expire --as-of forecasts only with --dry-run: the report has the documented shape and nothing changes', () => {
    const events = () => storeRows('SELECT COUNT(*) AS n FROM audit');
    const before = events();
    const refused = run(['expire', '--as-of', '2025-06-06']);
    expect(refused.exit).toBe(2);
    expect((refused.json as { error: { code: string; message: string } }).error).toMatchObject({ code: 'expire.as-of', message: expect.stringMatching(/only with --dry-run/) });
    expect(run(['expire', '--dry-run', '--as-of', '2025-02-30']).exit).toBe(2);

    const forecast = run(['expire', '--dry-run', '--as-of', '2025-06-06']);
    expect(forecast.exit, JSON.stringify(forecast.json)).not.toBe(2);
    const r = forecast.json as Record<string, unknown> & { revoked: { id: string }[] };
    expect(Object.keys(r).sort()).toEqual(['asOf', 'drift', 'dryRun', 'enabled', 'failed', 'lock', 'notices', 'ranAt', 'regressed', 'reproved', 'revoked']);
    // The start of 2025-06-06 in New York: the end of the 120-day term from 2025-02-06.
    expect(r).toMatchObject({ ranAt: '2025-02-03T15:00:00.000Z', asOf: '2025-06-06T04:00:00.000Z', dryRun: true });
    expect(r.revoked.map((x) => x.id), JSON.stringify(r)).toContain('irs-2025-0042');
    // Nothing was done, so nothing is complete: the entry says it would be revoked.
    expect(r.revoked.find((x) => x.id === 'irs-2025-0042')).toMatchObject({ complete: false, wouldRevoke: true });
    // A week before the end, the pre-expiry notices are what would go out; nothing is revoked yet.
    const week = run(['expire', '--dry-run', '--as-of', '2025-05-31']).json as { revoked: unknown[]; notices: { id: string; daysBefore: number }[] };
    expect(week.revoked).toEqual([]);
    expect(week.notices).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'irs-2025-0042', daysBefore: 7 })]));
    expect(events()).toEqual(before);
    expect(storeRows("SELECT state FROM assignments WHERE id = 'irs-2025-0042'")).toEqual([{ state: 'active' }]);

    // Progress: a line on a terminal, nothing through a pipe (cron) or with --json.
    const piped = cli(dir, ['expire', '--dry-run', '--as-of', '2025-06-06'], NOW);
    expect(piped.stderr).not.toMatch(/revoke: \d+\/\d+/);
    const onTty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin', 'run.js'))} expire --dry-run --as-of 2025-06-06`, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: NOW, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
      input: '',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(onTty.status, onTty.stdout).toBe(0);
    expect(onTty.stdout).toMatch(/revoke: 1\/1/);
    expect(onTty.stdout).toMatch(/Would revoke:/);
  });

  it('audit verify passes, export writes JSON Lines, and a checkpoint catches truncation', () => {
    expect(run(['audit', 'verify']).json).toMatchObject({ ok: true });
    const out = join(dir, 'audit.jsonl');
    const ex = run(['audit', 'export', '--out', out]);
    expect(ex.exit).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string });
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const cp = join(dir, 'cp.json');
    expect(run(['audit', 'checkpoint', '--out', cp]).exit).toBe(0);
    const db = new DatabaseSync(join(dir, 'detailee.db'));
    db.exec(`DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)`);
    db.close();
    expect(run(['audit', 'verify']).exit).toBe(0); // a truncated chain is still a chain…
    const v = run(['audit', 'verify', '--checkpoint', cp]);
    expect(v.exit).toBe(3); // …which only the checkpoint can expose
    expect(v.json).toMatchObject({ ok: false, checkpoint: { ok: false } });
  });

  it('audit verify exits 3 and names the first edited event', () => {
    const db = new DatabaseSync(join(dir, 'detailee.db'));
    db.exec(`UPDATE audit SET actor = 'someone-else' WHERE seq = 1`);
    db.close();
    const r = run(['audit', 'verify']);
    expect(r.exit).toBe(3);
    expect(r.json).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('an unknown flag is a usage error: exit 2 and one JSON document', () => {
    const r = run(['status', '--bogus']);
    expect(r.exit).toBe(2);
    expect(r.json).toMatchObject({ error: { code: 'usage' } });
  });
});

describe('detailee CLI: unsigned manifests', () => {
  it('a manifest with no signature beside it fails closed with exit 3', () => {
    const f = writeManifest(dir, manifest({ id: 'irs-2025-0099' }), 'unsigned.yaml');
    const r = run(['assignment', 'verify', f]);
    expect(r.exit).toBe(3);
    expect((r.json as { error: { code: string } }).error.code).toBe('signature.missing');
    expect(run(['onboard', f, '--yes']).exit).toBe(3);
  });
});
