import { describe, expect, it } from 'vitest';
import { prove, proofProblems, summarizeProof, type RevocationExpectation } from '../../src/targets/proof.js';
import { PERMANENT_LOCK } from '../../src/targets/ldap/plan.js';
import { revokedPolicyDocument } from '../../src/targets/aws/documents.js';
import { REVOKED_POLICY, TAG_ASSIGNMENT, TAG_REVOKED_AT, TERM_POLICY, type IamFacts } from '../../src/targets/aws/facts.js';
import type { Observed } from '../../src/targets/model.js';

const REVOKED_AT = '2025-04-01T13:14:15.000Z';
const DN = 'uid=alovelace,ou=people,dc=example,dc=gov';
const ARN = 'arn:aws:iam::123456789012:user/detailees/alovelace';
const READ = { server: 'ldap://127.0.0.1:3890', readAt: '2025-04-01T13:14:20.000Z' };

const expectLdap: RevocationExpectation = { target: 'ldap', assignmentId: 'A-1', username: 'alovelace', revokedAt: REVOKED_AT, object: DN };
const expectIam: RevocationExpectation = { target: 'aws', assignmentId: 'A-1', username: 'alovelace', revokedAt: REVOKED_AT, object: ARN };

function ldapRevoked(over: Partial<Observed> = {}, facts: Record<string, unknown> = {}): Observed {
  return {
    target: 'ldap',
    username: 'alovelace',
    exists: true,
    assignmentId: 'A-1',
    enabled: false,
    groups: [],
    policies: [],
    endsAt: REVOKED_AT,
    facts: { dn: DN, managed: true, locked: true, lockedTime: PERMANENT_LOCK, permanentlyLocked: true, attributes: {}, ...facts },
    ...over,
  };
}

function iamRevoked(over: Partial<Observed> = {}, f: Partial<IamFacts> = {}): Observed {
  const facts: IamFacts = {
    managed: true,
    arn: ARN,
    tags: { [TAG_ASSIGNMENT]: 'A-1', [TAG_REVOKED_AT]: REVOKED_AT },
    accessKeys: [{ id: 'AKIA1', status: 'Inactive' }],
    loginProfile: false,
    signingCertificates: [],
    sshPublicKeys: [],
    serviceSpecificCredentials: [],
    mfaDevices: [],
    inlinePolicies: [REVOKED_POLICY],
    documents: { [REVOKED_POLICY]: revokedPolicyDocument(REVOKED_AT) },
    unsupported: [],
    notRead: ['ListUserPolicies', `GetUserPolicy ${TERM_POLICY}`, 'ListMFADevices'],
    ...f,
  };
  return { target: 'aws', username: 'alovelace', exists: true, assignmentId: 'A-1', enabled: false, groups: [], policies: [], revokedAt: REVOKED_AT, facts: { ...facts }, ...over };
}

describe('prove: LDAP', () => {
  it('proves a locked entry with its end at the revocation and no groups, naming what was read', () => {
    const p = prove(expectLdap, ldapRevoked(), READ);
    expect(p.ok).toBe(true);
    expect(p.object).toBe(DN);
    expect(p.facts.map((f) => f.fact)).toEqual(['identity', 'assignment', 'lock', 'end', 'groups']);
    expect(summarizeProof(p)).toContain(`pwdAccountLockedTime ${PERMANENT_LOCK}`);
    expect(summarizeProof(p)).toContain('ldap://127.0.0.1:3890');
  });

  it.each([
    ['an unlocked entry', ldapRevoked({}, { locked: false, lockedTime: undefined, permanentlyLocked: false }), 'lock'],
    ['a lock with an expiry (not permanent)', ldapRevoked({}, { lockedTime: '20990101000000Z', permanentlyLocked: false }), 'lock'],
    ['an end after the revocation', ldapRevoked({ endsAt: '2025-06-06T04:00:00.000Z' }), 'end'],
    ['no end at all', ldapRevoked({ endsAt: undefined }), 'end'],
    ['a group re-added', ldapRevoked({ groups: ['analysts'] }), 'groups'],
    ['another DN than recorded', ldapRevoked({}, { dn: 'uid=alovelace,ou=other,dc=example,dc=gov' }), 'identity'],
    ["another assignment's entry", ldapRevoked({ assignmentId: 'B-2' }), 'assignment'],
  ])('fails for %s, naming the fact', (_name, observed, fact) => {
    const p = prove(expectLdap, observed, READ);
    expect(p.ok).toBe(false);
    expect(p.facts.filter((f) => !f.ok).map((f) => f.fact)).toEqual([fact]);
    expect(proofProblems(p).join()).toContain(fact);
    expect(summarizeProof(p)).toContain('NOT PROVEN');
  });

  it('proves a deleted entry, unless a membership by name outlived it', () => {
    const gone: Observed = { target: 'ldap', username: 'alovelace', exists: false, enabled: false, groups: [], policies: [], facts: {} };
    expect(prove(expectLdap, gone, READ).ok).toBe(true);
    expect(prove(expectLdap, { ...gone, groups: ['analysts'] }, READ).ok).toBe(false);
  });

  it('compares DNs as DNs: case and spaces after separators do not matter', () => {
    const p = prove({ ...expectLdap, object: 'UID=alovelace, OU=people, DC=example, DC=gov' }, ldapRevoked(), READ);
    expect(p.ok).toBe(true);
  });
});

