import { describe, expect, it } from 'vitest';
import { toFileTime } from '../../src/targets/ad/filetime.js';
import { absentObservation, toObservation, toObserved } from '../../src/targets/ad/model.js';
import { planAd } from '../../src/targets/ad/plan.js';
import type { Desired } from '../../src/targets/model.js';
import { waitingForStart } from '../../src/lifecycle/start-day.js';

/** The AD planner is pure: (observed, intent, now) → steps; no DC needed. */
const desired: Desired = {
  assignmentId: 'A-1',
  username: 'jd',
  givenName: 'Jane',
  familyName: 'Doe',
  email: 'jd@home.gov',
  groups: ['vpn-users'],
  policies: [],
  startsAt: '2025-03-01T05:00:00.000Z',
  endsAt: '2025-04-01T04:00:00.000Z',
};
const config = (now: string) => ({ now: new Date(now), mustChangePassword: true, upnSuffix: 'agency.gov' });
const account = (over: Record<string, unknown> = {}, search: string[] = ['CN=vpn-users,OU=G,DC=x']) =>
  toObserved(
    toObservation(
      'jd',
      {
        dn: 'CN=jd,OU=D,DC=x',
        sAMAccountName: 'jd',
        userAccountControl: '514',
        accountExpires: String(toFileTime(desired.endsAt)),
        memberOf: ['CN=vpn-users,OU=G,DC=x'],
        givenName: 'Jane',
        sn: 'Doe',
        displayName: 'Jane Doe',
        mail: 'jd@home.gov',
        description: 'detailee:A-1',
        employeeType: 'detailee',
        ...over,
      } as never,
      search,
    ),
  );
const kinds = (steps: { id: string }[]) => steps.map((s) => s.id);

describe('AD planner (pure)', () => {
  it('creates a new account disabled before the start, enabled inside the term, with accountExpires at the exact end', () => {
    const before = planAd(toObserved(absentObservation('jd')), { kind: 'provision', desired }, config('2025-02-20T00:00:00Z'));
    expect(kinds(before)).toEqual(['ad.user.create', 'ad.group.add:vpn-users']);
    expect(before[0]!.params).toMatchObject({ disabled: true, accountExpires: '2025-04-01T04:00:00.000Z', userPrincipalName: 'jd@agency.gov', mustChangePassword: true });
    const inside = planAd(toObserved(absentObservation('jd')), { kind: 'provision', desired }, config('2025-03-02T00:00:00Z'));
    expect(inside[0]!.params).toMatchObject({ disabled: false });
    // No password in any step: it is generated when the step is applied.
    expect(JSON.stringify(before)).not.toMatch(/unicodePwd|"password"/i);
  });

  it('plans nothing for the disabled account before the start, and its enabling from the start on (the nightly start-day enable)', () => {
    expect(planAd(account(), { kind: 'provision', desired }, config('2025-02-28T00:00:00Z'))).toEqual([]);
    const start = planAd(account(), { kind: 'provision', desired }, config('2025-03-01T05:00:00Z'));
    expect(kinds(start)).toEqual(['ad.enable']);
    expect(start[0]!.params).toMatchObject({ userAccountControl: 512, dn: 'CN=jd,OU=D,DC=x' });
    // Enabled by hand before the start: disabled again.
    expect(kinds(planAd(account({ userAccountControl: '512' }), { kind: 'provision', desired }, config('2025-02-28T00:00:00Z')))).toEqual(['ad.disable']);
  });

  it('converges drift: a pushed-out expiry, an unsafe flag, a missing group, a changed name; never re-opens an ended account', () => {
    const drift = account({ accountExpires: '9223372036854775807', userAccountControl: String(512 | 0x20), sn: 'Smith' }, []);
    const steps = planAd({ ...drift, groups: [] }, { kind: 'provision', desired }, config('2025-03-10T00:00:00Z'));
    expect(kinds(steps)).toEqual(['ad.user.update', 'ad.expiry.set', 'ad.flags.clear', 'ad.group.add:vpn-users']);
    expect(steps[2]!.params).toMatchObject({ userAccountControl: 512 });
    expect(() => planAd(account(), { kind: 'provision', desired }, config('2025-04-02T00:00:00Z'))).toThrow(/ended or was revoked/);
    expect(() => planAd(account(), { kind: 'renew', desired: { ...desired, endsAt: '2025-06-01T04:00:00.000Z' } }, config('2025-04-02T00:00:00Z'))).toThrow(/ended or was revoked/);
    expect(kinds(planAd(account({ userAccountControl: '512' }), { kind: 'renew', desired: { ...desired, endsAt: '2025-06-01T04:00:00.000Z' } }, config('2025-03-10T00:00:00Z')))).toEqual(['ad.expiry.set']);
    // A renewal after the start of an account the nightly job has not enabled yet enables it; before the start it does not.
    expect(kinds(planAd(account(), { kind: 'renew', desired: { ...desired, endsAt: '2025-06-01T04:00:00.000Z' } }, config('2025-03-10T00:00:00Z')))).toEqual(['ad.expiry.set', 'ad.enable']);
    expect(kinds(planAd(account(), { kind: 'renew', desired: { ...desired, endsAt: '2025-06-01T04:00:00.000Z' } }, config('2025-02-10T00:00:00Z')))).toEqual(['ad.expiry.set']);
  });

  it('revokes: disable and expire in one modify, a random password, every group by either reading', () => {
    const live = account({ userAccountControl: '512', memberOf: ['CN=vpn-users,OU=G,DC=x'] }, ['CN=vpn-users,OU=G,DC=x', 'CN=Hand Added,OU=Other,DC=x']);
    const steps = planAd(live, { kind: 'revoke', assignmentId: 'A-1', username: 'jd', revokedAt: '2025-03-15T12:00:00.000Z' }, config('2025-03-15T12:00:00Z'));
    expect(kinds(steps)).toEqual(['ad.disable', 'ad.password.scramble', 'ad.group.remove:CN=Hand Added,OU=Other,DC=x', 'ad.group.remove:CN=vpn-users,OU=G,DC=x']);
    expect(steps[0]!.params).toMatchObject({ userAccountControl: 514, accountExpires: '2025-03-15T12:00:00.000Z' });
    // An earlier end stays.
    const early = planAd(live, { kind: 'revoke', assignmentId: 'A-1', username: 'jd', revokedAt: '2025-05-01T00:00:00.000Z' }, config('2025-05-01T00:00:00Z'));
    expect(early[0]!.params).toMatchObject({ accountExpires: desired.endsAt });
    // Already revoked: nothing to do.
    const done = account({ accountExpires: String(toFileTime('2025-03-15T12:00:00Z')), memberOf: [] }, []);
    expect(planAd(done, { kind: 'revoke', assignmentId: 'A-1', username: 'jd', revokedAt: '2025-03-15T12:00:00.000Z' }, config('2025-03-16T00:00:00Z'))).toEqual([]);
    // Never someone else's account.
    expect(() => planAd(account({ employeeType: [], description: 'hand made' }), { kind: 'revoke', assignmentId: 'A-1', username: 'jd', revokedAt: '2025-03-15T12:00:00.000Z' }, config('2025-03-16T00:00:00Z'))).toThrow(/is not a detailee account/);
    expect(() => planAd(account({ description: 'detailee:A-9' }), { kind: 'provision', desired }, config('2025-03-16T00:00:00Z'))).toThrow(/belongs to assignment A-9/);
  });

  it('refuses a logon name AD cannot hold, and creating an account after its end', () => {
    expect(() => planAd(toObserved(absentObservation('a.very.long.username.x')), { kind: 'provision', desired: { ...desired, username: 'a.very.long.username.x' } }, config('2025-03-02T00:00:00Z'))).toThrow(/at most 20/);
    expect(() => planAd(toObserved(absentObservation('jd')), { kind: 'provision', desired }, config('2025-04-01T04:00:00Z'))).toThrow(/not created after its end/);
  });
});

