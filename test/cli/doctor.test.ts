import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { makeCrl, makePki } from '../helpers/pki.js';
import { startCliServers, type CliServers } from '../helpers/servers.js';
import { closedPort } from '../helpers/smtp.js';

/**
 * `detailee doctor` through the built CLI against a real slapd and moto. DETAILEE_NOW is unset
 * (empty) because doctor judges the system clock; the test PKI is valid from 2020 to 2035, so the
 * verdicts do not depend on the day the suite runs.
 */
let s: CliServers;
let dir: string;
const UNPINNED = { DETAILEE_NOW: '' };

interface Report {
  ok: boolean;
  checks: { id: string; title: string; status: 'pass' | 'fail' | 'skip'; detail: string; fix?: string }[];
}

beforeAll(async () => {
  s = await startCliServers();
  dir = tempDir('detailee-doctor-');
  prepare(dir, s.servers);
  const pki = await makePki(dir);
  await makeCrl(dir, 'stale', pki.intermediate, [], { thisUpdate: new Date('2024-01-01T00:00:00Z'), nextUpdate: new Date('2025-01-01T00:00:00Z') });
  const cfg = readConfig();
  (cfg.trust as Record<string, unknown>).caCertificates = ['root.crt.pem'];
  (cfg.trust as Record<string, unknown>).crls = ['intermediate.crl.pem'];
  writeFileSync(join(dir, 'detailee.yaml'), stringify(cfg));
});
afterAll(async () => {
  await s?.stop();
});

function readConfig(name = 'detailee.yaml'): Record<string, Record<string, unknown>> {
  return parse(readFileSync(join(dir, name), 'utf8')) as Record<string, Record<string, unknown>>;
}

/** A variant of the working config, beside it so its relative paths still resolve. */
function variant(name: string, change: (cfg: Record<string, Record<string, unknown>>) => void): string {
  const cfg = readConfig();
  change(cfg);
  const f = join(dir, name);
  writeFileSync(f, stringify(cfg));
  return f;
}

