import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { revokedPolicyDocument, termFromDocument, termPolicyDocument } from '../../src/targets/aws/documents.js';
import { REVOKED_POLICY, TERM_POLICY, emptyIamFacts, isEnabled, type IamFacts } from '../../src/targets/aws/facts.js';
import { desiredTags, planIam } from '../../src/targets/aws/plan.js';
import type { Desired, Intent, Observed } from '../../src/targets/model.js';
import type { Step } from '../../src/targets/target.js';

/** A step's parameters without narrowing it to its kind first. */
const params = (s: Step): Record<string, unknown> => s.params;

const config = { path: '/detailees/' };
const BOUNDARY = 'arn:aws:iam::123456789012:policy/detailee-boundary';
const READ = 'arn:aws:iam::123456789012:policy/fti-read';

const desired: Desired = {
  assignmentId: 'A-2025-001',
  username: 'alovelace',
  givenName: 'Ada',
  familyName: 'Lovelace',
  email: 'ada@example.org',
  groups: ['analysts', 'fti-readers'],
  policies: [READ],
  startsAt: '2025-02-06T00:00:00-05:00',
  endsAt: '2025-06-06T00:00:00-04:00',
};
const provision: Intent = { kind: 'provision', desired };
const REVOKED_AT = '2025-04-01T13:14:15.000Z';
const revoke: Intent = { kind: 'revoke', assignmentId: 'A-2025-001', username: 'alovelace', revokedAt: REVOKED_AT };
const purge: Intent = { kind: 'purge', assignmentId: 'A-2025-001', username: 'alovelace' };

function facts(over: Partial<IamFacts> = {}): IamFacts {
  return {
    ...emptyIamFacts(),
    managed: true,
    path: '/detailees/',
    arn: 'arn:aws:iam::123456789012:user/detailees/alovelace',
    tags: desiredTags(desired.assignmentId, desired.endsAt),
    inlinePolicies: [TERM_POLICY],
    documents: { [TERM_POLICY]: termPolicyDocument(desired.startsAt, desired.endsAt) },
    ...over,
  };
}

function absent(): Observed {
  return { target: 'aws', username: 'alovelace', exists: false, enabled: false, groups: [], policies: [], facts: {} };
}

/** The user exactly as a complete provision of `desired` leaves it. */
function provisioned(over: Partial<Observed> = {}, f: Partial<IamFacts> = {}): Observed {
  const all = facts(f);
  return {
    target: 'aws',
    username: 'alovelace',
    exists: true,
    assignmentId: all.tags['detailee:assignment'],
    enabled: isEnabled(all),
    groups: ['analysts', 'fti-readers'],
    policies: [READ],
    endsAt: '2025-06-06T04:00:00.000Z',
    revokedAt: all.tags['detailee:revoked-at'],
    ...over,
    facts: { ...all },
  };
}

/** The user exactly as a complete revocation at REVOKED_AT leaves it. */
function revoked(): Observed {
  return provisioned(
    { groups: [], policies: [] },
    {
      tags: { ...desiredTags(desired.assignmentId, desired.endsAt), 'detailee:revoked-at': REVOKED_AT },
      accessKeys: [
        { id: 'AKIA1', status: 'Inactive' },
        { id: 'AKIA2', status: 'Inactive' },
      ],
      inlinePolicies: [REVOKED_POLICY, TERM_POLICY],
      documents: { [TERM_POLICY]: termPolicyDocument(desired.startsAt, desired.endsAt), [REVOKED_POLICY]: revokedPolicyDocument(REVOKED_AT) },
    },
  );
}

const ids = (steps: { id: string }[]) => steps.map((s) => s.id);

