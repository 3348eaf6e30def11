import { describe, expect, it } from 'vitest';
import {
  PPOLICY_CONTROL,
  configFailed,
  evaluateAws,
  evaluateClock,
  evaluateCrls,
  evaluateLdap,
  evaluateSigningKey,
  evaluateStore,
  summarize,
  type LdapFacts,
} from '../../src/doctor/checks.js';
import { InputError } from '../../src/errors.js';

/** The doctor's verdicts from facts, for what the test servers cannot be made to show (slapd without ppolicy). */
const ldap: LdapFacts = {
  url: 'ldaps://ldap.example.gov',
  bindDN: 'cn=detailee,dc=example,dc=gov',
  supportedControls: [PPOLICY_CONTROL],
  schemaAttributes: ['pwdStartTime', 'pwdEndTime', 'pwdAccountLockedTime'],
  policies: [{ dn: 'cn=default,ou=policies,dc=example,dc=gov', lockout: true }],
  peopleDN: { dn: 'ou=people,dc=example,dc=gov', readable: true },
  groupsDN: { dn: 'ou=groups,dc=example,dc=gov', readable: true },
};

describe('doctor verdicts', () => {
  it('LDAP passes only with the ppolicy control, its attributes, a locking policy and both base entries', () => {
    expect(evaluateLdap(ldap).status).toBe('pass');
    expect(evaluateLdap({ ...ldap, supportedControls: [] })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ppolicy overlay is not loaded/), fix: expect.stringMatching(/overlay ppolicy/) });
    expect(evaluateLdap({ ...ldap, schemaAttributes: ['pwdAccountLockedTime'] })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/lacks pwdStartTime, pwdEndTime/) });
    expect(evaluateLdap({ ...ldap, policies: [] }).status).toBe('fail');
    expect(evaluateLdap({ ...ldap, policies: [{ dn: 'cn=p', lockout: false }] })).toMatchObject({ status: 'fail', fix: expect.stringMatching(/pwdLockout: TRUE/) });
    expect(evaluateLdap({ ...ldap, peopleDN: { dn: 'ou=nobody', readable: false } })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ou=nobody/) });
    expect(evaluateLdap({ ...ldap, groupsDN: { dn: 'ou=nogroups', readable: false } }).status).toBe('fail');
  });

  it('AWS fails when any read a proof needs is refused, naming it and the policy document', () => {
    const reads = [{ operation: 'ListUsers /detailees/', ok: true }, { operation: 'GetAccountAuthorizationDetails', ok: false, code: 'AccessDenied' }];
    expect(evaluateAws({ endpoint: 'x', identity: 'arn:aws:iam::1:user/d', reads })).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/GetAccountAuthorizationDetails refused \(AccessDenied\)/),
      fix: expect.stringMatching(/docs\/iam-policy\.json/),
    });
    expect(evaluateAws({ endpoint: 'x', identity: 'y', reads: [reads[0]!] }).status).toBe('pass');
  });

  it('store: missing, too old, too new and current', () => {
    expect(evaluateStore({ location: 'a', exists: false, latest: 3 }).status).toBe('fail');
    expect(evaluateStore({ location: 'a', exists: true, schemaVersion: 2, latest: 3 })).toMatchObject({ status: 'fail', fix: 'Run `detailee migrate`.' });
    expect(evaluateStore({ location: 'a', exists: true, schemaVersion: 4, latest: 3 }).fix).toMatch(/Upgrade detailee/);
    expect(evaluateStore({ location: 'a', exists: true, schemaVersion: 3, latest: 3 }).status).toBe('pass');
  });

  it('signing key: unset, unreadable encrypted, wrong type, and an encrypted Ed25519 key that opens', () => {
    expect(evaluateSigningKey({ path: undefined, exists: false, encrypted: false }).status).toBe('fail');
    expect(evaluateSigningKey({ path: 'k', exists: true, encrypted: true, error: 'wrong passphrase' }).fix).toMatch(/signingKeyPassphraseFile/);
    expect(evaluateSigningKey({ path: 'k', exists: true, encrypted: false, type: 'rsa' }).detail).toMatch(/rsa key, not Ed25519/);
    expect(evaluateSigningKey({ path: 'k', exists: true, encrypted: true, type: 'ed25519', passphraseSource: '$PASS' })).toMatchObject({ status: 'pass', detail: expect.stringMatching(/encrypted \(passphrase from \$PASS\)/) });
  });

  it('CRLs: not yet in force and past nextUpdate fail; none configured is skipped, not failed', () => {
    const now = new Date('2025-06-01T00:00:00Z');
    expect(evaluateCrls([], now).status).toBe('skip');
    expect(evaluateCrls([{ path: 'c', issuer: 'CN=I', thisUpdate: new Date('2025-07-01T00:00:00Z') }], now).detail).toMatch(/not in force until 2025-07-01/);
    expect(evaluateCrls([{ path: 'c', issuer: 'CN=I', thisUpdate: new Date('2025-01-01T00:00:00Z'), nextUpdate: new Date('2025-05-31T00:00:00Z') }], now).status).toBe('fail');
    expect(evaluateCrls([{ path: 'c', error: 'cannot be read as a CRL: x' }], now).status).toBe('fail');
  });

  it('clock: an unknown zone and a system clock before this release fail', () => {
    const base = { system: new Date('2026-12-05T00:00:00Z'), notBefore: new Date('2026-12-01T00:00:00Z'), timezone: 'America/New_York', zoneValid: true };
    expect(evaluateClock(base).status).toBe('pass');
    expect(evaluateClock({ ...base, zoneValid: false, timezone: 'Mars/Base' }).detail).toMatch(/Mars\/Base is not a known IANA zone/);
    expect(evaluateClock({ ...base, system: new Date('2001-01-01T00:00:00Z') })).toMatchObject({ status: 'fail', fix: expect.stringMatching(/NTP/) });
  });

  it('a config that does not load fails that line with its own fix and skips the rest; ok is false', () => {
    const r = configFailed(new InputError('Config x is invalid: timezone', { code: 'config.invalid', actions: ['Fix timezone.'] }));
    expect(r.ok).toBe(false);
    expect(r.checks[0]).toMatchObject({ id: 'config', status: 'fail', fix: 'Fix timezone.' });
    expect(r.checks.slice(1).every((c) => c.status === 'skip')).toBe(true);
    expect(summarize(r.checks.slice(1)).ok).toBe(true);
  });
});
