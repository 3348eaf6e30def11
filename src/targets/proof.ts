import { ldapFacts, PERMANENT_LOCK } from './ldap/plan.js';
import { hasDenyAll, revokedPolicyDocument, sameDocument } from './aws/documents.js';
import { iamFacts, REVOKED_POLICY, TAG_ASSIGNMENT } from './aws/facts.js';
import { adFacts, memberDNs } from './ad/model.js';
import { isDisabled, uacNames } from './ad/uac.js';
import type { Observed, TargetName } from './model.js';

/**
 * The proof that a revocation took: a pure function of what was expected and what was read from
 * the live target after the change. Nothing here reads a server, a cache or a plan; a fact the
 * read did not cover is a failed fact, never a passed one.
 */

/** What a revocation promises on one target. */
export interface RevocationExpectation {
  target: TargetName;
  assignmentId: string;
  username: string;
  revokedAt: string;
  /** The object recorded at provisioning (LDAP DN, IAM user ARN); checked when known. */
  object?: string | undefined;
}

/** One checked fact: `read` says how it was established. */
interface ProofFact {
  fact: string;
  ok: boolean;
  /** What was read (or why it holds), in a few words; never a secret. */
  observed: string;
  /** `live`: read from the server after the change; `covered`: implied by another live fact; `missing`: not read. */
  read: 'live' | 'covered' | 'missing';
}

export interface TargetProof {
  target: TargetName;
  /** The object read (DN or ARN), or the username when the account is gone. */
  object: string;
  /** Where it was read (URL or endpoint; never credentials). */
  server: string;
  /** When the first of the proof's reads was asked for; every one of them came after the change. */
  readAt: string;
  /** How the facts were read, when not by the account's own requests (an account-wide listing). */
  via?: string | undefined;
  ok: boolean;
  facts: ProofFact[];
}

export interface ReadContext {
  server: string;
  readAt: string;
  via?: string | undefined;
}

export function prove(expected: RevocationExpectation, observed: Observed, read: ReadContext): TargetProof {
  if (observed.target !== expected.target) {
    return finish(expected, observed, read, [
      { fact: 'target', ok: false, observed: `a read of ${observed.target} cannot prove ${expected.target}`, read: 'missing' },
    ]);
  }
  if (observed.username !== expected.username) {
    return finish(expected, observed, read, [
      { fact: 'account', ok: false, observed: `read ${observed.username}, expected ${expected.username}`, read: 'missing' },
    ]);
  }
  const facts = observed.target === 'ldap' ? ldapProof(expected, observed) : observed.target === 'ad' ? adProof(expected, observed) : iamProof(expected, observed);
  return finish(expected, observed, read, facts);
}

/** One line per target, for the certificate and `show`. */
export function summarizeProof(p: TargetProof): string {
  const bad = p.facts.filter((f) => !f.ok);
  const covered = p.facts.filter((f) => f.read === 'covered').map((f) => f.fact);
  const head = `${p.target} ${p.object} read ${p.readAt} from ${p.server}${p.via ? ` by ${p.via}` : ''}`;
  if (bad.length > 0) return `${head}: NOT PROVEN (${bad.map((f) => `${f.fact}: ${f.observed}`).join('; ')})`;
  return `${head}: ${p.facts
    .filter((f) => f.read === 'live')
    .map((f) => f.observed)
    .join('; ')}${covered.length ? ` (${covered.join(', ')} covered by the deny-all policy)` : ''}`;
}

/** The failed facts as problem lines, for messages and the journal. */
export function proofProblems(p: TargetProof): string[] {
  return p.facts.filter((f) => !f.ok).map((f) => `${f.fact}: ${f.observed}`);
}

function finish(expected: RevocationExpectation, observed: Observed, read: ReadContext, facts: ProofFact[]): TargetProof {
  const object = objectOfObserved(observed) ?? expected.object ?? expected.username;
  // An empty list of facts proves nothing.
  const ok = facts.length > 0 && facts.every((f) => f.ok);
  return { target: expected.target, object, server: read.server, readAt: read.readAt, ...(read.via ? { via: read.via } : {}), ok, facts };
}

