import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdConfig } from '../../src/config/schema.js';
import { ActionError, InputError } from '../../src/errors.js';
import { AdClient, type AdDesired } from '../../src/targets/ad/client.js';
import { bindRefusal } from '../../src/targets/ad/errors.js';
import { tempDir } from '../helpers/manifest.js';
import { startSambaDC, sambaSkipReason, type SambaDC } from '../helpers/samba.js';

/**
 * The AD client against a real Samba AD domain controller (one per file, on its own loopback
 * address). Access is shown the way a detailee would try it: a real LDAP simple bind followed by a
 * search, and a real kinit against the DC's KDC.
 *
 * The DC judges accountExpires by its own clock, the machine's. So the terms below are placed
 * relative to the real time (a term that ended an hour ago, one that starts tomorrow), and
 * detailee's own decisions (provision before the start, enable inside the term) are given an
 * injected clock. No test sleeps.
 */
const skip = sambaSkipReason();
if (skip) console.warn(`ad.test.ts: ${skip}`);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
/** Known first passwords for the tests' own binds (complex enough for the default policy). */
const PW = 'Tst-first-Passw0rd!';

describe.skipIf(skip !== undefined)('Active Directory client against a real Samba DC', () => {
  let dc: SambaDC;
  /** What detailee believes the time is; each test sets it. */
  let now = new Date();
  const clock = { now: () => now };
  let config: AdConfig;
  const clients: AdClient[] = [];
  /** The account provisioned before its start in the first test, enabled in the second. */
  let before: AdDesired;

  const open = async (over: Partial<AdConfig> = {}, password = dc.adminPassword): Promise<AdClient> => {
    const c = await AdClient.connect({ ...config, ...over }, password, { clock });
    clients.push(c);
    return c;
  };

  const desired = (username: string, startsAt: number, endsAt: number, groups: string[] = []): AdDesired => ({
    assignmentId: `A-${username}`,
    username,
    givenName: 'Grace',
    familyName: `Hopper ${username}`,
    email: `${username}@home.example.gov`,
    groups,
    startsAt: iso(startsAt),
    endsAt: iso(endsAt),
  });

  const upn = (u: string) => `${u}@${dc.upnSuffix}`;
  /** Kerberos wants the realm in capitals. */
  const principal = (u: string) => `${u}@${dc.realm}`;
  async function refusedBind(u: string, pw = PW): Promise<string> {
    const r = await dc.bindAs(upn(u), pw);
    expect(r.ok, `bind as ${u} was accepted`).toBe(false);
    return r.ok ? '' : (bindRefusal(r.error)?.data ?? r.error.message);
  }

  beforeAll(async () => {
    dc = await startSambaDC();
    config = {
      url: dc.url,
      bindDN: dc.adminDN,
      bindPasswordEnv: 'UNUSED',
      usersDN: dc.usersDN,
      groupsDN: dc.groupsDN,
      upnSuffix: dc.upnSuffix,
      caCertificate: dc.caFile,
      mustChangePassword: false,
      timeoutMs: 10_000,
    };
    await dc.addGroup('Detailee Analysts');
    await dc.addGroup('vpn-users');
    // The first DC of a run provisions the domain template: ~7 s idle, over 90 s measured under load.
  }, 400_000);
  afterAll(async () => {
    for (const c of clients) await c.close();
    await dc?.stop();
  });

  it('provisions a disabled account before the start: the DC refuses the bind (data 533) and kinit', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const d = desired('gh.before', real + DAY, real + 30 * DAY, ['Detailee Analysts', 'vpn-users']);
    before = d;
    const o = await ad.provisionUser(d, { mustChangePassword: false });
    expect(o).toMatchObject({ exists: true, managed: true, assignmentId: 'A-gh.before', disabled: true, accountExpires: d.endsAt, dn: `CN=gh.before,${dc.usersDN}` });
    expect(o.memberOf.map((g) => g.split(',')[0])).toEqual(['CN=Detailee Analysts', 'CN=vpn-users']);
    expect(o.memberOfSearch).toEqual(o.memberOf);
    const entry = await dc.admin((c) => c.search(o.dn!, { scope: 'base', attributes: ['userPrincipalName', 'displayName', 'mail', 'sn', 'givenName'] }));
    expect(entry.searchEntries[0]).toMatchObject({ userPrincipalName: upn('gh.before'), displayName: 'Grace Hopper gh.before', mail: 'gh.before@home.example.gov' });

    await ad.setInitialPassword('gh.before', 'A-gh.before', PW, { mustChange: false });
    expect(await refusedBind('gh.before')).toBe('533');
    const k = dc.kinit(principal('gh.before'), PW);
    expect(k.ok).toBe(false);
    expect(k.output).toMatch(/credentials have been revoked/i);
  });

  it('enables it inside the term (proved by a fresh read), and then the bind and kinit work', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    // Disabled before the start is what provisioning promised; enabling early is refused.
    expect(await ad.proveProvisioned(before)).toMatchObject({ ok: true, problems: [] });
    await expect(ad.enable('gh.before', 'A-gh.before', before.startsAt)).rejects.toMatchObject({ code: 'ad.enable.early', exit: 2 });
    expect((await ad.observe('gh.before')).disabled).toBe(true);
    // The nightly job on the start day.
    now = new Date(Date.parse(before.startsAt) + HOUR);
    expect((await ad.proveProvisioned(before)).problems).toEqual(['disabled inside the term']);
    const proof = await ad.enable('gh.before', 'A-gh.before', before.startsAt);
    expect(proof).toMatchObject({ ok: true, problems: [], observed: { disabled: false } });
    expect(await dc.bindAs(upn('gh.before'), PW)).toEqual({ ok: true });
    expect(await dc.bindAs(`CN=gh.before,${dc.usersDN}`, PW)).toEqual({ ok: true });
    const k = dc.kinit(principal('gh.before'), PW);
    expect(k.output).not.toMatch(/revoked|expired/i);
    expect(k.ok).toBe(true);
  });

  it('is refused by the DC itself after the end, with no further action (data 701)', async () => {
    const real = Date.now();
    // Provisioned during a term that, by the DC's clock, ended an hour ago; nothing runs after.
    now = new Date(real - 10 * DAY);
    const ad = await open();
    const o = await ad.provisionUser(desired('gh.ended', real - 11 * DAY, real - HOUR), { mustChangePassword: false });
    expect(o).toMatchObject({ disabled: false, accountExpires: iso(real - HOUR) });
    await ad.setInitialPassword('gh.ended', 'A-gh.ended', PW, { mustChange: false });
    expect(await refusedBind('gh.ended')).toBe('701');
    const k = dc.kinit(principal('gh.ended'), PW);
    expect(k.ok).toBe(false);
    expect(k.output).toMatch(/credentials have been revoked/i);
    // And enable refuses to re-open it.
    now = new Date(real);
    await expect(ad.enable('gh.ended', 'A-gh.ended', iso(real - 11 * DAY))).rejects.toMatchObject({ code: 'ad.enable.expired', exit: 1 });
  });

  it('revokes: disabled, accountExpires at the revocation, no group; the old password refused (52e), a reset one too (533), kinit refused', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const revokedAt = iso(real);
    const proof = await ad.revoke('gh.before', 'A-gh.before', revokedAt);
    expect(proof.problems).toEqual([]);
    expect(proof.ok).toBe(true);
    expect(proof.observed).toMatchObject({ disabled: true, accountExpires: revokedAt, memberOf: [], memberOfSearch: [] });
    // A fresh client, a fresh read: the proof is what the DC holds, not what the revoking client remembers.
    const fresh = await (await open()).observe('gh.before');
    expect(fresh).toMatchObject({ disabled: true, accountExpires: revokedAt, memberOf: [], memberOfSearch: [] });
    // The password was replaced: the old one is refused as a wrong password.
    expect(await refusedBind('gh.before')).toBe('52e');
    expect(dc.kinit(principal('gh.before'), PW).ok).toBe(false);
    // Even a password someone resets by hand does not open it: the DC refuses the account itself.
    const PW2 = 'Tst-helpdesk-Res3t!';
    await dc.admin((c) => import('ldapts').then(({ Change, Attribute }) => c.modify(fresh.dn!, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${PW2}"`, 'utf16le')] as unknown as string[] }) }),
    ])));
    expect(await refusedBind('gh.before', PW2)).toBe('533');
    const k = dc.kinit(principal('gh.before'), PW2);
    expect(k.ok).toBe(false);
    expect(k.output).toMatch(/credentials have been revoked/i);
    // The old password is gone, not only the account shut: with the flag and the expiry lifted by hand the DC still refuses it.
    await dc.admin((c) => import('ldapts').then(({ Change, Attribute }) => c.modify(fresh.dn!, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'accountExpires', values: ['0'] }) }),
    ])));
    expect(await refusedBind('gh.before')).toBe('52e');
    // The drift that hand edit made is what a proof reports.
    const drift = await ad.proveRevoked('gh.before', revokedAt);
    expect(drift.ok).toBe(false);
    expect(drift.problems.join('\n')).toMatch(/not disabled[\s\S]*accountExpires never is after the revocation/);
    // Revoking again converges and proves it.
    expect((await ad.revoke('gh.before', 'A-gh.before', revokedAt)).ok).toBe(true);
    // A revoked account is never re-opened by provisioning or renewing it again.
    await expect(ad.provisionUser(before, { mustChangePassword: false })).rejects.toMatchObject({ code: 'ad.ended', exit: 1 });
    await expect(ad.setExpiry('gh.before', 'A-gh.before', iso(real + 60 * DAY))).rejects.toMatchObject({ code: 'ad.ended', exit: 1 });
    expect(await ad.proveRevoked('gh.before', revokedAt)).toMatchObject({ ok: true, observed: { accountExpires: revokedAt } });
  });

  it('makes the first password one the detailee must change: the bind answers data 773', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    await ad.provisionUser(desired('gh.first', real - HOUR, real + 30 * DAY), { mustChangePassword: true });
    expect((await ad.observe('gh.first')).mustChangePassword).toBe(true);
    await ad.setInitialPassword('gh.first', 'A-gh.first', PW, { mustChange: true });
    expect(await refusedBind('gh.first')).toBe('773');
  });

  it('renews by moving accountExpires, adds and removes groups idempotently, and reads memberOf both ways', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    await ad.provisionUser(desired('gh.renew', real - HOUR, real + 10 * DAY), { mustChangePassword: false });
    const later = iso(real + 40 * DAY);
    expect(await ad.setExpiry('gh.renew', 'A-gh.renew', later)).toMatchObject({ ok: true, observed: { accountExpires: later } });
    await ad.addToGroup('gh.renew', 'vpn-users');
    await ad.addToGroup('gh.renew', 'vpn-users');
    const o = await ad.observe('gh.renew');
    expect(o.memberOf).toEqual([`CN=vpn-users,${dc.groupsDN}`]);
    expect(o.memberOfSearch).toEqual([`CN=vpn-users,${dc.groupsDN}`]);
    await ad.removeFromGroup('gh.renew', 'vpn-users');
    await ad.removeFromGroup('gh.renew', 'vpn-users');
    expect((await ad.observe('gh.renew')).memberOf).toEqual([]);
    // Provisioning again converges on the same account and never resets it to a new one.
    const renewed = desired('gh.renew', real - HOUR, real + 40 * DAY);
    const again = await ad.provisionUser(renewed, { mustChangePassword: false });
    expect(again).toMatchObject({ dn: o.dn, accountExpires: later, disabled: false });
    expect(await ad.proveProvisioned(renewed)).toMatchObject({ ok: true, problems: [] });
  });

  it("finds drift made by hand: a group re-added, the expiry pushed out, a password made optional", async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const d = desired('gh.drift', real - HOUR, real + 10 * DAY, ['vpn-users']);
    await ad.provisionUser(d, { mustChangePassword: false });
    expect((await ad.proveProvisioned(d)).ok).toBe(true);
    const dn = `CN=gh.drift,${dc.usersDN}`;
    const { Change, Attribute } = await import('ldapts');
    const replace = (type: string, value: string) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
    await dc.admin(async (c) => {
      await c.modify(`CN=Detailee Analysts,${dc.groupsDN}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
      await c.modify(dn, [replace('accountExpires', '9223372036854775807'), replace('userAccountControl', String(0x200 | 0x20))]);
    });
    const drift = await ad.proveProvisioned(d);
    expect(drift.ok).toBe(false);
    expect(drift.problems).toEqual([
      `accountExpires is never, not the end of the term ${d.endsAt}`,
      `in CN=Detailee Analysts,${dc.groupsDN}, which the assignment does not grant`,
      'userAccountControl has PASSWD_NOTREQD',
    ]);
  });

  it('lists its own accounts, reports the unmarked ones as orphans, and never takes one over', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const foreign = await dc.addForeignUser('legacy.user');
    const managed = (await ad.listManaged()).map((o) => o.username);
    expect(managed).toEqual(expect.arrayContaining(['gh.before', 'gh.drift', 'gh.ended', 'gh.first', 'gh.renew']));
    expect(managed).not.toContain('legacy.user');
    expect(await ad.listOrphans()).toEqual([{ dn: foreign, sAMAccountName: 'legacy.user' }]);
    await expect(ad.provisionUser(desired('legacy.user', real, real + DAY), { mustChangePassword: false })).rejects.toMatchObject({ code: 'ad.foreign-entry', exit: 1 });
    await expect(ad.revoke('legacy.user', 'A-legacy.user', iso(real))).rejects.toMatchObject({ code: 'ad.foreign-entry' });
    const untouched = await ad.observe('legacy.user');
    expect(untouched).toMatchObject({ managed: false, disabled: true, memberOf: [] });
    expect(untouched.accountExpires).toBe('never');
  });

  it('refuses an unknown group and a too-long logon name before creating anything', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const e = await ad.provisionUser(desired('gh.nogroup', real, real + DAY, ['no-such-group']), { mustChangePassword: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/AD group no-such-group not found/);
    expect((await ad.observe('gh.nogroup')).exists).toBe(false);
    await expect(ad.provisionUser(desired('a.very.long.username.x', real, real + DAY), { mustChangePassword: false })).rejects.toMatchObject({ code: 'ad.username', exit: 2 });
  });

  it('maps a wrong service password (data 52e) to exit 2, a wrong CA or host name to exit 2, a missing usersDN to exit 2', async () => {
    const wrong = await AdClient.connect(config, 'not-the-password', { clock }).catch((x: unknown) => x);
    expect(wrong).toBeInstanceOf(InputError);
    expect((wrong as InputError).exit).toBe(2);
    expect((wrong as InputError).message).toMatch(/refused the service account's bind: wrong password .*\(data 52e\)/);
    expect((wrong as InputError).actions.join(' ')).toMatch(/targets\.ad\.bindDN/);

    // Another CA: the pin refuses the DC.
    const otherCa = join(tempDir(), 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${otherCa}.key`, '-out', otherCa, '-days', '2', '-subj', '/CN=another CA'], { stdio: 'ignore' });
    const other = await AdClient.connect({ ...config, caCertificate: otherCa }, dc.adminPassword, { clock }).catch((x: unknown) => x);
    expect(other).toBeInstanceOf(InputError);
    expect((other as InputError).code).toBe('ad.tls.trust');

    // The right CA, but reached under a name the certificate does not carry (127.0.0.1 through a relay).
    const relay = await new Promise<Server>((resolve) => {
      const s = createServer((client: Socket) => {
        const up = connect({ host: dc.ip, port: 636 });
        client.pipe(up).pipe(client);
        client.on('error', () => up.destroy());
        up.on('error', () => client.destroy());
      });
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const port = (relay.address() as { port: number }).port;
      const name = await AdClient.connect({ ...config, url: `ldaps://127.0.0.1:${port}` }, dc.adminPassword, { clock }).catch((x: unknown) => x);
      expect(name).toBeInstanceOf(InputError);
      expect((name as InputError).code).toBe('ad.tls.name');
      expect((name as InputError).message).toMatch(/certificate does not name the host in targets\.ad\.url/);
    } finally {
      relay.close();
    }

    const ad = await open({ usersDN: `OU=Nowhere,${dc.baseDN}` });
    const missing = await ad.listManaged().catch((x: unknown) => x);
    expect(missing).toBeInstanceOf(InputError);
    expect((missing as InputError).message).toMatch(/targets\.ad\.usersDN does not exist/);
  });

  it('speaks StartTLS on ldap:// with the same pin, and a plain bind is refused by the DC (exit 2, names the fix)', async () => {
    const ad = await open({ url: dc.ldapUrl, startTLS: true });
    expect((await ad.observe('gh.renew')).exists).toBe(true);
    // Plain LDAP is allowed by detailee to a loopback DC only; Samba itself insists on encryption for a simple bind.
    const plain = await AdClient.connect({ ...config, url: dc.ldapUrl, startTLS: false }, dc.adminPassword, { clock }).catch((x: unknown) => x);
    expect(plain).toBeInstanceOf(InputError);
    expect((plain as InputError).code).toBe('ad.tls.required');
    expect((plain as InputError).actions.join(' ')).toMatch(/ldaps:\/\/ URL .*startTLS/);
    // And to a DC elsewhere, plain LDAP is refused before any connection.
    await expect(AdClient.connect({ ...config, url: 'ldap://dc1.agency.example', startTLS: false }, 'x', { clock })).rejects.toMatchObject({ code: 'ad.insecure', exit: 2 });
  });

  it('counts the LDAP operations it sends: provisioning and revocation of one account', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const before = { ...ad.operations };
    await ad.provisionUser(desired('gh.count', real - HOUR, real + DAY, ['vpn-users']), { mustChangePassword: true });
    const provision = { search: ad.operations.search - before.search, add: ad.operations.add - before.add, modify: ad.operations.modify - before.modify };
    // find the group, look for the account (absent), add it, add it to the group, read it back (entry + groups).
    expect(provision).toEqual({ search: 4, add: 1, modify: 1 });
    const mid = { ...ad.operations };
    expect((await ad.revoke('gh.count', 'A-gh.count', iso(real))).ok).toBe(true);
    // read (entry + groups), disable and expire, password, remove from the group, proof read (entry + groups).
    expect({ search: ad.operations.search - mid.search, modify: ad.operations.modify - mid.modify }).toEqual({ search: 4, modify: 3 });
    expect(ad.operations.bind).toBe(1);
  });

  it('maps a DC that is down to exit 1', async () => {
    await dc.kill();
    const down = await AdClient.connect(config, dc.adminPassword, { clock }).catch((x: unknown) => x);
    expect(down).toBeInstanceOf(ActionError);
    expect((down as ActionError).exit).toBe(1);
    expect((down as ActionError).code).toBe('ad.unreachable');
    expect((down as ActionError).message).toMatch(/the domain controller did not answer \(ECONNREFUSED\)/);
  });
});
