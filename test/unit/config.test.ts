import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConfigFile, redactUrl } from '../../src/config/resolve.js';
import { loadConfig, resolveSecret, warnings } from '../../src/config/load.js';
import { tempDir } from '../helpers/manifest.js';

/** The message of the exit-2 refusal loadConfig gives for a config file. */
function refusal(file: string): string {
  try {
    loadConfig(file, {}, '/');
  } catch (e) {
    expect((e as { exit: number }).exit).toBe(2);
    return (e as Error).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('config', () => {
  it('is found by --config, then $DETAILEE_CONFIG, then ./detailee.yaml, then the user config dir', () => {
    const cwd = tempDir();
    const home = tempDir();
    mkdirSync(join(home, 'detailee'));
    writeFileSync(join(home, 'detailee', 'config.yaml'), 'timezone: UTC\n');
    const env = { XDG_CONFIG_HOME: home };
    expect(findConfigFile(undefined, env, cwd)).toBe(join(home, 'detailee', 'config.yaml'));
    writeFileSync(join(cwd, 'detailee.yaml'), 'timezone: UTC\n');
    expect(findConfigFile(undefined, env, cwd)).toBe(join(cwd, 'detailee.yaml'));
    expect(findConfigFile(undefined, { ...env, DETAILEE_CONFIG: 'other.yaml' }, cwd)).toBe(join(cwd, 'other.yaml'));
    expect(findConfigFile('flag.yaml', { ...env, DETAILEE_CONFIG: 'other.yaml' }, cwd)).toBe(join(cwd, 'flag.yaml'));
  });

  it('resolves relative paths against the config folder, and $DETAILEE_DATABASE_URL overrides the store', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), 'store: sqlite:data/d.db\ncertificates: {signingKey: keys/k.pem, outputDir: certs}\ntrust: {caCertificates: [pki/root.pem]}\n');
    const cfg = loadConfig(join(dir, 'c.yaml'), {}, '/');
    expect(cfg.storeUrl).toBe(`sqlite:${join(dir, 'data/d.db')}`);
    expect(cfg.certificates.signingKey).toBe(join(dir, 'keys/k.pem'));
    expect(cfg.trust.caCertificates).toEqual([join(dir, 'pki/root.pem')]);
    expect(loadConfig(join(dir, 'c.yaml'), { DETAILEE_DATABASE_URL: 'postgres://u@h/db' }, '/').storeUrl).toBe('postgres://u@h/db');
  });

  it('names the key and the fix for every invalid setting, and refuses unknown keys', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'c.yaml'),
      'timezone: Mars/Base\nnotices: {daysBefore: [-1]}\ntargets: {ldap: {url: http://x, bindDN: a, peopleDN: b, groupsDN: c, bindPassword: hunter2}}\n',
    );
    const msg = refusal(join(dir, 'c.yaml'));
    expect(msg).toMatch(/timezone: is not a known IANA time zone/);
    expect(msg).toMatch(/notices\.daysBefore\[0\]/);
    expect(msg).toMatch(/targets\.ldap\.url: must be an ldap:\/\/ or ldaps:\/\/ URL/);
    expect(msg).toMatch(/bindPassword/);
    expect(msg).not.toMatch(/hunter2/);
  });

  it("says what to write instead for zod's own checks: a list, a bound, the nearest known key", () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), 'tmezone: America/New_York\ntrust: {requiredRoles: approver}\nnotices: {daysBefore: [400]}\n');
    const msg = refusal(join(dir, 'c.yaml'));
    expect(msg).toMatch(/trust\.requiredRoles: .*expected array.*; write it as a list, e\.g\. \[a, b\]/);
    expect(msg).toMatch(/notices\.daysBefore\[0\]: .*; use at most 365/);
    expect(msg).toMatch(/\(document\): Unrecognized key: "tmezone"; did you mean "timezone" for "tmezone"\? \(allowed here: store, timezone, /);
  });

  it('refuses retentionDays, which no version ever acted on: nothing is kept or purged by it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), 'timezone: America/New_York\nretentionDays: 90\n');
    expect(refusal(join(dir, 'c.yaml'))).toMatch(/Unrecognized key: "retentionDays"/);
  });

  it('reads secrets from a file or the environment only, and warns when the file is readable by others', () => {
    const dir = tempDir();
    const f = join(dir, 'pw');
    writeFileSync(f, 's3cret\n', { mode: 0o600 });
    expect(resolveSecret({ file: f }, 'LDAP bind password')).toBe('s3cret');
    expect(warnings.some((w) => w.includes(f))).toBe(false);
    chmodSync(f, 0o644);
    resolveSecret({ file: f }, 'LDAP bind password');
    expect(warnings.some((w) => w.includes(f) && w.includes('chmod 600'))).toBe(true);
    expect(resolveSecret({ env: 'PW' }, 'x', { PW: 'from-env' })).toBe('from-env');
    expect(() => resolveSecret({ env: 'PW' }, 'x', {})).toThrow(/PW .* is not set/);
  });

  it('never shows a password embedded in a URL', () => {
    expect(redactUrl('postgres://user:p%40ss@db.internal/detailee')).toBe('postgres://user:***@db.internal/detailee');
    expect(redactUrl('postgres://user:p@ss@db.internal/detailee')).not.toMatch(/p@ss|ss@db/);
  });
});