describe('the start-day enable: which recorded targets wait (pure)', () => {
  const term = { start: '2025-03-01', timezone: 'UTC', days: 30, lastDay: '2025-03-30', startsAt: '2025-03-01T00:00:00Z', endsAt: '2025-03-31T00:00:00Z' };
  const rec = (targets: unknown[], state = 'active' as const) => ({ state, term, data: { provisioned: true, targets } });
  const ad = { target: 'ad', groups: [], policies: [], recordedAt: '2025-02-20T00:00:00Z', provisionedAt: '2025-02-20T00:00:01Z' };
  const ldap = { ...ad, target: 'ldap' };

  it('is an AD account provisioned before the start and not enabled since, from the start until the end', () => {
    expect(waitingForStart(rec([ldap, ad]), new Date('2025-02-28T23:59:59Z'))).toEqual([]);
    expect(waitingForStart(rec([ldap, ad]), new Date('2025-03-01T00:00:00Z'))).toEqual([ad]);
    expect(waitingForStart(rec([ldap, ad]), new Date('2025-03-20T00:00:00Z'))).toEqual([ad]);
    expect(waitingForStart(rec([ldap, ad]), new Date('2025-03-31T00:00:00Z'))).toEqual([]);
    expect(waitingForStart(rec([{ ...ad, enabledAt: '2025-03-01T01:00:00Z' }]), new Date('2025-03-02T00:00:00Z'))).toEqual([]);
    // Provisioned inside the term: created enabled, nothing waits.
    expect(waitingForStart(rec([{ ...ad, provisionedAt: '2025-03-01T08:00:00Z' }]), new Date('2025-03-02T00:00:00Z'))).toEqual([]);
    expect(waitingForStart(rec([ad], 'revoked' as never), new Date('2025-03-02T00:00:00Z'))).toEqual([]);
  });
});