/** The object an observation read (LDAP or AD DN, IAM ARN); undefined when the account is gone. */
export function objectOfObserved(o: Observed): string | undefined {
  if (!o.exists) return undefined;
  return o.target === 'ldap' ? ldapFacts(o).dn : o.target === 'ad' ? adFacts(o).dn : iamFacts(o).arn;
}

function identityFacts(expected: RevocationExpectation, observed: Observed, object: string | undefined): ProofFact[] {
  const out: ProofFact[] = [];
  if (expected.object !== undefined && object !== undefined) {
    const same = normalizeObject(expected.target, object) === normalizeObject(expected.target, expected.object);
    out.push({ fact: 'identity', ok: same, observed: same ? `is ${object}` : `is ${object}, recorded ${expected.object}`, read: 'live' });
  }
  // Another assignment's account under the same name is not this revocation's proof.
  const mine = observed.assignmentId === undefined || observed.assignmentId === expected.assignmentId;
  out.push({
    fact: 'assignment',
    ok: mine,
    observed: mine ? `marked ${observed.assignmentId ?? '(no marker)'}` : `marked for ${observed.assignmentId}, not ${expected.assignmentId}`,
    read: 'live',
  });
  return out;
}

function normalizeObject(target: TargetName, s: string): string {
  // DNs compare case-insensitively and without spaces after separators; ARNs exactly.
  return target === 'aws' ? s : s.toLowerCase().replace(/\s*([,=+])\s*/g, '$1');
}

function ldapProof(expected: RevocationExpectation, o: Observed): ProofFact[] {
  if (!o.exists) {
    // The entry is gone: nobody can bind as it. A membership left behind by name still counts.
    return [
      { fact: 'entry', ok: true, observed: `no entry for ${o.username}`, read: 'live' },
      groupFact(o.groups),
    ];
  }
  const f = ldapFacts(o);
  const endOk = o.endsAt !== undefined && Date.parse(o.endsAt) <= Date.parse(expected.revokedAt) + 999;
  return [
    ...identityFacts(expected, o, f.dn),
    {
      fact: 'lock',
      ok: f.permanentlyLocked,
      observed: f.permanentlyLocked ? `pwdAccountLockedTime ${PERMANENT_LOCK}` : `pwdAccountLockedTime ${f.lockedTime ?? 'absent'}`,
      read: 'live',
    },
    {
      fact: 'end',
      ok: endOk,
      observed: endOk ? `pwdEndTime ${o.endsAt}` : `pwdEndTime ${o.endsAt ?? 'absent'} is not at or before ${expected.revokedAt}`,
      read: 'live',
    },
    groupFact(o.groups),
  ];
}

/**
 * AD: the account disabled (ACCOUNTDISABLE read from userAccountControl), accountExpires at or
 * before the revocation (the DC refuses the account after it by itself), and no group by either
 * reading (memberOf, and a search for groups naming it). The password replaced at revocation
 * cannot be read back; the flag and the expiry are what the DC refuses a logon on.
 */
function adProof(expected: RevocationExpectation, o: Observed): ProofFact[] {
  if (!o.exists) return [{ fact: 'account', ok: true, observed: `no AD account ${o.username}`, read: 'live' }];
  const a = adFacts(o);
  const uac = a.userAccountControl;
  const disabled = uac !== undefined && isDisabled(uac);
  const expires = a.accountExpires;
  const endOk = expires !== undefined && expires !== 'never' && Date.parse(expires) <= Date.parse(expected.revokedAt);
  return [
    ...identityFacts(expected, o, a.dn),
    {
      fact: 'disabled',
      ok: disabled,
      observed: uac === undefined ? 'userAccountControl unreadable' : `userAccountControl ${uac} (${uacNames(uac).join(', ') || 'no flags'})`,
      read: uac === undefined ? 'missing' : 'live',
    },
    {
      fact: 'expiry',
      ok: endOk,
      observed: endOk ? `accountExpires ${expires}` : `accountExpires ${expires ?? 'absent'} is not at or before ${expected.revokedAt}`,
      read: 'live',
    },
    groupFact(memberDNs(a)),
  ];
}

