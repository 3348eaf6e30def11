import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadAssignment } from '../../src/assignment/load.js';
import { loadConfig, warnings } from '../../src/config/load.js';
import { ActionError, InputError } from '../../src/errors.js';
import { bindRefusal, diagnose, mapAdError } from '../../src/targets/ad/errors.js';
import { EPOCH_OFFSET, NEVER_MAX, fileTimeOfMs, fromFileTime, isNever, parseFileTime, toFileTime } from '../../src/targets/ad/filetime.js';
import { checkAdUsername, provisionProblems, toObservation, toObserved } from '../../src/targets/ad/model.js';
import { prove, proofProblems } from '../../src/targets/proof.js';
import { adTransport } from '../../src/targets/ad/transport.js';
import { encodeUnicodePwd, randomPassword } from '../../src/targets/ad/password.js';
import { NEW_DISABLED, UAC, isDisabled, parseUac, uacNames, unsafeBits, withDisabled } from '../../src/targets/ad/uac.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';

describe('AD FILETIME', () => {
  it('counts 100 ns intervals from 1601-01-01T00:00:00Z', () => {
    expect(toFileTime('1601-01-01T00:00:00.001Z')).toBe(10_000n);
    expect(toFileTime('1970-01-01T00:00:00Z')).toBe(EPOCH_OFFSET);
    // The widely published FILETIME of 2000-01-01T00:00:00Z.
    expect(toFileTime('2000-01-01T00:00:00Z')).toBe(125_911_584_000_000_000n);
    // (1,751,327,999 s after 1970 + 11,644,473,600 s from 1601 to 1970) x 10^7.
    expect(toFileTime('2025-06-30T23:59:59Z')).toBe(133_958_015_990_000_000n);
    // The same instant through an offset lands on the same FILETIME.
    expect(toFileTime('2025-06-30T19:59:59-04:00')).toBe(133_958_015_990_000_000n);
  });

  it('round-trips every millisecond instant exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: -11_644_473_599_999, max: 8_000_000_000_000 }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(fromFileTime(toFileTime(iso))).toBe(iso);
        expect(fromFileTime(fileTimeOfMs(ms))).toBe(iso);
      }),
    );
  });

  it('reads 0 and 0x7FFFFFFFFFFFFFFF as never, and truncates sub-millisecond remainders towards the past', () => {
    expect(isNever(0n)).toBe(true);
    expect(isNever(NEVER_MAX)).toBe(true);
    expect(fromFileTime(0n)).toBe('never');
    expect(fromFileTime(9_223_372_036_854_775_807n)).toBe('never');
    expect(fromFileTime(EPOCH_OFFSET + 9_999n)).toBe('1970-01-01T00:00:00.000Z');
    expect(fromFileTime(EPOCH_OFFSET - 1n)).toBe('1969-12-31T23:59:59.999Z');
  });

  it('refuses what is not an exact instant, and text that is not a FILETIME', () => {
    expect(() => toFileTime('2025-06-30')).toThrow(/exact instant/);
    expect(() => toFileTime('2025-06-30T12:00:00')).toThrow(/exact instant/);
    expect(() => toFileTime('2025-02-30T12:00:00Z')).not.toThrow(); // Date rolls it; the schema checks calendar dates
    expect(() => toFileTime('1600-12-31T23:59:59Z')).toThrow(/range/);
    expect(parseFileTime('133958015990000000')).toBe(133_958_015_990_000_000n);
    expect(parseFileTime('9223372036854775807')).toBe(NEVER_MAX);
    expect(parseFileTime('9223372036854775808')).toBeUndefined();
    expect(parseFileTime('-1')).toBeUndefined();
    expect(parseFileTime('12e5')).toBeUndefined();
    expect(parseFileTime(undefined)).toBeUndefined();
  });
});