describe('prove: IAM', () => {
  it('proves deny-all, no active key, no console password, no group or policy, and the tag', () => {
    const p = prove(expectIam, iamRevoked(), READ);
    expect(p.ok).toBe(true);
    expect(p.facts.filter((f) => f.read !== 'live')).toEqual([]);
  });

  it.each([
    ['an active access key', iamRevoked({}, { accessKeys: [{ id: 'AKIA1', status: 'Active' }] }), 'accessKeys'],
    ['a console password', iamRevoked({}, { loginProfile: true }), 'loginProfile'],
    ['a group re-added', iamRevoked({ groups: ['readers'] }), 'groups'],
    ['a managed policy attached', iamRevoked({ policies: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] }), 'managedPolicies'],
    ['the deny-all removed', iamRevoked({}, { inlinePolicies: [], documents: {} }), 'deny'],
    ['the deny-all loosened', iamRevoked({}, { documents: { [REVOKED_POLICY]: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*' }] } } }), 'deny'],
    ['an active SSH key', iamRevoked({}, { sshPublicKeys: [{ id: 'APKA1', status: 'Active' }] }), 'sshPublicKeys'],
    ['another user under the recorded name', iamRevoked({}, { arn: 'arn:aws:iam::123456789012:user/elsewhere/alovelace' }), 'identity'],
  ])('fails for %s, naming the fact', (_name, observed, fact) => {
    const p = prove(expectIam, observed, READ);
    expect(p.ok).toBe(false);
    expect(p.facts.filter((f) => !f.ok).map((f) => f.fact)).toContain(fact);
  });

  it('a listing the server cannot answer is covered by the deny-all read back, and unproven without it', () => {
    const unsupported = ['ListServiceSpecificCredentials'];
    const covered = prove(expectIam, iamRevoked({}, { unsupported }), READ);
    expect(covered.ok).toBe(true);
    expect(covered.facts.find((f) => f.fact === 'serviceSpecificCredentials')).toMatchObject({ ok: true, read: 'covered' });
    expect(summarizeProof(covered)).toContain('covered by the deny-all policy');

    const bare = prove(expectIam, iamRevoked({}, { unsupported, inlinePolicies: [], documents: {} }), READ);
    expect(bare.ok).toBe(false);
    expect(bare.facts.find((f) => f.fact === 'serviceSpecificCredentials')).toMatchObject({ ok: false, read: 'missing' });
  });

  it('a read that left out what the proof needs proves nothing, even if every fact it has looks revoked', () => {
    for (const missing of ['ListAccessKeys', 'GetLoginProfile', 'ListGroupsForUser', 'ListAttachedUserPolicies', `GetUserPolicy ${REVOKED_POLICY}`, 'credentials']) {
      const p = prove(expectIam, iamRevoked({}, { notRead: [missing] }), READ);
      expect(p.ok, missing).toBe(false);
      expect(p.facts.find((f) => f.fact === missing)).toMatchObject({ ok: false, read: 'missing' });
    }
  });

  it('a deleted user is proven; a read of another target or account is not', () => {
    const gone: Observed = { target: 'aws', username: 'alovelace', exists: false, enabled: false, groups: [], policies: [], facts: {} };
    expect(prove(expectIam, gone, READ).ok).toBe(true);
    expect(prove(expectLdap, gone, READ).ok).toBe(false);
    expect(prove(expectIam, { ...gone, username: 'someone' }, READ).ok).toBe(false);
  });
});
