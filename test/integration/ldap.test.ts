import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LdapConfig } from '../../src/config/schema.js';
import { ActionError, InputError } from '../../src/errors.js';
import { createLdapTarget, type LdapTarget } from '../../src/targets/ldap/index.js';
import type { Desired, Intent } from '../../src/targets/model.js';
import type { Step } from '../../src/targets/target.js';
import { startSlapd, type Slapd } from '../helpers/slapd.js';

function configFor(s: Slapd, over: Partial<LdapConfig> = {}): LdapConfig {
  return {
    url: s.url,
    bindDN: s.bindDN,
    bindPasswordEnv: 'UNUSED_IN_TESTS',
    peopleDN: s.peopleDN,
    groupsDN: s.groupsDN,
    groupMemberAttribute: s.memberAttribute,
    timeoutMs: 5_000,
    ...over,
  };
}

function desired(username: string, over: Partial<Desired> = {}): Desired {
  return {
    assignmentId: `A-${username.replace(/[^A-Za-z0-9]/g, 'x')}`,
    username,
    givenName: 'Ada',
    familyName: 'Lovelace',
    email: `${username.replace(/[^A-Za-z0-9]/g, 'x')}@example.org`,
    groups: ['analysts', 'fti-readers'],
    policies: [],
    startsAt: '2025-02-06T00:00:00-05:00',
    endsAt: '2025-06-06T00:00:00-04:00',
    ...over,
  };
}

function usernameOf(intent: Intent): string {
  return intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
}

/** What the executor does, minus the journal: preflight, inspect, plan, apply each step. */
async function converge(t: LdapTarget, intent: Intent): Promise<Step[]> {
  await t.preflight(intent);
  const steps = t.plan(await t.inspect(usernameOf(intent)), intent);
  for (const s of steps) await t.apply(s);
  return steps;
}

async function entryExists(s: Slapd, dn: string): Promise<boolean> {
  return s.admin(async (c) => {
    try {
      await c.search(dn, { scope: 'base', attributes: ['1.1'] });
      return true;
    } catch {
      return false;
    }
  });
}

const DAY = 86_400_000;