describe('planIam: provision', () => {
  it('creates a fresh user with its tags, then the term, then groups and policies', () => {
    const steps = planIam(absent(), provision, config);
    expect(ids(steps)).toEqual(['aws.user.create', 'aws.term.put', 'aws.group.add:analysts', 'aws.group.add:fti-readers', `aws.policy.attach:${READ}`]);
    expect(steps.every((s) => s.target === 'aws')).toBe(true);
    expect(steps[0]!.params).toEqual({
      username: 'alovelace',
      path: '/detailees/',
      tags: { 'detailee:assignment': 'A-2025-001', 'detailee:ends-at': '2025-06-06T04:00:00.000Z', 'detailee:managed-by': 'detailee' },
    });
    expect(steps[2]!.params).toEqual({ username: 'alovelace', group: 'analysts' });
    expect(steps[4]!.params).toEqual({ username: 'alovelace', policyArn: READ });
  });

  it('carries the configured permissions boundary in the CreateUser params', () => {
    const [create] = planIam(absent(), provision, { ...config, permissionsBoundary: BOUNDARY });
    expect(create!.id).toBe('aws.user.create');
    expect(params(create!).permissionsBoundary).toBe(BOUNDARY);
  });

  it('sets the boundary on an existing user that lacks it, and plans nothing once GetUser reports it', () => {
    const cfg = { ...config, permissionsBoundary: BOUNDARY };
    const steps = planIam(provisioned(), provision, cfg);
    expect(ids(steps)).toEqual(['aws.boundary.put']);
    expect(steps[0]!.params).toEqual({ username: 'alovelace', permissionsBoundary: BOUNDARY });
    expect(planIam(provisioned({}, { boundary: BOUNDARY }), provision, cfg)).toEqual([]);
  });

  it('writes a term policy of two Deny statements with the exact date conditions', () => {
    const term = planIam(absent(), provision, config).find((s) => s.id === 'aws.term.put')!;
    expect(params(term).policyName).toBe('detailee-term');
    expect(JSON.parse(params(term).document as string)).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DetaileeTermNotStarted', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2025-02-06T05:00:00Z' } } },
        { Sid: 'DetaileeTermEnded', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': '2025-06-06T04:00:00Z' } } },
      ],
    });
  });

  it('rounds sub-second instants towards denying: start up, end down', () => {
    const doc = termPolicyDocument('2025-02-06T05:00:00.200Z', '2025-06-06T03:59:59.900Z');
    expect(termFromDocument(doc)).toEqual({ startsAt: '2025-02-06T05:00:01.000Z', endsAt: '2025-06-06T03:59:59.000Z' });
  });

  it('plans only what a partial provision left undone', () => {
    const partial = provisioned({ groups: ['analysts'], policies: [] }, { inlinePolicies: [], documents: {} });
    expect(ids(planIam(partial, provision, config))).toEqual(['aws.term.put', 'aws.group.add:fti-readers', `aws.policy.attach:${READ}`]);
  });

  it('plans nothing for a complete provision', () => {
    expect(planIam(provisioned(), provision, config)).toEqual([]);
  });

  it('accepts the same instant written in another offset or precision', () => {
    const tags = { ...desiredTags(desired.assignmentId, desired.endsAt), 'detailee:ends-at': '2025-06-06T04:00:00Z' };
    expect(planIam(provisioned({}, { tags }), provision, config)).toEqual([]);
  });

  it('re-tags a user whose ends-at tag drifted and rewrites a tampered term policy', () => {
    const tags = { ...desiredTags(desired.assignmentId, desired.endsAt), 'detailee:ends-at': '2026-01-01T00:00:00.000Z' };
    const tampered = { ...termPolicyDocument(desired.startsAt, desired.endsAt), Statement: [] };
    expect(ids(planIam(provisioned({}, { tags, documents: { [TERM_POLICY]: tampered } }), provision, config))).toEqual(['aws.user.tag', 'aws.term.put']);
  });

  it('moves a user found outside the configured path, where listManaged would not see it', () => {
    const steps = planIam(provisioned({}, { path: '/' }), provision, config);
    expect(steps).toEqual([expect.objectContaining({ id: 'aws.user.path', params: { username: 'alovelace', path: '/detailees/' } })]);
  });

  it('refuses to take over a user of another assignment, naming it', () => {
    const other = provisioned({ assignmentId: 'B-9' }, { tags: { ...desiredTags('B-9', desired.endsAt) } });
    expect(() => planIam(other, provision, config)).toThrow(InputError);
    expect(() => planIam(other, provision, config)).toThrow(/belongs to assignment B-9/);
  });

  it('refuses to take over a user without detailee tags', () => {
    const foreign = provisioned({ assignmentId: undefined }, { managed: false, tags: {} });
    expect(() => planIam(foreign, provision, config)).toThrow(/has no detailee tags/);
  });

  it('refuses to re-provision a revoked user', () => {
    expect(() => planIam(revoked(), provision, config)).toThrow(/revoked/);
  });

  it('refuses names and ARNs IAM would reject before planning anything', () => {
    expect(() => planIam(absent(), { kind: 'provision', desired: { ...desired, groups: ['bad group'] } }, config)).toThrow(InputError);
    expect(() => planIam(absent(), { kind: 'provision', desired: { ...desired, policies: ['arn:aws:s3:::bucket'] } }, config)).toThrow(InputError);
    expect(() => planIam(absent(), { kind: 'provision', desired: { ...desired, endsAt: desired.startsAt } }, config)).toThrow(/ends/);
  });
});

