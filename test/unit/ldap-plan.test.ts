import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  PERMANENT_LOCK,
  desiredAttributes,
  fromGeneralizedTime,
  planLdap,
  toGeneralizedTime,
  type LdapFacts,
} from '../../src/targets/ldap/plan.js';
import type { Desired, Intent, Observed } from '../../src/targets/model.js';
import type { Step } from '../../src/targets/target.js';

/** A step's parameters without narrowing it to its kind first. */
const params = (s: Step): Record<string, unknown> => s.params;

const member = { groupMemberAttribute: 'member' as const };

const desired: Desired = {
  assignmentId: 'A-2025-001',
  username: 'alovelace',
  givenName: 'Ada',
  familyName: 'Lovelace',
  email: 'ada@example.org',
  groups: ['analysts', 'fti-readers'],
  policies: [],
  startsAt: '2025-02-06T00:00:00-05:00',
  endsAt: '2025-06-06T00:00:00-04:00',
};

const provision: Intent = { kind: 'provision', desired };

function absent(username = 'alovelace', groups: string[] = []): Observed {
  return { target: 'ldap', username, exists: false, enabled: false, groups, policies: [], facts: { managed: false, locked: false, permanentlyLocked: false, attributes: {} } };
}

/** The entry exactly as a complete provision of `desired` leaves it. */
function provisioned(over: Partial<Observed> = {}, facts: Partial<LdapFacts> = {}): Observed {
  const f: LdapFacts = {
    dn: 'uid=alovelace,ou=people,dc=example,dc=gov',
    managed: true,
    locked: false,
    permanentlyLocked: false,
    attributes: desiredAttributes(desired),
    ...facts,
  };
  return {
    target: 'ldap',
    username: 'alovelace',
    exists: true,
    assignmentId: 'A-2025-001',
    enabled: !f.locked,
    groups: ['analysts', 'fti-readers'],
    policies: [],
    startsAt: '2025-02-06T05:00:00.000Z',
    endsAt: '2025-06-06T04:00:00.000Z',
    ...over,
    facts: { ...f },
  };
}

const ids = (steps: { id: string }[]) => steps.map((s) => s.id);

describe('planLdap: provision', () => {
  it('creates the entry, sets the term in UTC GeneralizedTime and adds every group when nothing exists', () => {
    const steps = planLdap(absent(), provision, member);
    expect(ids(steps)).toEqual(['ldap.entry.create', 'ldap.term.set', 'ldap.group.add:analysts', 'ldap.group.add:fti-readers']);
    expect(params(steps[0]!).attributes).toEqual({
      cn: 'Ada Lovelace',
      sn: 'Lovelace',
      givenName: 'Ada',
      mail: 'ada@example.org',
      employeeType: 'detailee',
      description: 'detailee:A-2025-001',
    });
    expect(steps[1]!.detail).toBe('pwdStartTime 20250206050000Z, pwdEndTime 20250606040000Z');
    expect(steps.every((s) => s.target === 'ldap')).toBe(true);
  });

  it('adds only the missing group when the entry already exists', () => {
    const steps = planLdap(provisioned({ groups: ['analysts'] }), provision, member);
    expect(ids(steps)).toEqual(['ldap.group.add:fti-readers']);
    expect(steps[0]!.params).toEqual({ username: 'alovelace', group: 'fti-readers', memberAttribute: 'member' });
  });

  it('plans nothing when the entry, term and groups are already as asked', () => {
    expect(planLdap(provisioned(), provision, member)).toEqual([]);
  });

  it('treats the same instant written with another offset as unchanged', () => {
    expect(planLdap(provisioned({ startsAt: '2025-02-06T00:00:00-05:00' }), provision, member)).toEqual([]);
  });

  it('replaces only the attributes that differ, and resets a drifted term', () => {
    const steps = planLdap(
      provisioned({ endsAt: '2025-07-01T00:00:00.000Z' }, { attributes: { ...desiredAttributes(desired), mail: 'old@example.org' } }),
      provision,
      member,
    );
    expect(ids(steps)).toEqual(['ldap.entry.update', 'ldap.term.set']);
    expect(params(steps[0]!).replace).toEqual({ mail: 'ada@example.org' });
  });

  it('refuses to take over an entry recorded for another assignment, or one that is not a detailee entry', () => {
    const other = provisioned({ assignmentId: 'B-9' });
    expect(() => planLdap(other, provision, member)).toThrow(InputError);
    expect(() => planLdap(other, provision, member)).toThrow(/belongs to assignment B-9/);
    const staff = provisioned({ assignmentId: undefined }, { managed: false, attributes: { cn: 'Ada Lovelace' } });
    expect(() => planLdap(staff, provision, member)).toThrow(/is not a detailee entry/);
  });

  it('refuses a username or group that has no safe encoding', () => {
    expect(() => planLdap(absent(' x'), { kind: 'provision', desired: { ...desired, username: ' x' } }, member)).toThrow(InputError);
    expect(() => planLdap(absent(), { kind: 'provision', desired: { ...desired, groups: ['a\nb'] } }, member)).toThrow(InputError);
  });

  it('names the member attribute of the configured mode in group steps', () => {
    const steps = planLdap(absent(), provision, { groupMemberAttribute: 'memberUid' });
    expect(steps.filter((s) => s.id.startsWith('ldap.group.add:')).map((s) => params(s).memberAttribute)).toEqual(['memberUid', 'memberUid']);
  });
});