describe('LDAP target, groupOfNames (member)', () => {
  let s: Slapd;
  let t: LdapTarget;

  beforeAll(async () => {
    s = await startSlapd();
    for (const g of ['analysts', 'fti-readers', 'staff']) await s.addGroup(g);
    t = await createLdapTarget(configFor(s), s.password);
  });

  afterAll(async () => {
    await t?.close();
    await s?.stop();
  });

  it('provisions the entry, term and groups, and inspect reads them back', async () => {
    const intent: Intent = { kind: 'provision', desired: desired('alovelace') };
    const steps = await converge(t, intent);
    expect(steps.map((x) => x.id)).toEqual(['ldap.entry.create', 'ldap.term.set', 'ldap.group.add:analysts', 'ldap.group.add:fti-readers']);

    const o = await t.inspect('alovelace');
    expect(o).toMatchObject({
      target: 'ldap',
      exists: true,
      assignmentId: 'A-alovelace',
      enabled: true,
      groups: ['analysts', 'fti-readers'],
      startsAt: '2025-02-06T05:00:00.000Z',
      endsAt: '2025-06-06T04:00:00.000Z',
    });
    expect(o.facts).toMatchObject({ locked: false, managed: true, dn: 'uid=alovelace,ou=people,dc=example,dc=gov' });
    expect((await t.verify(intent)).problems).toEqual([]);

    const raw = await s.admin((c) =>
      c.search('uid=alovelace,ou=people,dc=example,dc=gov', { scope: 'base', attributes: ['cn', 'sn', 'employeeType', 'description', 'pwdStartTime', 'pwdEndTime'] }),
    );
    expect(raw.searchEntries[0]).toMatchObject({
      cn: 'Ada Lovelace',
      sn: 'Lovelace',
      employeeType: 'detailee',
      description: 'detailee:A-alovelace',
      pwdStartTime: '20250206050000Z',
      pwdEndTime: '20250606040000Z',
    });
    expect(t.plan(o, intent)).toEqual([]);
  });

  it('observe reads the entry live each time: a change made by hand since the last read shows', async () => {
    await converge(t, { kind: 'provision', desired: desired('observed') });
    const before = await t.observe('observed');
    expect(before).toEqual(await t.inspect('observed'));
    expect(before.groups).toEqual(['analysts', 'fti-readers']);
    await s.admin((c) =>
      c.modify(`cn=analysts,${s.groupsDN}`, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [`uid=observed,${s.peopleDN}`] }) })),
    );
    expect((await t.observe('observed')).groups).toEqual(['fti-readers']);
  });

  it('converges when every step is applied a second time', async () => {
    const prov: Intent = { kind: 'provision', desired: desired('bbabbage') };
    const pSteps = t.plan(await t.inspect('bbabbage'), prov);
    for (const st of pSteps) await t.apply(st);
    for (const st of pSteps) await t.apply(st);
    expect((await t.verify(prov)).ok).toBe(true);
    expect(t.plan(await t.inspect('bbabbage'), prov)).toEqual([]);

    const revoke: Intent = { kind: 'revoke', assignmentId: 'A-bbabbage', username: 'bbabbage', revokedAt: '2025-03-01T12:00:00Z' };
    const rSteps = t.plan(await t.inspect('bbabbage'), revoke);
    expect(rSteps.map((x) => x.id)).toEqual(['ldap.lock', 'ldap.group.remove:analysts', 'ldap.group.remove:fti-readers']);
    for (const st of rSteps) await t.apply(st);
    for (const st of rSteps) await t.apply(st);
    expect((await t.verify(revoke)).ok).toBe(true);

    const purge: Intent = { kind: 'purge', assignmentId: 'A-bbabbage', username: 'bbabbage' };
    const dSteps = t.plan(await t.inspect('bbabbage'), purge);
    expect(dSteps.map((x) => x.id)).toEqual(['ldap.entry.delete']);
    for (const st of dSteps) await t.apply(st);
    for (const st of dSteps) await t.apply(st);
    expect((await t.verify(purge)).ok).toBe(true);
    expect((await t.inspect('bbabbage')).exists).toBe(false);
  });

  it('refuses an unknown group before writing anything', async () => {
    const intent: Intent = { kind: 'provision', desired: desired('cgrace', { groups: ['analysts', 'no-such-group'] }) };
    const err = await t.preflight(intent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain('no-such-group');
    expect((err as InputError).message).toContain(s.groupsDN);
    expect((err as InputError).exit).toBe(2);
    expect((await t.inspect('cgrace')).exists).toBe(false);
    expect(await entryExists(s, 'uid=cgrace,ou=people,dc=example,dc=gov')).toBe(false);
  });

  it('revokes a member of two groups and verifies it by reading back', async () => {
    const d = desired('dhopper');
    await converge(t, { kind: 'provision', desired: d });
    const revoke: Intent = { kind: 'revoke', assignmentId: d.assignmentId, username: 'dhopper', revokedAt: '2025-04-01T15:45:00Z' };
    await converge(t, revoke);
    const v = await t.verify(revoke);
    expect(v.problems).toEqual([]);
    expect(v.observed).toMatchObject({ exists: true, enabled: false, groups: [], endsAt: '2025-04-01T15:45:00.000Z' });
    expect(v.observed.facts).toMatchObject({ locked: true, permanentlyLocked: true, lockedTime: '000001010000Z' });
    expect(t.plan(v.observed, revoke)).toEqual([]);
  });

  it('removes memberships at the groups its own read found, without searching again; a group moved since is found again', async () => {
    const searches = async () =>
      s.admin(async (c) => Number((await c.search('cn=Search,cn=Operations,cn=Monitor', { scope: 'base', attributes: ['monitorOpCompleted'] })).searchEntries[0]?.monitorOpCompleted));
    const d = desired('gmoved', { groups: ['analysts', 'staff'] });
    await converge(t, { kind: 'provision', desired: d });
    const revoke: Intent = { kind: 'revoke', assignmentId: d.assignmentId, username: 'gmoved', revokedAt: '2025-04-01T15:45:00Z' };
    const steps = t.plan(await t.inspect('gmoved', 'revoke'), revoke);
    // Meanwhile staff moves to another branch of the groups tree.
    const member = `uid=gmoved,${s.peopleDN}`;
    await s.admin(async (c) => {
      const old = (await c.search(s.groupsDN, { scope: 'sub', filter: '(cn=staff)', attributes: ['member'] })).searchEntries[0]!;
      await c.del(old.dn);
      await c.add(`ou=moved,${s.groupsDN}`, { objectClass: ['organizationalUnit', 'top'], ou: 'moved' });
      await c.add(`cn=staff,ou=moved,${s.groupsDN}`, { objectClass: ['groupOfNames', 'top'], cn: 'staff', member: [...new Set([member, ...[old.member].flat().map(String)])] });
    });
    const before = await searches();
    for (const st of steps.filter((x) => x.id === 'ldap.group.remove:analysts')) await t.apply(st);
    // The admin connection's own search is the only one.
    expect((await searches()) - before).toBe(1);
    for (const st of steps.filter((x) => x.id !== 'ldap.group.remove:analysts')) await t.apply(st);
    const v = await t.verify(revoke);
    expect(v.problems).toEqual([]);
    expect(v.observed.groups).toEqual([]);
  });

  it('reports an unrevoked account as failing revoke verification', async () => {
    await converge(t, { kind: 'provision', desired: desired('ehamilton') });
    const v = await t.verify({ kind: 'revoke', assignmentId: 'A-ehamilton', username: 'ehamilton', revokedAt: '2025-04-01T00:00:00Z' });
    expect(v.ok).toBe(false);
    expect(v.problems.join('\n')).toMatch(/^lock: pwdAccountLockedTime absent$/m);
    expect(v.problems.join('\n')).toMatch(/^groups: still in analysts, fti-readers$/m);
    expect(v.proof?.ok).toBe(false);
  });

  it('renews by moving pwdEndTime, and refuses to renew a revoked account', async () => {
    const d = desired('fallen');
    await converge(t, { kind: 'provision', desired: d });
    const renew: Intent = { kind: 'renew', desired: { ...d, endsAt: '2025-10-04T00:00:00-04:00' } };
    expect((await converge(t, renew)).map((x) => x.id)).toEqual(['ldap.term.renew']);
    expect((await t.inspect('fallen')).endsAt).toBe('2025-10-04T04:00:00.000Z');
    expect((await t.verify(renew)).ok).toBe(true);

    await converge(t, { kind: 'revoke', assignmentId: d.assignmentId, username: 'fallen', revokedAt: '2025-05-01T00:00:00Z' });
    const later: Intent = { kind: 'renew', desired: { ...d, endsAt: '2026-01-31T00:00:00-05:00' } };
    await expect(converge(t, later)).rejects.toThrow(/revoked account is not renewed/);
    // The apply-time re-check holds even with a plan made before the revoke.
    await expect(t.apply({ id: 'ldap.term.renew', target: 'ldap', kind: 'ldap.term.renew', action: 'extend term', detail: '', params: { username: 'fallen', endsAt: '2026-01-31T05:00:00Z' } })).rejects.toBeInstanceOf(InputError);
    expect((await t.inspect('fallen')).endsAt).toBe('2025-05-01T00:00:00.000Z');
  });

  it('refuses to take over an existing entry that is not this assignment’s', async () => {
    await s.admin((c) =>
      c.add('uid=staffer,ou=people,dc=example,dc=gov', { objectClass: ['inetOrgPerson'], uid: 'staffer', cn: 'Staff Member', sn: 'Member' }),
    );
    const err = await converge(t, { kind: 'provision', desired: desired('staffer') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/is not a detailee entry/);
    await converge(t, { kind: 'provision', desired: desired('gmeitner') });
    await expect(converge(t, { kind: 'provision', desired: desired('gmeitner', { assignmentId: 'OTHER-1' }) })).rejects.toThrow(/belongs to assignment A-gmeitner/);
    const staff = await t.inspect('staffer');
    expect(staff.facts).toMatchObject({ managed: false });
    expect(staff.groups).toEqual([]);
  });

  it('lists only detailee entries under peopleDN', async () => {
    const managed = await t.listManaged();
    const names = managed.map((m) => m.username);
    expect(names).toEqual(expect.arrayContaining(['alovelace', 'dhopper', 'gmeitner']));
    expect(names).not.toContain('staffer');
    expect(names).not.toContain('bbabbage');
    const ada = managed.find((m) => m.username === 'alovelace')!;
    expect(ada).toMatchObject({ assignmentId: 'A-alovelace', enabled: true, groups: ['analysts', 'fti-readers'] });
    expect(managed.find((m) => m.username === 'dhopper')).toMatchObject({ enabled: false, groups: [] });
  });

  it('removes the last member of a groupOfNames by leaving the empty-DN placeholder', async () => {
    const dn = 'uid=hlamarr,ou=people,dc=example,dc=gov';
    await s.addGroup('solo', { members: [dn] });
    const d = desired('hlamarr', { groups: ['solo'] });
    expect((await converge(t, { kind: 'provision', desired: d })).map((x) => x.id)).toEqual(['ldap.entry.create', 'ldap.term.set']);
    const revoke: Intent = { kind: 'revoke', assignmentId: d.assignmentId, username: 'hlamarr', revokedAt: '2025-03-01T00:00:00Z' };
    await converge(t, revoke);
    expect((await t.verify(revoke)).ok).toBe(true);
    const g = await s.admin((c) => c.search('cn=solo,ou=groups,dc=example,dc=gov', { scope: 'base', attributes: ['member'] }));
    expect(g.searchEntries[0]!.member).toBe('');
  });

  it('escapes hostile usernames and group names in DNs and filters', async () => {
    const hostileGroup = 'ops,ou=x*)(cn=*';
    await s.addGroup(hostileGroup);
    const user = 'eve*)(uid=*,ou=people';
    const d = desired(user, { groups: [hostileGroup] });
    await converge(t, { kind: 'provision', desired: d });
    const o = await t.inspect(user);
    expect(o.exists).toBe(true);
    expect(o.groups).toEqual([hostileGroup]);
    // One entry directly under peopleDN: the `,` and `=` stayed inside the RDN value.
    expect(o.facts.dn).toBe('uid=eve*)(uid\\3D*\\2Cou\\3Dpeople,ou=people,dc=example,dc=gov');
    // Had the filter been concatenated, `*` would have matched every member of these groups.
    const star = await t.inspect('*');
    expect(star.exists).toBe(false);
    expect(star.groups).toEqual([]);
    expect((await t.inspect('alovelace')).groups).toEqual(['analysts', 'fti-readers']);
    await converge(t, { kind: 'revoke', assignmentId: d.assignmentId, username: user, revokedAt: '2025-03-01T00:00:00Z' });
    expect((await t.inspect(user)).groups).toEqual([]);
  });

  it('sets an initial password hashed by the server, with pwdReset', async () => {
    await converge(t, { kind: 'provision', desired: desired('ijackson', { groups: [] }) });
    await t.setInitialPassword('ijackson', 'Correct-Horse-9');
    const r = await s.admin((c) =>
      c.search('uid=ijackson,ou=people,dc=example,dc=gov', { scope: 'base', attributes: ['userPassword', 'pwdReset'], explicitBufferAttributes: ['userPassword'] }),
    );
    const stored = (r.searchEntries[0]!.userPassword as Buffer).toString('utf8');
    expect(stored).not.toContain('Correct-Horse-9');
    expect(stored).toMatch(/^\{[A-Z0-9-]+\}/);
    expect(r.searchEntries[0]!.pwdReset).toBe('TRUE');
  });

  it('reuses one bound connection across many operations', async () => {
    await t.inspect('alovelace');
    const before = await s.totalConnections();
    for (let i = 0; i < 20; i++) await t.inspect('alovelace');
    await t.listManaged();
    await converge(t, { kind: 'provision', desired: desired('alovelace') });
    // The only new connection is the one this count is read over.
    expect((await s.totalConnections()) - before).toBe(1);
  });

  it('reconnects and rebinds after the server restarts', async () => {
    const before = await t.inspect('alovelace');
    await s.restart();
    const after = await t.inspect('alovelace');
    expect(after).toEqual(before);
  });

  it('turns a dead server into an ActionError that names the operation and never the password', async () => {
    const other = await startSlapd();
    const t2 = await createLdapTarget(configFor(other, { timeoutMs: 1_000 }), other.password);
    try {
      await t2.inspect('nobody');
      other.kill();
      const err = await t2.inspect('nobody').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ActionError);
      expect((err as ActionError).exit).toBe(1);
      expect((err as Error).message).toMatch(/^LDAP ldap:\/\/127\.0\.0\.1:\d+: (read uid=nobody,ou=people,dc=example,dc=gov|search groups of nobody) failed: /);
      expect(JSON.stringify((err as ActionError).toJSON())).not.toContain(other.password);
    } finally {
      await t2.close();
      await other.stop();
    }
  });

  it('reports a wrong bind password as an ActionError without echoing it', async () => {
    const t2 = await createLdapTarget(configFor(s), 'wrong-secret-123');
    try {
      const err = await t2.inspect('alovelace').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ActionError);
      expect((err as ActionError).code).toBe('ldap.bind');
      expect((err as Error).message).not.toContain('wrong-secret-123');
    } finally {
      await t2.close();
    }
  });

  it('refuses plain LDAP to a non-loopback host before connecting', async () => {
    const cfg = configFor(s, { url: 'ldap://ldap.example.gov', startTLS: false });
    await expect(createLdapTarget(cfg, 'pw')).rejects.toMatchObject({ code: 'ldap.insecure', exit: 2 });
  });

  /**
   * The belt of "belt and braces": the server itself enforces the term, so these binds are judged
   * by slapd's own clock, which is the real one. That is the one place a test must use real time;
   * every instant is placed days away from now so the outcome never depends on when it runs.
   */
  describe('real binds judged by the server (ppolicy pwdStartTime / pwdEndTime / lock)', () => {
    const realNow = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    async function provisionWithPassword(username: string, startsAt: string, endsAt: string): Promise<Desired> {
      const d = desired(username, { groups: ['analysts'], startsAt, endsAt });
      await converge(t, { kind: 'provision', desired: d });
      await t.setInitialPassword(username, 'pw-for-test');
      return d;
    }

    it('lets the detailee bind during the term, and not after revocation', async () => {
      const d = await provisionWithPassword('jduring', iso(realNow - DAY), iso(realNow + 10 * DAY));
      const dn = 'uid=jduring,ou=people,dc=example,dc=gov';
      expect(await s.canBind(dn, 'pw-for-test')).toBe(true);
      await converge(t, { kind: 'revoke', assignmentId: d.assignmentId, username: 'jduring', revokedAt: iso(realNow) });
      expect(await s.canBind(dn, 'pw-for-test')).toBe(false);
    });

    it('refuses a bind before the term starts', async () => {
      await provisionWithPassword('kbefore', iso(realNow + 10 * DAY), iso(realNow + 20 * DAY));
      expect(await s.canBind('uid=kbefore,ou=people,dc=example,dc=gov', 'pw-for-test')).toBe(false);
    });

    it('refuses a bind after the term ends even if no revocation ever ran', async () => {
      await provisionWithPassword('lafter', iso(realNow - 20 * DAY), iso(realNow - DAY));
      expect(await s.canBind('uid=lafter,ou=people,dc=example,dc=gov', 'pw-for-test')).toBe(false);
    });
  });
});