describe('planIam: revoke', () => {
  const live = () =>
    provisioned(
      { groups: ['analysts', 'fti-readers'], policies: [READ] },
      {
        accessKeys: [
          { id: 'AKIA1', status: 'Active' },
          { id: 'AKIA2', status: 'Active' },
        ],
        loginProfile: true,
      },
    );

  it('puts the deny-all first, then disables keys, login, groups and policies (no revocation tag: the deny-all names the time)', () => {
    const steps = planIam(live(), revoke, config);
    expect(ids(steps)).toEqual([
      'aws.revoked.put',
      'aws.key.deactivate:AKIA1',
      'aws.key.deactivate:AKIA2',
      'aws.login-profile.delete',
      'aws.group.remove:analysts',
      'aws.group.remove:fti-readers',
      `aws.policy.detach:${READ}`,
    ]);
    expect(steps[1]!.params).toEqual({ username: 'alovelace', accessKeyId: 'AKIA1' });
  });

  it('writes a deny-all plus a deny for sessions issued before the revocation', () => {
    const put = planIam(live(), revoke, config)[0]!;
    expect(params(put).policyName).toBe('detailee-revoked');
    expect(JSON.parse(params(put).document as string)).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DetaileeRevoked', Effect: 'Deny', Action: '*', Resource: '*' },
        // 13:14:15.000 is already whole: no rounding.
        { Sid: 'DetaileeRevokedSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': '2025-04-01T13:14:15Z' } } },
      ],
    });
  });

  it('also deactivates other active credentials (signing certificates, SSH keys, service credentials)', () => {
    const o = provisioned(
      { groups: [], policies: [] },
      {
        signingCertificates: [{ id: 'CERT1', status: 'Active' }],
        sshPublicKeys: [{ id: 'SSH1', status: 'Inactive' }, { id: 'SSH2', status: 'Active' }],
        serviceSpecificCredentials: [{ id: 'SSC1', status: 'Active' }],
      },
    );
    expect(isEnabled(facts({ sshPublicKeys: [{ id: 'SSH2', status: 'Active' }] }))).toBe(true);
    expect(ids(planIam(o, revoke, config))).toEqual([
      'aws.revoked.put',
      'aws.signing-certificate.deactivate:CERT1',
      'aws.ssh-key.deactivate:SSH2',
      'aws.service-credential.deactivate:SSC1',
    ]);
  });

  it('plans nothing for a user already revoked at the same instant', () => {
    expect(revoked().enabled).toBe(false);
    expect(planIam(revoked(), revoke, config)).toEqual([]);
  });

  it('rewrites a deny-all that was loosened by hand', () => {
    const r = revoked();
    const loosened = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const o = provisioned({ groups: [], policies: [] }, { ...(r.facts as unknown as IamFacts), documents: { ...(r.facts as unknown as IamFacts).documents, [REVOKED_POLICY]: loosened } });
    expect(o.enabled).toBe(false); // no usable credential
    expect(ids(planIam(o, revoke, config))).toEqual(['aws.revoked.put']);
  });

  it('has nothing to do for a user that does not exist', () => {
    expect(planIam(absent(), revoke, config)).toEqual([]);
  });

  it('reaches a managed user that lost its assignment tag, but not a foreign one', () => {
    const orphan = provisioned({ assignmentId: undefined }, { tags: { 'detailee:managed-by': 'detailee' } });
    expect(ids(planIam(orphan, { ...revoke, assignmentId: 'orphan' }, config))).toContain('aws.revoked.put');
    const foreign = provisioned({ assignmentId: undefined }, { managed: false, tags: {} });
    expect(() => planIam(foreign, revoke, config)).toThrow(InputError);
  });
});

