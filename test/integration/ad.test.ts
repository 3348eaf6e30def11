import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdConfig } from '../../src/config/schema.js';
import { ActionError, InputError } from '../../src/errors.js';
import { bindRefusal } from '../../src/targets/ad/errors.js';
import { createAdTarget } from '../../src/targets/ad/index.js';
import { adFacts, toObserved, type AdDesired, type AdObservation, type AdOperation } from '../../src/targets/ad/model.js';
import type { Intent } from '../../src/targets/model.js';
import type { Target, VerifyResult } from '../../src/targets/target.js';
import { tempDir } from '../helpers/manifest.js';
import { startSambaDC, sambaSkipReason, type SambaDC } from '../helpers/samba.js';

/**
 * The AD target against a real Samba AD domain controller (one per file, on its own loopback
 * address), through the one Target interface: inspect, plan (pure), apply one step, verify. Access
 * is shown the way a detailee would try it: a real LDAP simple bind followed by a search, and a
 * real kinit against the DC's KDC.
 *
 * The DC judges accountExpires by its own clock, the machine's. So the terms below are placed
 * relative to the real time (a term that ended an hour ago, one that starts tomorrow), and
 * detailee's own decisions (create disabled before the start, enable inside the term) are given an
 * injected clock. No test sleeps.
 */
const skip = sambaSkipReason();
if (skip) console.warn(`ad.test.ts: ${skip}`);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
/** Known first passwords for the tests' own binds (complex enough for the default policy). */
const PW = 'Tst-first-Passw0rd!';