describe('LDAP target, posixGroup (memberUid)', () => {
  let s: Slapd;
  let t: LdapTarget;

  beforeAll(async () => {
    s = await startSlapd({ memberAttribute: 'memberUid' });
    for (const g of ['analysts', 'fti-readers']) await s.addGroup(g);
    t = await createLdapTarget(configFor(s), s.password);
  });

  afterAll(async () => {
    await t?.close();
    await s?.stop();
  });

  it('adds and removes memberUid values by username', async () => {
    const d = desired('mcurie');
    await converge(t, { kind: 'provision', desired: d });
    expect((await t.inspect('mcurie')).groups).toEqual(['analysts', 'fti-readers']);
    const g = await s.admin((c) => c.search('cn=analysts,ou=groups,dc=example,dc=gov', { scope: 'base', attributes: ['memberUid'] }));
    expect(g.searchEntries[0]!.memberUid).toBe('mcurie');

    const revoke: Intent = { kind: 'revoke', assignmentId: d.assignmentId, username: 'mcurie', revokedAt: '2025-03-01T00:00:00Z' };
    await converge(t, revoke);
    expect((await t.verify(revoke)).ok).toBe(true);
    expect((await t.inspect('mcurie')).groups).toEqual([]);
  });

  it('refuses a groupOfNames-only name in memberUid mode as unknown', async () => {
    await s.admin((c) => c.add('cn=wrongkind,ou=groups,dc=example,dc=gov', { objectClass: ['groupOfNames'], cn: 'wrongkind', member: [''] }));
    await expect(t.preflight({ kind: 'provision', desired: desired('nnoether', { groups: ['wrongkind'] }) })).rejects.toThrow(/wrongkind not found as posixGroup/);
  });

  it('never matches a wildcard username against every memberUid', async () => {
    await converge(t, { kind: 'provision', desired: desired('okeller') });
    expect((await t.inspect('*')).groups).toEqual([]);
    expect((await t.inspect('okeller')).groups).toEqual(['analysts', 'fti-readers']);
  });

  it('purges: leaves the groups, then deletes the entry', async () => {
    const d = desired('pfranklin');
    await converge(t, { kind: 'provision', desired: d });
    const purge: Intent = { kind: 'purge', assignmentId: d.assignmentId, username: 'pfranklin' };
    expect((await converge(t, purge)).map((x) => x.id)).toEqual(['ldap.group.remove:analysts', 'ldap.group.remove:fti-readers', 'ldap.entry.delete']);
    expect((await t.verify(purge)).ok).toBe(true);
    expect(await t.inspect('pfranklin')).toMatchObject({ exists: false, groups: [] });
  });
});
