import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { signedExample, startCliServers, type CliServers } from '../helpers/servers.js';
import { onTerminal } from '../helpers/terminal.js';

/**
 * An encrypted (PKCS#8) certificate signing key through the built CLI: the passphrase from a file,
 * from the environment, or (on a terminal only) a prompt; without a terminal and without a source,
 * exit 2 before anything changes. The passphrase is never printed.
 */
let s: CliServers;
let dir: string;
let approverPem: string;
const PASSPHRASE = 'correct horse battery staple 7Q';
const ENV = { DETAILEE_TEST_KEY_PASSPHRASE: PASSPHRASE };

beforeAll(async () => {
  s = await startCliServers();
  dir = tempDir('detailee-signing-key-');
  approverPem = readFileSync(prepare(dir, s.servers).approverKey, 'utf8');
  const plain = createPrivateKey(readFileSync(join(dir, 'keys', 'certificate-signing.pem')));
  writeFileSync(join(dir, 'keys', 'encrypted.pem'), plain.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }), { mode: 0o600 });
  writeFileSync(join(dir, 'keys', 'encrypted.pub.pem'), createPublicKey(plain).export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'secrets', 'passphrase'), `${PASSPHRASE}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'secrets', 'wrong-passphrase'), 'not it\n', { mode: 0o600 });
});
afterAll(async () => {
  await s?.stop();
});

function config(name: string, certificates: Record<string, string>): string {
  const cfg = parse(readFileSync(join(dir, 'detailee.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.certificates = { ...cfg.certificates, signingKey: 'keys/encrypted.pem', ...certificates };
  const f = join(dir, name);
  writeFileSync(f, stringify(cfg));
  return f;
}

async function run(args: string[], now: string, env: Record<string, string> = {}): Promise<StepOutput> {
  const out = cli(dir, args, now, env);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

function noPassphrase(out: StepOutput): void {
  expect(JSON.stringify(out.json)).not.toContain(PASSPHRASE);
  expect(out.stderr).not.toContain(PASSPHRASE);
}

function askedOnTerminal(args: string[], answer: string): Promise<{ exit: number | null; screen: string }> {
  const env = { DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: '', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', XDG_CACHE_HOME: join(dir, '.cache') };
  return onTerminal(dir, args, env, /Passphrase for the certificate signing key/, answer);
}

type Doctor = { checks: { id: string; status: string; detail: string; fix?: string }[] };
const keyCheck = (out: StepOutput) => (out.json as Doctor).checks.find((c) => c.id === 'signing-key')!;

describe('an encrypted certificate signing key', () => {
  it('passphrase from a file: offboard issues a certificate signed by that key; doctor ✓ names the source', async () => {
    const cfg = config('file.yaml', { signingKeyPassphraseFile: 'secrets/passphrase' });
    const f = signedExample(dir, approverPem, 'enc-file-1', 'encfile1');
    expect((await run(['onboard', f, '--yes', '--config', cfg, '--json'], '2025-02-05T15:00:00Z')).exit).toBe(0);
    for (const [desc, received, media] of [
      ['TY2021 anonymized extract batch 7', '2025-03-03', 'paper'],
      ['TY2019-2021 sample extract', '2025-04-01', 'ssd'],
    ] as const) {
      const rec = await run(['fti', 'record', 'enc-file-1', '--description', desc, '--type', 'return information', '--tax-years', '2021', '--records', '10', '--media', media, '--location', 'safe 3', '--received', received, '--config', cfg, '--json'], `${received}T16:00:00Z`);
      expect(rec.exit, rec.stderr).toBe(0);
    }
    const off = await run(['offboard', 'enc-file-1', '--answers', join(dir, 'answers.yaml'), '--config', cfg, '--json'], '2025-06-10T14:00:00Z');
    expect(off.exit, `${JSON.stringify(off.json)}\n${off.stderr}`).toBe(0);
    noPassphrase(off);
    const files = (off.json as { certificate: { files: { json: string } } }).certificate.files;
    const verify = await run(['certificate', 'verify', files.json, '--key', join(dir, 'keys', 'encrypted.pub.pem'), '--config', cfg, '--json'], '2025-06-10T14:05:00Z');
    expect(verify.exit, verify.stderr).toBe(0);
    expect(verify.json).toMatchObject({ valid: true, trustedKey: true });
    const doctor = await run(['doctor', '--config', cfg, '--json'], '2025-06-10T14:05:00Z', { DETAILEE_NOW: '' });
    expect(keyCheck(doctor)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/Ed25519 key, encrypted \(passphrase from the file .*secrets\/passphrase\)/) });
    expect(doctor.exit).toBe(0);
  });

  it('passphrase from the environment: audit checkpoint signs with it; unset, exit 2 naming the variable', async () => {
    const cfg = config('env.yaml', { signingKeyPassphraseEnv: 'DETAILEE_TEST_KEY_PASSPHRASE' });
    const ok = await run(['audit', 'checkpoint', '--config', cfg, '--json'], '2025-06-10T15:00:00Z', ENV);
    expect(ok.exit, ok.stderr).toBe(0);
    noPassphrase(ok);
    const unset = await run(['audit', 'checkpoint', '--config', cfg, '--json'], '2025-06-10T15:00:00Z');
    expect(unset.exit).toBe(2);
    expect(unset.json).toMatchObject({ error: { code: 'secret.missing', message: expect.stringMatching(/DETAILEE_TEST_KEY_PASSPHRASE/) } });
  });

  it('no passphrase source and no terminal: offboard exits 2 before anything changes; doctor ✗ with the fix', async () => {
    const cfg = config('none.yaml', {});
    const f = signedExample(dir, approverPem, 'enc-none-1', 'encnone1');
    expect((await run(['onboard', f, '--yes', '--config', cfg, '--json'], '2025-02-05T15:00:00Z')).exit).toBe(0);
    const off = await run(['offboard', 'enc-none-1', '--answers', join(dir, 'answers.yaml'), '--config', cfg, '--json'], '2025-03-10T14:00:00Z');
    expect(off.exit).toBe(2);
    expect(off.json).toMatchObject({ error: { code: 'key.passphrase', actions: [expect.stringMatching(/signingKeyPassphraseFile .* or certificates\.signingKeyPassphraseEnv, or run the command on a terminal/)] } });
    // Fails before the revocation offboarding would start with: the detail is still active.
    expect((await run(['show', 'enc-none-1', '--config', cfg, '--json'], '2025-03-10T14:00:00Z')).json).toMatchObject({ state: 'active' });
    const doctor = await run(['doctor', '--config', cfg, '--json'], '2025-03-10T14:00:00Z', { DETAILEE_NOW: '' });
    expect(doctor.exit).toBe(1);
    expect(keyCheck(doctor)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/encrypted, no passphrase source is configured and there is no terminal/), fix: expect.stringMatching(/signingKeyPassphraseFile/) });
  });

  it('no passphrase source on a terminal: asked, masked; the right one opens the key (doctor ✓), a wrong one does not', async () => {
    const cfg = config('ask.yaml', {});
    const right = await askedOnTerminal(['doctor', '--config', cfg], PASSPHRASE);
    expect(right.screen).toMatch(/Passphrase for the certificate signing key/);
    expect(right.screen).toMatch(/✓ certificate signing key: .*encrypted \(passphrase from the terminal\)/);
    expect(right.screen).not.toContain(PASSPHRASE);
    expect(right.exit, right.screen).toBe(0);
    const wrong = await askedOnTerminal(['doctor', '--config', cfg], 'not it');
    expect(wrong.screen).toMatch(/✗ certificate signing key: .*could not be decrypted/);
    expect(wrong.exit).toBe(1);
  });

  it('a wrong passphrase: exit 2 "could not be decrypted", and doctor ✗', async () => {
    const cfg = config('wrong.yaml', { signingKeyPassphraseFile: 'secrets/wrong-passphrase' });
    const cp = await run(['audit', 'checkpoint', '--config', cfg, '--json'], '2025-06-10T15:00:00Z');
    expect(cp.exit).toBe(2);
    expect(cp.json).toMatchObject({ error: { code: 'key.passphrase', message: expect.stringMatching(/could not be decrypted: the passphrase is wrong/) } });
    const doctor = await run(['doctor', '--config', cfg, '--json'], '2025-06-10T15:00:00Z', { DETAILEE_NOW: '' });
    expect(keyCheck(doctor)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/could not be decrypted/) });
  });

  it('a config naming both a passphrase file and a variable is refused (exit 2), naming both keys', async () => {
    const cfg = config('both.yaml', { signingKeyPassphraseFile: 'secrets/passphrase', signingKeyPassphraseEnv: 'DETAILEE_TEST_KEY_PASSPHRASE' });
    const out = await run(['audit', 'checkpoint', '--config', cfg, '--json'], '2025-06-10T15:00:00Z', ENV);
    expect(out.exit).toBe(2);
    expect(JSON.stringify(out.json)).toMatch(/signingKeyPassphraseFile or signingKeyPassphraseEnv/);
  });
});