async function doctor(args: string[] = [], env: Record<string, string> = UNPINNED): Promise<StepOutput> {
  const out = cli(dir, ['doctor', ...args], '2025-03-01T12:00:00Z', env);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

function line(out: StepOutput, title: string): string {
  return String(out.json)
    .split('\n')
    .find((l) => l.slice(2).startsWith(`${title}:`)) ?? '';
}

function failed(r: Report): string[] {
  return r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

describe('detailee doctor', () => {
  it('every check passes against the running servers: ✓ on each line, exit 0', async () => {
    const out = await doctor();
    expect(out.exit, `${String(out.json)}\n${out.stderr}`).toBe(0);
    for (const title of ['config valid', 'store reachable and migrated', 'LDAP target', 'AWS IAM target', 'certificate signing key', 'trust anchors (CA certificates)', 'CRLs current', 'clock and time zone']) {
      expect(line(out, title)).toMatch(/^✓ /);
    }
    expect(line(out, 'LDAP target')).toMatch(/ppolicy loaded \(cn=default,ou=policies,dc=example,dc=gov\)/);
    expect(line(out, 'AWS IAM target')).toMatch(/ListUsers \/detailees\/, GetAccountAuthorizationDetails allowed/);
    expect(String(out.json)).toMatch(/All checks passed\.\s*$/);
    expect(String(out.json)).not.toContain(s.slapd.password);
  });

  it('--json prints one document: ok and one entry per check with id, title, status, detail; fix only on a failure', async () => {
    const out = await doctor(['--json']);
    expect(out.exit).toBe(0);
    const r = out.json as Report;
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.id)).toEqual(['config', 'store', 'ldap', 'aws', 'ad', 'signing-key', 'trust-anchors', 'crls', 'clock']);
    for (const c of r.checks) {
      expect(Object.keys(c).sort()).toEqual(['detail', 'id', 'status', 'title']);
      // This config has no targets.ad (test/integration/ad-lifecycle.test.ts checks it against Samba).
      expect(c.status).toBe(c.id === 'ad' ? 'skip' : 'pass');
    }
  });

  it('slapd stopped: ✗ LDAP with the fix, the other checks still run, exit 1', async () => {
    s.slapd.kill();
    let human: StepOutput;
    let json: StepOutput;
    try {
      human = await doctor();
      json = await doctor(['--json']);
    } finally {
      await s.slapd.restart();
    }
    expect(human.exit).toBe(1);
    expect(line(human, 'LDAP target')).toMatch(/^✗ LDAP target: LDAP ldap:\/\/127\.0\.0\.1:\d+ cannot be reached/);
    expect(String(human.json)).toMatch(/LDAP target: .*\n {4}fix: Start the directory server, or correct targets\.ldap\.url/);
    expect(line(human, 'AWS IAM target')).toMatch(/^✓ /);
    expect(String(human.json)).toMatch(/1 check\(s\) failed\./);
    expect(json.exit).toBe(1);
    const r = json.json as Report;
    expect(r.ok).toBe(false);
    expect(failed(r)).toEqual(['ldap']);
    expect(r.checks.find((c) => c.id === 'ldap')!.fix).toMatch(/Start the directory server/);
  });

  it('a wrong bind password: ✗ LDAP naming the bind DN and where the password comes from', async () => {
    writeFileSync(join(dir, 'wrong-ldap-password'), 'not-the-password\n', { mode: 0o600 });
    const f = variant('wrong-bind.yaml', (c) => {
      (c.targets!.ldap as Record<string, unknown>).bindPasswordFile = 'wrong-ldap-password';
    });
    const r = (await doctor(['--config', f, '--json'])).json as Report;
    expect(failed(r)).toEqual(['ldap']);
    expect(r.checks.find((c) => c.id === 'ldap')).toMatchObject({ detail: expect.stringMatching(/refused the bind as cn=admin,dc=example,dc=gov/), fix: expect.stringMatching(/bindDN and the bind password/) });
  });

  it('IAM not reachable: ✗ AWS, exit 1', async () => {
    const port = await closedPort();
    const f = variant('no-iam.yaml', (c) => {
      (c.targets!.aws as Record<string, unknown>).endpoint = `http://127.0.0.1:${port}`;
    });
    const out = await doctor(['--config', f, '--json']);
    expect(out.exit).toBe(1);
    const r = out.json as Report;
    expect(failed(r)).toEqual(['aws']);
    expect(r.checks.find((c) => c.id === 'aws')!.fix).toMatch(/endpoint|credentials/);
  });

  it('a missing signing key: ✗ certificate signing key with the fix', async () => {
    const f = variant('no-key.yaml', (c) => {
      c.certificates!.signingKey = 'keys/gone.pem';
    });
    const out = await doctor(['--config', f]);
    expect(out.exit).toBe(1);
    expect(line(out, 'certificate signing key')).toMatch(/^✗ certificate signing key: .*keys\/gone\.pem does not exist/);
    expect(String(out.json)).toMatch(/gone\.pem does not exist\n {4}fix: Point certificates\.signingKey at the Ed25519 key/);
  });

  it('a signing key that is not Ed25519: ✗', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    writeFileSync(join(dir, 'keys', 'p256.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const f = variant('p256-key.yaml', (c) => {
      c.certificates!.signingKey = 'keys/p256.pem';
    });
    const r = (await doctor(['--config', f, '--json'])).json as Report;
    expect(failed(r)).toEqual(['signing-key']);
    expect(r.checks.find((c) => c.id === 'signing-key')!.detail).toMatch(/is a ec key, not Ed25519/);
  });

  it('an expired CRL: ✗ CRLs current, naming the file and when its update was due', async () => {
    const f = variant('stale-crl.yaml', (c) => {
      c.trust!.crls = ['intermediate.crl.pem', 'stale.crl.pem'];
    });
    const out = await doctor(['--config', f, '--json']);
    expect(out.exit).toBe(1);
    const r = out.json as Report;
    expect(failed(r)).toEqual(['crls']);
    expect(r.checks.find((c) => c.id === 'crls')).toMatchObject({
      detail: expect.stringMatching(/stale\.crl\.pem \(CN=Test Signing CA,O=Example Agency,C=US\) is out of date: its next update was due 2025-01-01T00:00:00Z/),
      fix: expect.stringMatching(/Fetch the current CRL/),
    });
  });

  it('an expired trust anchor: ✗', async () => {
    const { makeCert } = await import('../helpers/pki.js');
    await makeCert(dir, 'old-root', { subject: 'CN=Old Root,O=Example Agency,C=US', ca: true, notBefore: new Date('2015-01-01T00:00:00Z'), notAfter: new Date('2020-01-01T00:00:00Z') });
    const f = variant('old-ca.yaml', (c) => {
      c.trust!.caCertificates = ['root.crt.pem', 'old-root.crt.pem'];
    });
    const r = (await doctor(['--config', f, '--json'])).json as Report;
    expect(failed(r)).toEqual(['trust-anchors']);
    expect(r.checks.find((c) => c.id === 'trust-anchors')!.detail).toMatch(/old-root\.crt\.pem .*expired 2020-01-01T00:00:00Z/);
  });

  it('DETAILEE_NOW pinned: ✗ clock, since every run would act on that instant', async () => {
    const r = (await doctor(['--json'], { DETAILEE_NOW: '2025-03-01T12:00:00Z' })).json as Report;
    expect(failed(r)).toEqual(['clock']);
    expect(r.checks.find((c) => c.id === 'clock')!.fix).toMatch(/Unset DETAILEE_NOW/);
  });

  it('a store that does not exist: ✗ store, and doctor does not create it', async () => {
    const f = variant('no-store.yaml', (c) => {
      (c as Record<string, unknown>).store = 'sqlite:nowhere.db';
    });
    const r = (await doctor(['--config', f, '--json'])).json as Report;
    expect(failed(r)).toEqual(['store']);
    expect(r.checks.find((c) => c.id === 'store')!.fix).toMatch(/detailee init|detailee migrate/);
    expect(existsSync(join(dir, 'nowhere.db'))).toBe(false);
  });

  it('an invalid config: ✗ config naming the field, the rest skipped, exit 1, still one JSON document', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'timezone: Mars/Olympus\n');
    const out = await doctor(['--config', f, '--json']);
    expect(out.exit).toBe(1);
    const r = out.json as Report;
    expect(r.checks[0]).toMatchObject({ id: 'config', status: 'fail', detail: expect.stringMatching(/timezone/) });
    expect(r.checks.slice(1).every((c) => c.status === 'skip')).toBe(true);
    rmSync(f);
  });
});