describe('planIam: renew', () => {
  const later = { ...desired, endsAt: '2025-10-04T00:00:00-04:00' };
  const renew: Intent = { kind: 'renew', desired: later };

  it('rewrites the term policy with the new end and updates the ends-at tag', () => {
    const steps = planIam(provisioned(), renew, config);
    expect(ids(steps)).toEqual(['aws.term.put', 'aws.user.tag']);
    const doc = JSON.parse(params(steps[0]!).document as string) as unknown;
    expect(termFromDocument(doc)).toEqual({ startsAt: '2025-02-06T05:00:00.000Z', endsAt: '2025-10-04T04:00:00.000Z' });
    expect((params(steps[1]!).tags as Record<string, string>)['detailee:ends-at']).toBe('2025-10-04T04:00:00.000Z');
  });

  it('plans nothing once renewed', () => {
    const done = provisioned({}, { tags: desiredTags(later.assignmentId, later.endsAt), documents: { [TERM_POLICY]: termPolicyDocument(later.startsAt, later.endsAt) } });
    expect(planIam(done, renew, config)).toEqual([]);
  });

  it('refuses a revoked user, a missing user and a foreign user', () => {
    expect(() => planIam(revoked(), renew, config)).toThrow(/revoked user is not renewed/);
    expect(() => planIam(absent(), renew, config)).toThrow(/no IAM user/);
    expect(() => planIam(provisioned({ assignmentId: 'B-9' }), renew, config)).toThrow(/belongs to assignment B-9/);
  });
});

describe('planIam: purge', () => {
  it('follows the documented deletion order and ends with DeleteUser', () => {
    const o = provisioned(
      { groups: ['analysts'], policies: [READ] },
      {
        loginProfile: true,
        accessKeys: [{ id: 'AKIA1', status: 'Inactive' }],
        signingCertificates: [{ id: 'CERT1', status: 'Active' }],
        sshPublicKeys: [{ id: 'SSH1', status: 'Active' }],
        serviceSpecificCredentials: [{ id: 'SSC1', status: 'Active' }],
        mfaDevices: ['arn:aws:iam::123456789012:mfa/alovelace', 'GAHT12345678'],
        inlinePolicies: [REVOKED_POLICY, TERM_POLICY, 'zz-extra'],
      },
    );
    expect(ids(planIam(o, purge, config))).toEqual([
      'aws.login-profile.delete',
      'aws.key.delete:AKIA1',
      'aws.signing-certificate.delete:CERT1',
      'aws.ssh-key.delete:SSH1',
      'aws.service-credential.delete:SSC1',
      'aws.mfa.deactivate:arn:aws:iam::123456789012:mfa/alovelace',
      'aws.mfa.delete:arn:aws:iam::123456789012:mfa/alovelace',
      // A hardware token is deactivated but never deleted.
      'aws.mfa.deactivate:GAHT12345678',
      // The deny-all is the last inline policy to go.
      'aws.inline.delete:detailee-term',
      'aws.inline.delete:zz-extra',
      'aws.inline.delete:detailee-revoked',
      `aws.policy.detach:${READ}`,
      'aws.group.remove:analysts',
      'aws.user.delete',
    ]);
  });

  it('has nothing to do once the user is gone, and refuses a foreign user', () => {
    expect(planIam(absent(), purge, config)).toEqual([]);
    expect(() => planIam(provisioned({ assignmentId: 'B-9' }), purge, config)).toThrow(/belongs to assignment B-9/);
  });
});

describe('isEnabled', () => {
  it('is true only without an intact deny-all and with some usable credential', () => {
    expect(isEnabled(facts())).toBe(false); // no credential at all
    expect(isEnabled(facts({ loginProfile: true }))).toBe(true);
    expect(isEnabled(facts({ accessKeys: [{ id: 'AKIA1', status: 'Inactive' }] }))).toBe(false);
    expect(isEnabled(facts({ accessKeys: [{ id: 'AKIA1', status: 'Active' }] }))).toBe(true);
    const denied = { inlinePolicies: [REVOKED_POLICY], documents: { [REVOKED_POLICY]: revokedPolicyDocument(REVOKED_AT) } };
    expect(isEnabled(facts({ ...denied, loginProfile: true }))).toBe(false);
  });
});