describe('AD unicodePwd and generated passwords', () => {
  it('is the password in double quotes, UTF-16LE', () => {
    expect(encodeUnicodePwd('Ab1!').toString('hex')).toBe('22004100620031002100' + '2200');
    expect(encodeUnicodePwd('é').equals(Buffer.from([0x22, 0, 0xe9, 0, 0x22, 0]))).toBe(true);
    expect(() => encodeUnicodePwd('')).toThrow();
  });

  it('generates passwords with all four character classes, distinct each time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = randomPassword();
      expect(p).toHaveLength(32);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[-_.+=#%]/);
      expect(p).not.toMatch(/["'\s\\,]/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
    expect(randomPassword(8)).toHaveLength(8);
    expect(() => randomPassword(7)).toThrow();
  });
});

describe('AD userAccountControl', () => {
  it('sets and clears ACCOUNTDISABLE and keeps every other bit', () => {
    expect(NEW_DISABLED).toBe(514);
    expect(isDisabled(514)).toBe(true);
    expect(withDisabled(514, false)).toBe(512);
    expect(withDisabled(512 | UAC.SMARTCARD_REQUIRED, true)).toBe(512 | UAC.SMARTCARD_REQUIRED | 2);
    expect(withDisabled(0x8000_0202, false)).toBe(0x8000_0200);
    expect(uacNames(514)).toEqual(['ACCOUNTDISABLE', 'NORMAL_ACCOUNT']);
    expect(uacNames(0x1000_0200)).toEqual(['NORMAL_ACCOUNT', '0x10000000']);
    expect(unsafeBits(512 | UAC.PASSWD_NOTREQD | UAC.DONT_EXPIRE_PASSWORD)).toEqual(['PASSWD_NOTREQD', 'DONT_EXPIRE_PASSWORD']);
  });

  it('reads the signed form AD gives for the top bit', () => {
    expect(parseUac('-2147483134')).toBe(0x8000_0202);
    expect(parseUac('514')).toBe(514);
    expect(parseUac('x')).toBeUndefined();
  });
});

/** The shape of ldapts' ResultCodeError: a numeric code and the DC's text with "Code: 0x.." after it. */
function ldapError(code: number, text: string): Error & { code: number } {
  return Object.assign(new Error(`${text} Code: 0x${code.toString(16)}`), { code });
}
function socketError(code: string): Error & { code: string } {
  return Object.assign(new Error(`connect ${code} 127.0.0.9:636`), { code });
}
const ctx = { where: 'AD ldaps://127.0.0.9', operation: 'bind as svc@example.gov' };

describe('AD error mapping', () => {
  const samba52e = '80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1';

  it('reads the bind sub-code and the Win32 code from the DC text', () => {
    expect(diagnose(ldapError(49, samba52e))).toMatchObject({ resultCode: 49, bindData: '52e', win32: '80090308' });
    for (const [data, reason] of [
      ['525', /no such user/],
      ['52e', /wrong password/],
      ['530', /at this time/],
      ['531', /workstation/],
      ['532', /password has expired/],
      ['533', /disabled/],
      ['701', /account has expired/],
      ['773', /must be changed/],
      ['775', /locked out/],
    ] as const) {
      expect(bindRefusal(ldapError(49, samba52e.replace('52e', data)))).toEqual({ data, reason: expect.stringMatching(reason) });
    }
    expect(bindRefusal(ldapError(32, 'no such object'))).toBeUndefined();
  });

  it("makes the service account's wrong password a config error (exit 2) and its disabled account an action error (exit 1)", () => {
    const wrong = mapAdError(ldapError(49, samba52e), { ...ctx, serviceBind: true });
    expect(wrong).toBeInstanceOf(InputError);
    expect(wrong.exit).toBe(2);
    expect(wrong.message).toMatch(/wrong password .*data 52e/);
    expect(wrong.actions.join(' ')).toMatch(/targets\.ad\.bindDN .*bindPasswordFile or bindPasswordEnv/);
    const disabled = mapAdError(ldapError(49, samba52e.replace('52e', '533')), { ...ctx, serviceBind: true });
    expect(disabled).toBeInstanceOf(ActionError);
    expect(disabled.message).toMatch(/account is disabled \(data 533\)/);
    expect(mapAdError(ldapError(49, samba52e.replace('52e', '701')), ctx).message).toMatch(/bind refused: the account has expired/);
  });

  it('makes a down DC exit 1 and a certificate problem exit 2 naming the config key', () => {
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET']) {
      const e = mapAdError(socketError(code), ctx);
      expect(e).toBeInstanceOf(ActionError);
      expect(e.exit).toBe(1);
      expect(e.code).toBe('ad.unreachable');
    }
    const name = mapAdError(socketError('ERR_TLS_CERT_ALTNAME_INVALID'), ctx);
    expect(name.exit).toBe(2);
    expect(name.message).toMatch(/does not name the host in targets\.ad\.url/);
    const trust = mapAdError(socketError('SELF_SIGNED_CERT_IN_CHAIN'), ctx);
    expect(trust.exit).toBe(2);
    expect(trust.actions.join(' ')).toMatch(/targets\.ad\.caCertificate/);
  });

  it('names password policy, constraint, unwilling, exists, no-such-object and access errors', () => {
    const m = (code: number, text: string, extra = {}) => mapAdError(ldapError(code, text), { ...ctx, operation: 'create CN=x', ...extra });
    expect(m(19, '0000052D: Constraint violation - check_password_restrictions: the password is too short.')).toMatchObject({ code: 'ad.password.policy', exit: 1 });
    expect(m(19, '00002082: some other constraint')).toMatchObject({ code: 'ad.constraint', exit: 1 });
    expect(m(53, '0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM)')).toMatchObject({ code: 'ad.unwilling', exit: 1 });
    expect(m(68, '00002071: entry already exists')).toMatchObject({ code: 'ad.exists', exit: 1 });
    expect(m(32, '0000208D: NameErr', { configField: 'usersDN' })).toMatchObject({ code: 'ad.no-such-object', exit: 2 });
    expect(m(32, '0000208D: NameErr', { configField: 'usersDN' }).message).toMatch(/targets\.ad\.usersDN does not exist/);
    expect(m(32, '0000208D: NameErr')).toMatchObject({ code: 'ad.no-such-object', exit: 1 });
    expect(m(50, '00002098: Insufficient access')).toMatchObject({ code: 'ad.access', exit: 1 });
    expect(m(8, 'BindSimple: Transport encryption required.')).toMatchObject({ code: 'ad.tls.required', exit: 2 });
  });
});

describe('targets.ad config', () => {
  const base = 'url: ldaps://dc1.agency.gov\nbindDN: svc-detailee@agency.gov\nbindPasswordEnv: AD_PW\nusersDN: OU=Detailees,DC=agency,DC=gov\ngroupsDN: OU=Groups,DC=agency,DC=gov\nupnSuffix: agency.gov\ncaCertificate: dc-ca.pem\n';
  const load = (ad: string) => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.yaml'), `targets:\n  ad:\n${ad.trim().split('\n').map((l) => `    ${l}`).join('\n')}\n`);
    return { cfg: () => loadConfig(join(dir, 'c.yaml'), {}, '/'), dir };
  };
  const refusal = (ad: string): string => {
    try {
      load(ad).cfg();
    } catch (e) {
      expect((e as InputError).exit).toBe(2);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('accepts a complete section, resolves its paths, and defaults the first-password step to must-change', () => {
    const { cfg, dir } = load(base);
    warnings.splice(0);
    const ad = cfg().targets.ad!;
    // AD is a target now: no "preview" warning on every run.
    expect(warnings).toEqual([]);
    expect(ad.caCertificate).toBe(join(dir, 'dc-ca.pem'));
    expect(ad.mustChangePassword).toBe(true);
    expect(ad.timeoutMs).toBe(10_000);
    expect(load(base.replace('svc-detailee@agency.gov', 'CN=svc-detailee,OU=Service,DC=agency,DC=gov')).cfg().targets.ad!.bindDN).toMatch(/^CN=svc/);
  });

  it('allows plain LDAP only to a loopback DC, and requires the CA pin otherwise', () => {
    expect(load(base.replace('ldaps://dc1.agency.gov', 'ldap://127.0.0.5').replace('caCertificate: dc-ca.pem\n', 'startTLS: false\n')).cfg().targets.ad!.url).toBe('ldap://127.0.0.5');
    expect(refusal(base.replace('ldaps://dc1.agency.gov', 'ldap://dc1.agency.gov') + 'startTLS: false\n')).toMatch(/targets\.ad\.startTLS: may be false only for a loopback DC/);
    expect(refusal(base.replace('caCertificate: dc-ca.pem\n', ''))).toMatch(/targets\.ad\.caCertificate: is required/);
    expect(refusal(base + 'startTLS: true\n')).toMatch(/targets\.ad\.startTLS: has no meaning with an ldaps:\/\/ URL/);
  });

  it('names the field and the fix for each bad value', () => {
    expect(refusal(base.replace('ldaps://dc1.agency.gov', 'https://dc1'))).toMatch(/targets\.ad\.url: must be an ldaps:\/\/ URL/);
    expect(refusal(base.replace('svc-detailee@agency.gov', 'svc detailee'))).toMatch(/targets\.ad\.bindDN: must be the service account as a DN/);
    expect(refusal(base.replace('OU=Detailees,DC=agency,DC=gov', 'Detailees'))).toMatch(/targets\.ad\.usersDN: must be a DN/);
    expect(refusal(base.replace('upnSuffix: agency.gov', 'upnSuffix: "@agency.gov"'))).toMatch(/targets\.ad\.upnSuffix: must be a DNS-style suffix/);
    expect(refusal(base + 'bindPasswordFile: pw\n')).toMatch(/exactly one of bindPasswordFile or bindPasswordEnv/);
    expect(refusal(base + 'bindPassword: hunter2\n')).not.toMatch(/hunter2/);
  });
});

describe('access.ad in the manifest', () => {
  const dir = tempDir();
  it('is optional, so a v1 manifest without it stays valid, and takes a list of group names', () => {
    expect(loadAssignment(writeManifest(dir, manifest(), 'v1.yaml')).doc.access.ad).toBeUndefined();
    const m = manifest();
    (m.access as Record<string, unknown>).ad = { groups: ['Detailee Analysts', 'vpn-users'] };
    expect(loadAssignment(writeManifest(dir, m, 'ad.yaml')).doc.access.ad).toEqual({ groups: ['Detailee Analysts', 'vpn-users'] });
  });

  it('refuses a group name that is not plain, naming the path', () => {
    const m = manifest();
    (m.access as Record<string, unknown>).ad = { groups: ['CN=Domain Admins,CN=Users'] };
    expect(() => loadAssignment(writeManifest(dir, m, 'bad.yaml'))).toThrow(/access\.ad\.groups\[0\]: must be a plain group name/);
  });
});

describe('AD observation and revocation proof (pure)', () => {
  const entry = {
    dn: 'CN=jd,OU=Detailees,DC=x',
    sAMAccountName: 'jd',
    userAccountControl: '514',
    accountExpires: String(toFileTime('2025-03-01T12:00:00Z')),
    pwdLastSet: '0',
    memberOf: ['CN=b,OU=G,DC=x', 'CN=a,OU=G,DC=x'],
    description: ['hand note', 'detailee:A-1'],
    employeeType: 'detailee',
  };

  it('reads the marker, the flags, the expiry and both membership readings', () => {
    expect(toObservation('jd', entry, ['CN=c,DC=x'])).toEqual({
      username: 'jd',
      exists: true,
      dn: entry.dn,
      managed: true,
      assignmentId: 'A-1',
      userAccountControl: 514,
      disabled: true,
      accountExpires: '2025-03-01T12:00:00.000Z',
      mustChangePassword: true,
      memberOf: ['CN=a,OU=G,DC=x', 'CN=b,OU=G,DC=x'],
      memberOfSearch: ['CN=c,DC=x'],
      attributes: { description: 'detailee:A-1', employeeType: 'detailee' },
    });
    // Unreadable flags are not "enabled"; two detailee descriptions name no assignment.
    const odd = toObservation('jd', { ...entry, userAccountControl: 'x', description: ['detailee:A-1', 'detailee:A-2'] }, []);
    expect(odd.disabled).toBe(true);
    expect(odd.assignmentId).toBeUndefined();
    expect(toObservation('jd', { ...entry, accountExpires: '0' }, []).accountExpires).toBe('never');
  });

  it('proves a revocation only when disabled, expired by the revocation and in no group by either reading', () => {
    const revoked = toObservation('jd', { ...entry, memberOf: [] }, []);
    const expect1 = (revokedAt: string) => ({ target: 'ad' as const, assignmentId: 'A-1', username: 'jd', revokedAt, object: 'cn=jd, ou=Detailees, dc=x' });
    const read = { server: 'ldaps://dc', readAt: '2025-03-02T00:00:00Z' };
    const problems = (o: typeof revoked, at: string) => proofProblems(prove(expect1(at), toObserved(o), read));
    const ok = prove(expect1('2025-03-01T12:00:00Z'), toObserved(revoked), read);
    expect(ok.ok).toBe(true);
    expect(ok.facts.map((f) => f.fact)).toEqual(['identity', 'assignment', 'disabled', 'expiry', 'groups']);
    expect(ok.object).toBe(entry.dn);
    expect(problems(revoked, '2025-03-01T11:59:59.999Z')).toEqual([expect.stringMatching(/^expiry: accountExpires 2025-03-01T12:00:00.000Z is not at or before/)]);
    expect(problems({ ...revoked, disabled: false, userAccountControl: 512 }, '2025-03-02T00:00:00Z')).toEqual(['disabled: userAccountControl 512 (NORMAL_ACCOUNT)']);
    expect(problems({ ...revoked, accountExpires: 'never' }, '2025-03-02T00:00:00Z')).toEqual([expect.stringMatching(/^expiry: accountExpires never/)]);
    expect(problems({ ...revoked, memberOfSearch: ['CN=g,DC=x'] }, '2025-03-02T00:00:00Z')).toEqual(['groups: still in CN=g,DC=x']);
    expect(problems({ ...revoked, memberOf: ['CN=g,DC=x'] }, '2025-03-02T00:00:00Z')).toEqual(['groups: still in CN=g,DC=x']);
    expect(problems({ ...revoked, assignmentId: 'A-2' }, '2025-03-02T00:00:00Z')).toEqual(['assignment: marked for A-2, not A-1']);
    // Unreadable flags are not proven disabled.
    const { userAccountControl: _u, ...noFlags } = revoked;
    expect(problems(noFlags, '2025-03-02T00:00:00Z')).toEqual(['disabled: userAccountControl unreadable']);
    expect(prove(expect1('2025-03-02T00:00:00Z'), toObserved({ ...revoked, exists: false }), read).ok).toBe(true);
  });

  it('refuses a username AD cannot hold as sAMAccountName (20 characters at most)', () => {
    expect(() => checkAdUsername('a2345678901234567890')).not.toThrow();
    expect(() => checkAdUsername('a23456789012345678901')).toThrow(/at most 20 characters/);
  });
});

describe('AD transport decision (pure)', () => {
  const ca = () => Buffer.from('PEM');
  it('uses TLS with the pinned CA and checks the URL host; plain LDAP only to loopback', () => {
    expect(adTransport({ url: 'ldaps://dc1.agency.gov', caCertificate: 'ca.pem' }, ca)).toEqual({ transport: 'ldaps', tlsOptions: { ca: Buffer.from('PEM'), host: 'dc1.agency.gov', servername: 'dc1.agency.gov' } });
    // An address is checked against the certificate's IP SAN and never sent as SNI.
    expect(adTransport({ url: 'ldap://127.0.0.9', startTLS: true, caCertificate: 'ca.pem' }, ca)).toEqual({ transport: 'starttls', tlsOptions: { ca: Buffer.from('PEM'), host: '127.0.0.9' } });
    expect(adTransport({ url: 'ldap://127.0.0.9' }, ca).transport).toBe('plain');
    expect(() => adTransport({ url: 'ldap://dc1.agency.gov' }, ca)).toThrow(/plain LDAP to dc1\.agency\.gov, which is not a loopback address/);
    expect(() => adTransport({ url: 'ldaps://dc1.agency.gov' }, ca)).toThrow(/targets\.ad\.caCertificate is not set/);
    expect(() =>
      adTransport({ url: 'ldaps://dc1.agency.gov', caCertificate: '/nope.pem' }, () => {
        throw new Error('ENOENT');
      }),
    ).toThrow(/targets\.ad\.caCertificate \/nope\.pem cannot be read/);
  });
});

describe('AD provisioning drift (pure)', () => {
  const o = toObservation('jd', { dn: 'CN=jd,OU=D,DC=x', userAccountControl: '514', accountExpires: String(toFileTime('2025-04-01T04:00:00Z')), memberOf: ['CN=g1,OU=G,DC=x'], description: 'detailee:A-1', employeeType: 'detailee' }, ['CN=g1,OU=G,DC=x']);
  const promise = { assignmentId: 'A-1', startsAt: '2025-03-01T05:00:00Z', endsAt: '2025-04-01T04:00:00Z', groupDNs: ['CN=g1,OU=G,DC=x'] };

  it('accepts a disabled account before the start and asks for it to be enabled inside the term', () => {
    expect(provisionProblems(o, promise, new Date('2025-02-28T12:00:00Z'))).toEqual([]);
    expect(provisionProblems(o, promise, new Date('2025-03-01T05:00:00Z'))).toEqual(['disabled inside the term']);
    expect(provisionProblems({ ...o, disabled: false, userAccountControl: 512 }, promise, new Date('2025-03-02T00:00:00Z'))).toEqual([]);
  });

  it('reports an account enabled early, another assignment, a missing or extra group, a moved expiry, unsafe flags', () => {
    const early = new Date('2025-02-28T12:00:00Z');
    expect(provisionProblems({ ...o, disabled: false, userAccountControl: 512 }, promise, early)).toEqual(['enabled before the start at 2025-03-01T05:00:00Z']);
    expect(provisionProblems({ ...o, assignmentId: 'A-2' }, promise, early)).toEqual([expect.stringMatching(/not marked as assignment A-1/)]);
    expect(provisionProblems({ ...o, memberOf: [], memberOfSearch: [] }, promise, early)).toEqual(['not in CN=g1,OU=G,DC=x']);
    expect(provisionProblems({ ...o, memberOfSearch: ['CN=g1,OU=G,DC=x', 'CN=admins,DC=x'] }, promise, early)).toEqual(['in CN=admins,DC=x, which the assignment does not grant']);
    expect(provisionProblems({ ...o, accountExpires: 'never' }, promise, early)).toEqual(['accountExpires is never, not the end of the term 2025-04-01T04:00:00.000Z']);
    expect(provisionProblems({ ...o, userAccountControl: 514 | 0x20 }, promise, early)).toEqual(['userAccountControl has PASSWD_NOTREQD']);
    expect(provisionProblems({ ...o, exists: false }, promise, early)).toEqual(['the account does not exist']);
  });
});