describe('planLdap: revoke', () => {
  const revoke: Intent = { kind: 'revoke', assignmentId: 'A-2025-001', username: 'alovelace', revokedAt: '2025-03-01T14:30:00Z' };

  it('locks and ends the term at the revocation in one step, then leaves both groups', () => {
    const steps = planLdap(provisioned(), revoke, member);
    expect(ids(steps)).toEqual(['ldap.lock', 'ldap.group.remove:analysts', 'ldap.group.remove:fti-readers']);
    expect(params(steps[0]!).endsAt).toBe('2025-03-01T14:30:00Z');
    expect(steps[0]!.detail).toBe('pwdAccountLockedTime 000001010000Z, pwdEndTime 20250301143000Z on uid=alovelace');
  });

  it('ends the term alone when the account is already locked', () => {
    const locked = provisioned({}, { locked: true, lockedTime: PERMANENT_LOCK, permanentlyLocked: true });
    const steps = planLdap(locked, revoke, member);
    expect(ids(steps)[0]).toBe('ldap.term.end');
    expect(params(steps[0]!).endsAt).toBe('2025-03-01T14:30:00Z');
  });

  it('plans nothing for an account that is already locked, ended and in no group', () => {
    const done = provisioned({ groups: [], enabled: false, endsAt: '2025-03-01T14:30:00.000Z' }, { locked: true, lockedTime: PERMANENT_LOCK, permanentlyLocked: true });
    expect(planLdap(done, revoke, member)).toEqual([]);
  });

  it('keeps an end that is already earlier than the revocation', () => {
    const expired = provisioned({ groups: [], endsAt: '2025-02-20T00:00:00.000Z' }, { locked: true, lockedTime: PERMANENT_LOCK, permanentlyLocked: true });
    expect(planLdap(expired, revoke, member)).toEqual([]);
  });

  it('replaces a temporary failure lockout with the permanent lock', () => {
    const tmp = provisioned({ groups: [], endsAt: '2025-02-20T00:00:00.000Z' }, { locked: true, lockedTime: '20250225120000Z', permanentlyLocked: false });
    expect(ids(planLdap(tmp, revoke, member))).toEqual(['ldap.lock']);
  });

  it('has nothing to lock when there is no entry, but clears memberships left behind', () => {
    expect(planLdap(absent(), revoke, member)).toEqual([]);
    expect(ids(planLdap(absent('alovelace', ['analysts']), revoke, { groupMemberAttribute: 'memberUid' }))).toEqual(['ldap.group.remove:analysts']);
  });

  it('refuses to lock an entry that belongs to another assignment', () => {
    expect(() => planLdap(provisioned({ assignmentId: 'B-9' }), revoke, member)).toThrow(InputError);
  });

  it('revokes a managed entry that lost its assignment id (a reconcile orphan)', () => {
    const orphan = provisioned({ assignmentId: undefined });
    expect(ids(planLdap(orphan, { ...revoke, assignmentId: 'orphan' }, member))[0]).toBe('ldap.lock');
  });
});

describe('planLdap: renew', () => {
  const renewed: Intent = { kind: 'renew', desired: { ...desired, endsAt: '2025-10-04T00:00:00-04:00' } };

  it('moves only pwdEndTime to the new end', () => {
    const steps = planLdap(provisioned(), renewed, member);
    expect(ids(steps)).toEqual(['ldap.term.renew']);
    expect(steps[0]!.params).toEqual({ username: 'alovelace', endsAt: '2025-10-04T00:00:00-04:00' });
    expect(steps[0]!.detail).toBe('pwdEndTime 20250606040000Z → 20251004040000Z');
  });

  it('plans nothing when the end is already the new end (a re-run after a crash)', () => {
    expect(planLdap(provisioned({ endsAt: '2025-10-04T04:00:00.000Z' }), renewed, member)).toEqual([]);
  });

  it('refuses to renew a locked (revoked) account or a missing one', () => {
    const locked = provisioned({ enabled: false }, { locked: true, lockedTime: PERMANENT_LOCK, permanentlyLocked: true });
    expect(() => planLdap(locked, renewed, member)).toThrow(/revoked account is not renewed/);
    expect(() => planLdap(absent(), renewed, member)).toThrow(InputError);
  });
});

describe('planLdap: purge', () => {
  const purge: Intent = { kind: 'purge', assignmentId: 'A-2025-001', username: 'alovelace' };

  it('leaves the groups before deleting the entry', () => {
    expect(ids(planLdap(provisioned(), purge, member))).toEqual(['ldap.group.remove:analysts', 'ldap.group.remove:fti-readers', 'ldap.entry.delete']);
  });

  it('plans nothing once the entry is gone', () => {
    expect(planLdap(absent(), purge, member)).toEqual([]);
  });

  it('refuses to delete an entry that is not ours', () => {
    expect(() => planLdap(provisioned({ assignmentId: undefined }, { managed: false }), purge, member)).toThrow(InputError);
  });
});

describe('GeneralizedTime', () => {
  it('writes UTC to the second and reads back offsets and fractions', () => {
    expect(toGeneralizedTime('2025-06-06T00:00:00-04:00')).toBe('20250606040000Z');
    expect(toGeneralizedTime('2025-06-06T04:00:00.999Z')).toBe('20250606040000Z');
    expect(fromGeneralizedTime('20250606040000Z')).toBe('2025-06-06T04:00:00.000Z');
    expect(fromGeneralizedTime('20250606000000-0400')).toBe('2025-06-06T04:00:00.000Z');
    expect(fromGeneralizedTime('20250606040000.5Z')).toBe('2025-06-06T04:00:00.500Z');
    expect(fromGeneralizedTime('not a time')).toBeUndefined();
  });
});
