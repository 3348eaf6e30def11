import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import type { Moto } from '../helpers/moto.js';
import { startCliServers } from '../helpers/servers.js';
import type { Slapd } from '../helpers/slapd.js';

/**
 * The LDAP bind password and the private keys never leave the files they live in: not through
 * any command's output (human or --json), not into the store (raw bytes, WAL included), the audit
 * export, the notices or the certificates. Every command runs once against a real slapd and moto,
 * then every byte the tool wrote is searched for every form of the secrets.
 */

const ID = 'irs-2025-0042';
let slapd: Slapd;
let moto: Moto;
let dir: string;
let approverKey: string;
let signingKey: string;
let passwordFile: string;
const outputs: StepOutput[] = [];
let certificateFiles: Record<string, string> = {};
/** Held open through the run, so the last CLI process to close the store leaves its WAL behind to be searched. */
let walHolder: DatabaseSync | undefined;
/** offboard without answers, run while the signing key was mode 0644: it reads the key, then stops at exit 2. */
let offboardWithOpenKey: StepOutput | undefined;
let cachedNeedles: { what: string; value: string }[] | undefined;

function run(args: string[], now: string, options: { json?: boolean; expectExit?: number; env?: Record<string, string> } = {}): StepOutput {
  const r = cli(dir, options.json === false ? args : [...args, '--json'], now, options.env ?? {});
  outputs.push(r);
  expect(r.exit, `${args.join(' ')} → ${typeof r.json === 'string' ? r.json : JSON.stringify(r.json)}\n${r.stderr}`).toBe(options.expectExit ?? 0);
  return r;
}

/** Both output modes print different things, so the read-only commands run in both. */
function runBoth(args: string[], now: string): void {
  run(args, now);
  run(args, now, { json: false });
}

/** Every form a secret could leak in: as written, and the encodings a careless log line might use. */
function needles(): { what: string; value: string }[] {
  if (cachedNeedles) return cachedNeedles;
  const password = readFileSync(passwordFile, 'utf8').trim();
  const out = [
    { what: 'LDAP bind password', value: password },
    { what: 'LDAP bind password (base64)', value: Buffer.from(password).toString('base64') },
  ];
  for (const [what, path] of [
    ['approver private key', approverKey],
    ['certificate signing key', signingKey],
  ] as const) {
    const pem = readFileSync(path, 'utf8');
    for (const line of pem.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('-----'))) out.push({ what: `${what} PEM line`, value: line.trim() });
    const d = createPrivateKey(pem).export({ format: 'jwk' }).d!;
    out.push({ what: `${what} (JWK d)`, value: d });
    out.push({ what: `${what} (hex)`, value: Buffer.from(d, 'base64url').toString('hex') });
    out.push({ what: `${what} (base64)`, value: Buffer.from(d, 'base64url').toString('base64') });
  }
  cachedNeedles = out;
  return out;
}

function leaks(bytes: Buffer | string, where: string): string[] {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return needles()
    .filter((n) => buf.includes(Buffer.from(n.value)))
    .map((n) => `${n.what} found in ${where}`);
}

function walk(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
}

const mode = (p: string) => statSync(p).mode & 0o777;