function groupFact(groups: string[]): ProofFact {
  return { fact: 'groups', ok: groups.length === 0, observed: groups.length === 0 ? 'no groups' : `still in ${groups.join(', ')}`, read: 'live' };
}

/** The listings a revocation's proof stands on; each must have been read. */
const IAM_REQUIRED_READS = ['ListAccessKeys', 'GetLoginProfile', 'ListGroupsForUser', 'ListAttachedUserPolicies', `GetUserPolicy ${REVOKED_POLICY}`, 'credentials'];

function iamProof(expected: RevocationExpectation, o: Observed): ProofFact[] {
  if (!o.exists) return [{ fact: 'user', ok: true, observed: `no IAM user ${o.username}`, read: 'live' }];
  const f = iamFacts(o);
  const notRead = new Set(f.notRead);
  const missing = IAM_REQUIRED_READS.filter((r) => notRead.has(r));
  const facts: ProofFact[] = [...identityFacts(expected, o, f.arn)];
  if (f.tags[TAG_ASSIGNMENT] === undefined && f.arn === undefined) {
    facts.push({ fact: 'user', ok: false, observed: 'the user was read without its ARN or tags', read: 'missing' });
  }
  for (const m of missing) facts.push({ fact: m, ok: false, observed: 'not read', read: 'missing' });

  const doc = f.documents[REVOKED_POLICY];
  const denyOk = f.inlinePolicies.includes(REVOKED_POLICY) && hasDenyAll(doc) && sameDocument(doc, revokedPolicyDocument(expected.revokedAt));
  facts.push({
    fact: 'deny',
    ok: denyOk,
    observed: denyOk
      ? `${REVOKED_POLICY} denies all`
      : f.inlinePolicies.includes(REVOKED_POLICY)
        ? `${REVOKED_POLICY} does not hold the expected deny`
        : `${REVOKED_POLICY} missing`,
    read: 'live',
  });
  // The revocation time is part of the deny document compared above (its session cut-off); older
  // revocations also tagged it, which the proof no longer needs.
  const activeKeys = f.accessKeys.filter((k) => k.status === 'Active').map((k) => k.id);
  facts.push({
    fact: 'accessKeys',
    ok: activeKeys.length === 0,
    observed: activeKeys.length ? `active access keys ${activeKeys.join(', ')}` : `${f.accessKeys.length} access keys, none active`,
    read: 'live',
  });
  facts.push({ fact: 'loginProfile', ok: !f.loginProfile, observed: f.loginProfile ? 'console password present' : 'no console password', read: 'live' });
  facts.push({ ...groupFact(o.groups) });
  facts.push({
    fact: 'managedPolicies',
    ok: o.policies.length === 0,
    observed: o.policies.length ? `attached ${o.policies.join(', ')}` : 'no managed policies',
    read: 'live',
  });
  // Credentials the server could not list, or a revocation does not list: the deny-all policy,
  // read back, refuses every request they could sign, so it proves them; without it they are unproven.
  const others: [string, string, string, { id: string; status: string }[]][] = [
    ['signingCertificates', 'ListSigningCertificates', 'signing certificates', f.signingCertificates],
    ['sshPublicKeys', 'ListSSHPublicKeys', 'SSH public keys', f.sshPublicKeys],
    ['serviceSpecificCredentials', 'ListServiceSpecificCredentials', 'service-specific credentials', f.serviceSpecificCredentials],
  ];
  for (const [fact, listing, label, items] of others) {
    if (f.unsupported.includes(listing) || notRead.has(listing)) {
      const why = f.unsupported.includes(listing) ? 'not answered' : 'not listed';
      facts.push({ fact, ok: denyOk, observed: denyOk ? `${listing} ${why}; every use denied by ${REVOKED_POLICY}` : `${listing} ${why} and no deny-all to cover it`, read: denyOk ? 'covered' : 'missing' });
      continue;
    }
    const active = items.filter((c) => c.status === 'Active').map((c) => c.id);
    facts.push({ fact, ok: active.length === 0, observed: active.length ? `active ${label} ${active.join(', ')}` : `no active ${label}`, read: 'live' });
  }
  return facts;
}