describe.skipIf(skip !== undefined)('Active Directory target against a real Samba DC', () => {
  let dc: SambaDC;
  /** What detailee believes the time is; each test sets it. */
  let now = new Date();
  const clock = { now: () => now };
  let config: AdConfig;
  const targets: Target[] = [];
  const ops: Record<AdOperation, number> = { bind: 0, search: 0, add: 0, modify: 0, delete: 0 };
  /** The account provisioned before its start in the first test, enabled in the second. */
  let before: AdDesired;

  /** A target's first read (which binds), or what it threw. */
  const firstRead = async (over: Partial<AdConfig>, password = dc.adminPassword): Promise<unknown> => {
    const t = await createAdTarget({ ...config, ...over }, password, { clock });
    targets.push(t);
    return t.inspect('nobody').catch((x: unknown) => x);
  };
  const open = async (over: Partial<AdConfig> = {}, password = dc.adminPassword): Promise<Target> => {
    const t = await createAdTarget({ ...config, ...over }, password, { clock, onCall: (k) => ops[k]++ });
    targets.push(t);
    return t;
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
  const provision = (d: AdDesired): Intent => ({ kind: 'provision', desired: { ...d, policies: [] } });
  const revoke = (u: string, revokedAt: string): Intent => ({ kind: 'revoke', assignmentId: `A-${u}`, username: u, revokedAt, object: `CN=${u},${dc.usersDN}` });

  /** What the lifecycle does: read, plan, apply each step, verify from a fresh read. */
  async function converge(t: Target, intent: Intent): Promise<{ steps: string[]; result: VerifyResult }> {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    const steps = t.plan(await t.inspect(username, intent.kind), intent);
    for (const s of steps) await t.apply(s);
    return { steps: steps.map((s) => s.id), result: await t.verify(intent) };
  }
  const read = async (t: Target, u: string): Promise<AdObservation> => adFacts(await t.observe(u));

  const upn = (u: string) => `${u}@${dc.upnSuffix}`;
  /** Kerberos wants the realm in capitals. */
  const principal = (u: string) => `${u}@${dc.realm}`;
  /** The help desk sets a first password the way it would by hand (detailee never learns one). */
  async function helpDeskPassword(dn: string, password: string, mustChange = false): Promise<void> {
    await dc.admin((c) =>
      c.modify(dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] as unknown as string[] }) }),
        ...(mustChange ? [new Change({ operation: 'replace', modification: new Attribute({ type: 'pwdLastSet', values: ['0'] }) })] : []),
      ]),
    );
  }
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
    for (const t of targets) await t.close();
    await dc?.stop();
  });

  it('provisions a disabled account before the start: the DC refuses the bind (data 533) and kinit', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const d = desired('gh.before', real + DAY, real + 30 * DAY, ['Detailee Analysts', 'vpn-users']);
    before = d;
    await ad.preflight(provision(d));
    const { steps, result } = await converge(ad, provision(d));
    expect(steps).toEqual(['ad.user.create', 'ad.group.add:Detailee Analysts', 'ad.group.add:vpn-users']);
    expect(result).toMatchObject({ ok: true, problems: [] });
    const o = await read(ad, 'gh.before');
    expect(o).toMatchObject({ exists: true, managed: true, assignmentId: 'A-gh.before', disabled: true, accountExpires: d.endsAt, dn: `CN=gh.before,${dc.usersDN}` });
    expect(o.memberOf.map((g) => g.split(',')[0])).toEqual(['CN=Detailee Analysts', 'CN=vpn-users']);
    expect(o.memberOfSearch).toEqual(o.memberOf);
    expect((await ad.observe('gh.before')).groups).toEqual(['Detailee Analysts', 'vpn-users']);
    const entry = await dc.admin((c) => c.search(o.dn!, { scope: 'base', attributes: ['userPrincipalName', 'displayName', 'mail', 'sn', 'givenName'] }));
    expect(entry.searchEntries[0]).toMatchObject({ userPrincipalName: upn('gh.before'), displayName: 'Grace Hopper gh.before', mail: 'gh.before@home.example.gov' });
    // Planning again changes nothing: the disabled account is what the term asks for before its start.
    expect(ad.plan(await ad.inspect('gh.before'), provision(d))).toEqual([]);

    await helpDeskPassword(o.dn!, PW);
    expect(await refusedBind('gh.before')).toBe('533');
    const k = dc.kinit(principal('gh.before'), PW);
    expect(k.ok).toBe(false);
    expect(k.output).toMatch(/credentials have been revoked/i);
  });

  it('enables it from the start on (proved by a fresh read), and then the bind and kinit work', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    expect((await ad.verify(provision(before))).problems).toEqual([]);
    // The nightly job on the start day.
    now = new Date(Date.parse(before.startsAt) + HOUR);
    expect((await ad.verify(provision(before))).problems).toEqual(['disabled inside the term']);
    const { steps, result } = await converge(ad, provision(before));
    expect(steps).toEqual(['ad.enable']);
    expect(result).toMatchObject({ ok: true, problems: [], observed: { enabled: true } });
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
    const d = desired('gh.ended', real - 11 * DAY, real - HOUR);
    expect((await converge(ad, provision(d))).result.ok).toBe(true);
    const o = await read(ad, 'gh.ended');
    expect(o).toMatchObject({ disabled: false, accountExpires: iso(real - HOUR) });
    await helpDeskPassword(o.dn!, PW);
    expect(await refusedBind('gh.ended')).toBe('701');
    const k = dc.kinit(principal('gh.ended'), PW);
    expect(k.ok).toBe(false);
    expect(k.output).toMatch(/credentials have been revoked/i);
    // And provisioning never re-opens it.
    now = new Date(real);
    expect(() => ad.plan(toObserved(o), provision({ ...d, endsAt: iso(real + DAY) }))).toThrow(/ended or was revoked/);
  });

  it('revokes: disabled, accountExpires at the revocation, no group; the old password refused (52e), a reset one too (533), kinit refused', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const revokedAt = iso(real);
    const { steps, result } = await converge(ad, revoke('gh.before', revokedAt));
    expect(steps).toEqual([
      'ad.disable',
      'ad.password.scramble',
      `ad.group.remove:CN=Detailee Analysts,${dc.groupsDN}`,
      `ad.group.remove:CN=vpn-users,${dc.groupsDN}`,
    ]);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.proof).toMatchObject({ target: 'ad', ok: true, object: `CN=gh.before,${dc.usersDN}`, server: dc.url });
    expect(result.proof!.facts.map((f) => [f.fact, f.ok, f.read])).toEqual([
      ['identity', true, 'live'],
      ['assignment', true, 'live'],
      ['disabled', true, 'live'],
      ['expiry', true, 'live'],
      ['groups', true, 'live'],
    ]);
    // A fresh target, a fresh read: the proof is what the DC holds, not what the revoking client remembers.
    const fresh = await read(await open(), 'gh.before');
    expect(fresh).toMatchObject({ disabled: true, accountExpires: revokedAt, memberOf: [], memberOfSearch: [] });
    // The password was replaced: the old one is refused as a wrong password.
    expect(await refusedBind('gh.before')).toBe('52e');
    expect(dc.kinit(principal('gh.before'), PW).ok).toBe(false);
    // Even a password someone resets by hand does not open it: the DC refuses the account itself.
    const PW2 = 'Tst-helpdesk-Res3t!';
    await helpDeskPassword(fresh.dn!, PW2);
    expect(await refusedBind('gh.before', PW2)).toBe('533');
    const k = dc.kinit(principal('gh.before'), PW2);
    expect(k.ok).toBe(false);
    expect(k.output).toMatch(/credentials have been revoked/i);
    await helpDeskPassword(fresh.dn!, PW);
    expect(await refusedBind('gh.before', PW)).toBe('533');
  });

  it('finds a hand re-enable after revocation and converges again', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const revokedAt = (await read(ad, 'gh.before')).accountExpires!;
    const dn = `CN=gh.before,${dc.usersDN}`;
    await dc.admin(async (c) => {
      await c.modify(dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'accountExpires', values: ['0'] }) }),
      ]);
      await c.modify(`CN=vpn-users,${dc.groupsDN}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
    });
    // The hand re-enable let the last known password in again: only a proof catches it.
    expect(await dc.bindAs(upn('gh.before'), PW)).toEqual({ ok: true });
    const drift = await ad.verify(revoke('gh.before', revokedAt));
    expect(drift.ok).toBe(false);
    expect(drift.problems).toEqual([
      'disabled: userAccountControl 512 (NORMAL_ACCOUNT)',
      `expiry: accountExpires never is not at or before ${revokedAt}`,
      `groups: still in CN=vpn-users,${dc.groupsDN}`,
    ]);
    const again = await converge(ad, revoke('gh.before', revokedAt));
    expect(again.steps).toEqual(['ad.disable', 'ad.password.scramble', `ad.group.remove:CN=vpn-users,${dc.groupsDN}`]);
    expect(again.result.ok).toBe(true);
    expect(await refusedBind('gh.before')).toBe('52e');
    // Revoking a proven revocation again plans nothing.
    expect(ad.plan(await ad.inspect('gh.before'), revoke('gh.before', revokedAt))).toEqual([]);
    // A revoked account is never re-opened by provisioning or renewing it again.
    expect(() => ad.plan(again.result.observed, provision(before))).toThrow(/ended or was revoked/);
    const renew: Intent = { kind: 'renew', desired: { ...before, endsAt: iso(real + 60 * DAY), policies: [] } };
    expect(() => ad.plan(again.result.observed, renew)).toThrow(expect.objectContaining({ code: 'ad.ended', exit: 1 }));
  });

  it('makes the first password one the detailee must change: the bind answers data 773', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open({ mustChangePassword: true });
    await converge(ad, provision(desired('gh.first', real - HOUR, real + 30 * DAY)));
    const o = await read(ad, 'gh.first');
    expect(o.mustChangePassword).toBe(true);
    await helpDeskPassword(o.dn!, PW, true);
    expect(await refusedBind('gh.first')).toBe('773');
  });

  it('renews by moving accountExpires, applies group steps idempotently, and reads memberOf both ways', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const d = desired('gh.renew', real - HOUR, real + 10 * DAY, ['vpn-users']);
    const first = await converge(ad, provision(d));
    expect(first.result.ok).toBe(true);
    const later = iso(real + 40 * DAY);
    const renew: Intent = { kind: 'renew', desired: { ...d, endsAt: later, policies: [] } };
    const r = await converge(ad, renew);
    expect(r.steps).toEqual(['ad.expiry.set']);
    expect(r.result).toMatchObject({ ok: true, observed: { endsAt: later } });
    // The same step twice has the effect of once.
    const o = await read(ad, 'gh.renew');
    const remove = ad.plan(await ad.inspect('gh.renew'), revoke('gh.renew', iso(real))).filter((s) => s.id.startsWith('ad.group.remove'));
    for (const s of [...remove, ...remove]) await ad.apply(s);
    expect((await read(ad, 'gh.renew')).memberOf).toEqual([]);
    const add = ad.plan(await ad.inspect('gh.renew'), provision({ ...d, endsAt: later })).filter((s) => s.id.startsWith('ad.group.add'));
    for (const s of [...add, ...add]) await ad.apply(s);
    expect((await read(ad, 'gh.renew')).memberOfSearch).toEqual([`CN=vpn-users,${dc.groupsDN}`]);
    expect(await ad.verify(provision({ ...d, endsAt: later }))).toMatchObject({ ok: true, problems: [] });
    expect((await read(ad, 'gh.renew')).dn).toBe(o.dn);
  });

  it('finds drift made by hand on an active account: a group added, the expiry pushed out, a password made optional', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const d = desired('gh.drift', real - HOUR, real + 10 * DAY, ['vpn-users']);
    expect((await converge(ad, provision(d))).result.ok).toBe(true);
    const dn = `CN=gh.drift,${dc.usersDN}`;
    const replace = (type: string, value: string) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
    await dc.admin(async (c) => {
      await c.modify(`CN=Detailee Analysts,${dc.groupsDN}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
      await c.modify(dn, [replace('accountExpires', '9223372036854775807'), replace('userAccountControl', String(0x200 | 0x20))]);
    });
    const drift = await ad.verify(provision(d));
    expect(drift.ok).toBe(false);
    // The group added by hand is reconcile's finding (from the groups observed), not verify's.
    expect(drift.problems).toEqual([`accountExpires is never, not the end of the term ${d.endsAt}`, 'userAccountControl has PASSWD_NOTREQD']);
    expect(drift.observed.groups).toEqual(['Detailee Analysts', 'vpn-users']);
    expect(ad.plan(drift.observed, provision(d)).map((s) => s.id)).toEqual(['ad.expiry.set', 'ad.flags.clear']);
  });

  it('lists its own accounts (by its marker), leaves unmarked ones alone, and never takes one over', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    await dc.addForeignUser('legacy.user');
    const managed = (await ad.listManaged()).map((o) => o.username);
    expect(managed).toEqual(expect.arrayContaining(['gh.before', 'gh.drift', 'gh.ended', 'gh.first', 'gh.renew']));
    expect(managed).not.toContain('legacy.user');
    const foreign = await ad.inspect('legacy.user');
    expect(() => ad.plan(foreign, provision(desired('legacy.user', real, real + DAY)))).toThrow(expect.objectContaining({ code: 'ad.foreign-entry', exit: 1 }));
    expect(() => ad.plan(foreign, revoke('legacy.user', iso(real)))).toThrow(expect.objectContaining({ code: 'ad.foreign-entry' }));
    expect(await read(ad, 'legacy.user')).toMatchObject({ managed: false, disabled: true, memberOf: [], accountExpires: 'never' });
  });

  it('refuses an unknown group and a too-long logon name before creating anything', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    const e = await ad.preflight(provision(desired('gh.nogroup', real, real + DAY, ['no-such-group']))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/AD group no-such-group not found/);
    expect((await ad.inspect('gh.nogroup')).exists).toBe(false);
    await expect(ad.preflight(provision(desired('a.very.long.username.x', real, real + DAY)))).rejects.toMatchObject({ code: 'ad.username', exit: 2 });
  });

  it('maps a wrong service password (data 52e) to exit 2, a wrong CA or host name to exit 2, a missing usersDN to exit 2', async () => {
    const wrong = await firstRead({}, 'not-the-password');
    expect(wrong).toBeInstanceOf(InputError);
    expect((wrong as InputError).exit).toBe(2);
    expect((wrong as InputError).message).toMatch(/refused the service account's bind: wrong password .*\(data 52e\)/);
    expect((wrong as InputError).actions.join(' ')).toMatch(/targets\.ad\.bindDN/);

    // Another CA: the pin refuses the DC.
    const otherCa = join(tempDir(), 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${otherCa}.key`, '-out', otherCa, '-days', '2', '-subj', '/CN=another CA'], { stdio: 'ignore' });
    const other = await firstRead({ caCertificate: otherCa });
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
      const name = await firstRead({ url: `ldaps://127.0.0.1:${port}` });
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
    expect((await ad.inspect('gh.renew')).exists).toBe(true);
    // Plain LDAP is allowed by detailee to a loopback DC only; Samba itself insists on encryption for a simple bind.
    const plain = await firstRead({ url: dc.ldapUrl, startTLS: false });
    expect(plain).toBeInstanceOf(InputError);
    expect((plain as InputError).code).toBe('ad.tls.required');
    expect((plain as InputError).actions.join(' ')).toMatch(/ldaps:\/\/ URL .*startTLS/);
    // And to a DC elsewhere, plain LDAP is refused before any connection.
    await expect(createAdTarget({ ...config, url: 'ldap://dc1.agency.example', startTLS: false }, 'x', { clock })).rejects.toMatchObject({ code: 'ad.insecure', exit: 2 });
  });

  it('adds a member to a group moved since preflight found it, by searching for it again', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open();
    await dc.addGroup('movers');
    const d = desired('gh.moved', real - HOUR, real + DAY, ['movers']);
    await ad.preflight(provision(d));
    await dc.admin(async (c) => {
      await c.add(`OU=Sub,${dc.groupsDN}`, { objectClass: ['top', 'organizationalUnit'], ou: 'Sub' });
      await c.modifyDN(`CN=movers,${dc.groupsDN}`, `CN=movers,OU=Sub,${dc.groupsDN}`);
    });
    const { steps, result } = await converge(ad, provision(d));
    expect(steps).toEqual(['ad.user.create', 'ad.group.add:movers']);
    expect(result).toMatchObject({ ok: true, problems: [] });
    expect((await read(ad, 'gh.moved')).memberOf).toEqual([`CN=movers,OU=Sub,${dc.groupsDN}`]);
  });

  it('counts the LDAP operations it sends: provisioning and revocation (with its proof) of one account', async () => {
    const real = Date.now();
    now = new Date(real);
    const ad = await open({ mustChangePassword: true });
    const d = desired('gh.count', real - HOUR, real + DAY, ['vpn-users']);
    const at = { ...ops };
    const diff = () => Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, v - at[k as AdOperation]]).filter(([, v]) => v !== 0));
    await ad.preflight(provision(d));
    expect((await converge(ad, provision(d))).result.ok).toBe(true);
    // preflight: find the group; inspect (account absent: 1 search); create; add to the group found by preflight;
    // verify: find the group again, read the account and the groups naming it. The one bind is the target's first operation.
    expect(diff()).toEqual({ bind: 1, search: 5, add: 1, modify: 1 });
    Object.assign(at, ops);
    expect((await converge(ad, revoke('gh.count', iso(real)))).result.ok).toBe(true);
    // read (entry + groups); disable and expire; password; remove from the group; proof read (entry + groups).
    expect(diff()).toEqual({ search: 4, modify: 3 });
  });

  it('maps a DC that is down to exit 1, on the first operation (opening the target does not reach the DC)', async () => {
    await dc.kill();
    const down = await firstRead({});
    expect(down).toBeInstanceOf(ActionError);
    expect((down as ActionError).exit).toBe(1);
    expect((down as ActionError).code).toBe('ad.unreachable');
    expect((down as ActionError).message).toMatch(/the domain controller did not answer \(ECONNREFUSED\)/);
  });
});