beforeAll(async () => {
  const started = await startCliServers();
  ({ slapd, moto } = started);
  dir = tempDir('detailee-secrets-');
  const prepared = prepare(dir, started.servers);
  approverKey = prepared.approverKey;
  signingKey = join(dir, 'keys', 'certificate-signing.pem');
  passwordFile = join(dir, 'secrets', 'ldap');
  expect(readFileSync(passwordFile, 'utf8').trim()).toBe(slapd.password);
  walHolder = new DatabaseSync(join(dir, 'detailee.db'));
  walHolder.prepare('SELECT COUNT(*) AS n FROM audit').get();

  run(['init', '--dir', join(dir, 'fresh'), '--timezone', 'America/New_York'], '2025-02-01T14:00:00Z');
  run(['init', '--dir', join(dir, 'fresh-human'), '--timezone', 'America/New_York'], '2025-02-01T14:00:00Z', { json: false });

  run(['assignment', 'sign', prepared.manifest, '--key', approverKey, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z');
  runBoth(['assignment', 'verify', prepared.manifest], '2025-02-03T15:05:00Z');
  run(['onboard', prepared.manifest, '--dry-run'], '2025-02-05T14:55:00Z', { json: false });
  run(['onboard', prepared.manifest, '--yes'], '2025-02-05T15:00:00Z');
  runBoth(['status'], '2025-02-06T12:00:00Z');
  runBoth(['show', ID], '2025-02-06T12:00:00Z');
  run(['fti', 'record', ID, '--description', 'TY2021 extract batch 7', '--type', 'return transcripts', '--tax-years', '2021', '--records', '250', '--media', 'paper', '--location', 'Bldg 2, Room 114, safe 3', '--received', '2025-03-03'], '2025-03-03T16:00:00Z');
  run(['fti', 'record', ID, '--description', 'TY2019-2021 sample extract', '--type', 'return information', '--tax-years', '2019-2021', '--records', '1200', '--media', 'ssd', '--location', 'laptop IRS-LT-0042', '--received', '2025-04-01'], '2025-04-01T16:00:00Z', { json: false });
  runBoth(['fti', 'list', ID], '2025-04-01T16:05:00Z');
  run(['expire', '--dry-run', '--as-of', '2025-05-07'], '2025-04-02T06:00:00Z');
  run(['expire'], '2025-05-07T06:00:00Z'); // the 30-day notice
  const amendment = join(dir, 'amendment.yaml');
  writeFileSync(amendment, `apiVersion: detailee/v1\nkind: Amendment\nassignment: ${ID}\nrenewalDays: 30\nreason: Second phase.\n`);
  run(['assignment', 'sign', amendment, '--key', approverKey, '--kid', 'alan.turing'], '2025-05-09T15:00:00Z', { json: false });
  run(['renew', ID, amendment, '--yes'], '2025-05-10T15:00:00Z');
  runBoth(['reconcile'], '2025-05-11T15:00:00Z');
  run(['revoke', ID, '--reason', 'early end of detail', '--yes'], '2025-05-20T15:00:00Z');
  run(['expire'], '2025-05-21T06:00:00Z', { json: false }); // re-verifies the revoked account
  chmodSync(signingKey, 0o644);
  try {
    offboardWithOpenKey = run(['offboard', ID], '2025-05-21T13:00:00Z', { expectExit: 2 });
  } finally {
    chmodSync(signingKey, 0o600);
  }
  const answers = join(dir, 'answers.yaml');
  writeFileSync(answers, readFileSync(prepared.answers, 'utf8').replaceAll('2025-06-09', '2025-05-20'));
  const off = run(['offboard', ID, '--answers', answers], '2025-05-21T14:00:00Z').json as { certificate: { files: Record<string, string> } };
  certificateFiles = off.certificate.files;
  const pub = join(dir, 'keys', 'certificate-signing.pub.pem');
  runBoth(['certificate', 'verify', certificateFiles.json!, '--key', pub], '2025-05-21T14:05:00Z');
  run(['certificate', 'verify', certificateFiles.pdf!, '--key', pub], '2025-05-21T14:05:00Z');
  runBoth(['audit', 'verify'], '2025-05-21T14:10:00Z');
  run(['audit', 'checkpoint', '--out', join(dir, 'checkpoint.json')], '2025-05-21T14:10:00Z');
  run(['audit', 'checkpoint'], '2025-05-21T14:10:00Z', { json: false });
  run(['audit', 'verify', '--checkpoint', join(dir, 'checkpoint.json')], '2025-05-21T14:11:00Z');
  run(['audit', 'export', '--out', join(dir, 'audit.jsonl')], '2025-05-21T14:12:00Z');
  run(['audit', 'export'], '2025-05-21T14:12:00Z', { json: false });
  run(['store', 'copy', '--from', 'sqlite:detailee.db', '--to', 'sqlite:copy.db'], '2025-05-21T14:15:00Z');
  // doctor reads every secret source; it exits 1 here because DETAILEE_NOW pins the clock.
  run(['doctor'], '2025-05-21T14:16:00Z', { expectExit: 1 });
  run(['doctor'], '2025-05-21T14:16:00Z', { json: false, expectExit: 1, env: { DETAILEE_DEBUG: '1', DETAILEE_CONFIG: wrongPasswordConfig() } });
  // A bind that fails must not print the password it tried, not even in a debug stack trace.
  run(['reconcile'], '2025-05-21T14:20:00Z', { expectExit: 1, env: { DETAILEE_DEBUG: '1', DETAILEE_CONFIG: wrongPasswordConfig() } });
  run(['reconcile'], '2025-05-21T14:20:00Z', { json: false, expectExit: 1, env: { DETAILEE_DEBUG: '1', DETAILEE_CONFIG: wrongPasswordConfig() } });
}, 300_000);

/** The same config, with a wrong (but equally distinctive) password file. */
function wrongPasswordConfig(): string {
  const wrong = join(dir, 'secrets', 'wrong-ldap');
  writeFileSync(wrong, 'Wrong-Bind-Password-0f9e8d7c\n', { mode: 0o600 });
  const cfg = join(dir, 'wrong-password.yaml');
  writeFileSync(cfg, readFileSync(join(dir, 'detailee.yaml'), 'utf8').replace('bindPasswordFile: secrets/ldap', `bindPasswordFile: ${wrong}`));
  return cfg;
}

afterAll(async () => {
  walHolder?.close();
  await Promise.all([slapd?.stop(), moto?.stop()]);
});

describe('secrets stay where they are kept', () => {
  it('ran every command', () => {
    const topics = new Set(['assignment', 'fti', 'certificate', 'audit', 'store']);
    const ran = new Set(outputs.map((o) => (topics.has(o.args[0]!) ? o.args.slice(0, 2) : o.args.slice(0, 1)).join(' ')));
    for (const c of ['init', 'assignment sign', 'assignment verify', 'onboard', 'status', 'show', 'fti record', 'fti list', 'expire', 'renew', 'reconcile', 'revoke', 'offboard', 'certificate verify', 'audit verify', 'audit checkpoint', 'audit export', 'store copy', 'doctor']) {
      expect(ran, `${c} was not run`).toContain(c);
    }
    expect(existsSync(certificateFiles.pdf!)).toBe(true);
  });

  it('no output of any command holds the password or a line of a private key', () => {
    // The search itself must be able to find them, or every check below proves nothing.
    expect(leaks(readFileSync(passwordFile), 'the password file')).not.toEqual([]);
    expect(leaks(readFileSync(approverKey), 'the approver key').length).toBeGreaterThan(0);
    expect(leaks(createPrivateKey(readFileSync(signingKey)).export({ format: 'jwk' }).d!, 'the JWK')).not.toEqual([]);
    const found = outputs.flatMap((o, i) => leaks(`${typeof o.json === 'string' ? o.json : JSON.stringify(o.json)}\n${o.stderr}`, `output of #${i} ${o.args.join(' ')}`));
    expect(found).toEqual([]);
    const wrong = outputs.filter((o) => o.args.includes('reconcile') && o.exit === 1);
    expect(wrong).toHaveLength(2);
    for (const o of wrong) expect(`${JSON.stringify(o.json)}${o.stderr}`).not.toContain('Wrong-Bind-Password-0f9e8d7c');
  });

  it('the store, its WAL, its copy, the audit export, checkpoint, notices and certificates hold none of them', () => {
    const named = [join(dir, 'detailee.db'), join(dir, 'detailee.db-wal'), join(dir, 'copy.db'), join(dir, 'audit.jsonl'), join(dir, 'checkpoint.json'), ...Object.values(certificateFiles)];
    if (existsSync(join(dir, 'copy.db-wal'))) named.push(join(dir, 'copy.db-wal'));
    expect(statSync(join(dir, 'detailee.db-wal')).size, 'the WAL was kept for inspection').toBeGreaterThan(0);
    const eml = readdirSync(join(dir, 'outbox')).filter((f) => f.endsWith('.eml'));
    expect(eml.length).toBeGreaterThan(0);
    named.push(...eml.map((f) => join(dir, 'outbox', f)));
    for (const f of named) expect(existsSync(f), f).toBe(true);
    expect(named.flatMap((f) => leaks(readFileSync(f), relative(dir, f)))).toEqual([]);
  });

  it('the PDF holds none of them once its streams are decompressed, nor in its text', () => {
    const pdf = certificateFiles.pdf!;
    const qdf = join(dir, 'certificate.qdf.pdf');
    execFileSync('qpdf', ['--qdf', '--object-streams=disable', pdf, qdf]);
    const text = execFileSync('pdftotext', [pdf, '-'], { encoding: 'utf8' });
    expect(text).toMatch(/Byron/);
    expect([...leaks(readFileSync(qdf), 'the decompressed PDF'), ...leaks(text, 'the PDF text')]).toEqual([]);
  });

  it('no file the tool wrote anywhere in its folder holds them (the secret files themselves aside)', () => {
    const sources = new Set([approverKey, signingKey, passwordFile, join(dir, 'fresh', 'keys', 'certificate-signing.pem'), join(dir, 'fresh-human', 'keys', 'certificate-signing.pem')]);
    const files = walk(dir).filter((f) => !sources.has(f));
    expect(files.length).toBeGreaterThan(15);
    expect(files.flatMap((f) => leaks(readFileSync(f), relative(dir, f)))).toEqual([]);
  });

  it('the store files and the key init generates are mode 0600', () => {
    expect(mode(join(dir, 'detailee.db')).toString(8)).toBe('600');
    expect(mode(join(dir, 'copy.db')).toString(8)).toBe('600');
    for (const f of ['detailee.db-wal', 'detailee.db-shm', 'copy.db-wal', 'copy.db-shm']) {
      if (existsSync(join(dir, f))) expect(mode(join(dir, f)) & 0o077, f).toBe(0);
    }
    for (const d of [dir, join(dir, 'fresh'), join(dir, 'fresh-human')]) {
      expect(mode(join(d, 'keys', 'certificate-signing.pem')).toString(8)).toBe('600');
      expect(mode(join(d, 'detailee.db')).toString(8)).toBe('600');
    }
  });
});

describe('a secret file others can read is named in a warning', () => {
  const warning = /readable by other users/;

  it('the LDAP bind password file', () => {
    const quiet = run(['reconcile'], '2025-05-21T15:00:00Z');
    expect(quiet.stderr).not.toMatch(warning);
    chmodSync(passwordFile, 0o644);
    try {
      const r = run(['reconcile'], '2025-05-21T15:00:00Z');
      expect(r.stderr).toMatch(new RegExp(`LDAP bind password file ${passwordFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is readable by other users \\(mode 644\\)`));
    } finally {
      chmodSync(passwordFile, 0o600);
    }
  });

  it('the certificate signing key, when a checkpoint is signed with it', () => {
    const quiet = run(['audit', 'checkpoint'], '2025-05-21T15:00:00Z');
    expect(quiet.stderr).not.toMatch(warning);
    chmodSync(signingKey, 0o644);
    try {
      const r = run(['audit', 'checkpoint'], '2025-05-21T15:00:00Z');
      expect(r.stderr).toMatch(warning);
      expect(r.stderr).toContain(signingKey);
    } finally {
      chmodSync(signingKey, 0o600);
    }
  });

  it('the certificate signing key, when offboarding reads it (even if offboarding then stops)', () => {
    expect((offboardWithOpenKey!.json as { error: { code: string } }).error.code).toBe('offboard.no-answers');
    expect(offboardWithOpenKey!.stderr).toMatch(warning);
    expect(offboardWithOpenKey!.stderr).toContain(signingKey);
  });

  it('the approver key passed to assignment sign', () => {
    const m = join(dir, 'amendment.yaml');
    const quiet = run(['assignment', 'sign', m, '--key', approverKey, '--kid', 'alan.turing'], '2025-05-21T15:00:00Z');
    expect(quiet.stderr).not.toMatch(warning);
    chmodSync(approverKey, 0o644);
    try {
      const r = run(['assignment', 'sign', m, '--key', approverKey, '--kid', 'alan.turing'], '2025-05-21T15:00:00Z');
      expect(r.stderr).toMatch(warning);
      expect(r.stderr).toContain(approverKey);
    } finally {
      chmodSync(approverKey, 0o600);
    }
  });

  it('warnings named no secret either', () => {
    expect(outputs.flatMap((o, i) => leaks(o.stderr, `stderr of #${i}`))).toEqual([]);
  });
});
