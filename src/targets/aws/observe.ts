import type { Intent, Observed } from '../model.js';
import { GONE, type IamConnection } from './client.js';
import { decodeDocument, revokedFromDocument, termFromDocument } from './documents.js';
import { LISTING_MIN, createProofListings, listUsers, tidy, type ListedUser } from './listing.js';
import { MANAGED_BY, REVOKED_POLICY, TAG_ASSIGNMENT, TAG_ENDS_AT, TAG_MANAGED_BY, TAG_REVOKED_AT, TERM_POLICY, emptyIamFacts, isEnabled, type IamCredential, type IamFacts } from './facts.js';

/** Reading IAM: a user and everything that lets it in, a read-ahead for revocations, and every managed user. */

/**
 * Credential kinds a revocation neither lists nor changes: the deny-all policy, read back in every
 * proof, refuses every request they could sign. Access keys and the console password are still
 * listed and shut, as the kinds a detailee is likely to hold. A full read (reconcile, purge) lists
 * them all.
 */
const COVERED_LISTINGS = ['ListSigningCertificates', 'ListSSHPublicKeys', 'ListServiceSpecificCredentials'];
/** Bounded fan-out for per-user reads in listManaged. */
const LOOKUP_CONCURRENCY = 8;


/** Pure: the Observed for a user's facts (undefined: there is no such user). */
export function observedFromFacts(username: string, f: IamFacts | undefined, groups: string[] = [], policies: string[] = []): Observed {
  if (!f) return { target: 'aws', username, exists: false, enabled: false, groups: [], policies: [], facts: { ...emptyIamFacts() } };
  const term = termFromDocument(f.documents[TERM_POLICY]);
  const tagInstant = (k: string) => {
    const v = f.tags[k];
    return v === undefined || Number.isNaN(Date.parse(v)) ? v : new Date(v).toISOString();
  };
  return {
    target: 'aws',
    username,
    exists: true,
    assignmentId: f.tags[TAG_ASSIGNMENT],
    enabled: isEnabled(f),
    groups,
    policies,
    startsAt: term.startsAt,
    endsAt: tagInstant(TAG_ENDS_AT),
    // Older revocations tagged the time; every revocation's deny-all carries it in its condition.
    revokedAt: tagInstant(TAG_REVOKED_AT) ?? revokedFromDocument(f.documents[REVOKED_POLICY]),
    facts: { ...f },
  };
}

/**
 * What a read covers. `full`: everything IAM holds for the user (reconcile, and any caller that
 * names no intent). `grant`: the read-back of a provisioning or renewal, which neither plans nor
 * promises anything about credentials, so it skips their listings. `revoke`: what a revocation
 * plans from and proves — credentials, groups, managed policies, tags and the detailee-revoked
 * document, asked for by name; not the other inline policies' names, the term document or the
 * MFA devices, which neither the revocation plan nor its verification looks at.
 */
type Scope = 'full' | 'grant' | 'revoke';

export interface IamReader {
  /** A fresh read of the user for `scope`; never served from a read-ahead. */
  inspect(username: string, scope: Scope, knownTags?: Record<string, string>): Promise<Observed>;
  /** Target.inspect: a revocation's plan reads only what it needs, from the read-ahead when there is one. */
  inspectFor(username: string, purpose?: Intent['kind']): Promise<Observed>;
  readAhead(usernames: readonly string[]): Promise<void>;
  /** Target.listForProof: one listing, after a batch's writes, for the proofs that follow. */
  listForProof(usernames: readonly string[]): Promise<void>;
  /** A revocation proof's read: the proof listing when it serves the user, else the user's own reads. */
  proofRead(username: string): Promise<{ observed: Observed; listedAt?: string }>;
  /** Every write to a user goes through here, so a listing it may have missed serves no proof. */
  write<T>(username: string, fn: () => Promise<T>): Promise<T>;
  tagsOf(username: string): Promise<Record<string, string>>;
  listManaged(): Promise<Observed[]>;
}

export function createIamReader(conn: IamConnection, now: () => Date): IamReader {
  const { sdk, client, config, call, collect, optionalList } = conn;
  const listings = createProofListings(conn, now);

  const creds = (items: { id: string | undefined; status: string | undefined }[]): IamCredential[] =>
    items
      .filter((c): c is { id: string; status: string | undefined } => c.id !== undefined)
      .map((c) => ({ id: c.id, status: c.status ?? 'Unknown' }))
      // Sorted, so the same account always yields the same plan.
      .sort((a, b) => a.id.localeCompare(b.id));

  type Credentials = Pick<IamFacts, 'accessKeys' | 'loginProfile' | 'signingCertificates' | 'sshPublicKeys' | 'serviceSpecificCredentials' | 'mfaDevices'>;

  /**
   * Every credential of the user: keys, console password, certificates, SSH keys, service
   * credentials and, with `mfa`, MFA devices. Undefined when a listing says the user is gone
   * (only asked for with `gone`, when nothing else established that the user exists).
   */
  async function credentialsOf(username: string, unsupported: string[], o: { mfa: boolean; covered?: boolean; gone?: string[] }): Promise<Credentials | undefined> {
    const U = { UserName: username };
    const gone = o.gone ?? [];
    let missing = false;
    const list = async <T>(p: Promise<T[] | undefined>): Promise<T[]> => {
      const r = await p;
      if (r === undefined) missing = true;
      return r ?? [];
    };
    const [keys, profile, certs, ssh, service, mfa] = await Promise.all([
      list(
        collect(`ListAccessKeys ${username}`, (Marker) => client.send(new sdk.ListAccessKeysCommand({ ...U, Marker })), (r) => r.AccessKeyMetadata?.map((k) => ({ id: k.AccessKeyId, status: k.Status })), gone),
      ),
      call(`GetLoginProfile ${username}`, () => client.send(new sdk.GetLoginProfileCommand(U)), ['NoSuchEntity']),
      o.covered
        ? Promise.resolve([])
        : optionalList('ListSigningCertificates', unsupported, () =>
        list(
          collect(`ListSigningCertificates ${username}`, (Marker) => client.send(new sdk.ListSigningCertificatesCommand({ ...U, Marker })), (r) =>
            r.Certificates?.map((c) => ({ id: c.CertificateId, status: c.Status })),
          gone),
        ),
      ),
      o.covered
        ? Promise.resolve([])
        : optionalList('ListSSHPublicKeys', unsupported, () =>
        list(
          collect(`ListSSHPublicKeys ${username}`, (Marker) => client.send(new sdk.ListSSHPublicKeysCommand({ ...U, Marker })), (r) =>
            r.SSHPublicKeys?.map((c) => ({ id: c.SSHPublicKeyId, status: c.Status })),
          gone),
        ),
      ),
      o.covered
        ? Promise.resolve([])
        : optionalList('ListServiceSpecificCredentials', unsupported, () =>
        list(
          collect(`ListServiceSpecificCredentials ${username}`, (Marker) => client.send(new sdk.ListServiceSpecificCredentialsCommand({ ...U, Marker })), (r) =>
            r.ServiceSpecificCredentials?.map((c) => ({ id: c.ServiceSpecificCredentialId, status: c.Status })),
          gone),
        ),
      ),
      o.mfa
        ? optionalList('ListMFADevices', unsupported, () =>
            list(collect(`ListMFADevices ${username}`, (Marker) => client.send(new sdk.ListMFADevicesCommand({ ...U, Marker })), (r) => r.MFADevices?.map((d) => d.SerialNumber ?? ''), gone)),
          )
        : Promise.resolve([]),
    ]);
    if (missing) return undefined;
    return {
      accessKeys: creds(keys),
      loginProfile: profile !== undefined,
      signingCertificates: creds(certs),
      sshPublicKeys: creds(ssh),
      serviceSpecificCredentials: creds(service),
      mfaDevices: mfa.filter((x) => x !== '').sort(),
    };
  }

  const NO_CREDENTIALS: Credentials = { accessKeys: [], loginProfile: false, signingCertificates: [], sshPublicKeys: [], serviceSpecificCredentials: [], mfaDevices: [] };

  /** One detailee inline policy's document, or undefined when the user has no such policy. */
  async function inlineDocument(username: string, name: string): Promise<unknown> {
    const r = await call(`GetUserPolicy ${username} ${name}`, () => client.send(new sdk.GetUserPolicyCommand({ UserName: username, PolicyName: name })), ['NoSuchEntity']);
    return r ? (decodeDocument(r.PolicyDocument) ?? null) : undefined;
  }

  async function inspect(username: string, scope: Scope, knownTags?: Record<string, string>): Promise<Observed> {
    const U = { UserName: username };
    const got = await call(`GetUser ${username}`, () => client.send(new sdk.GetUserCommand(U)), ['NoSuchEntity']);
    const user = got?.User;
    if (!user) return observedFromFacts(username, undefined);
    const unsupported: string[] = [];
    const revoking = scope === 'revoke';
    const [tags, groups, policies, inline, revokedDoc, credentials] = await Promise.all([
      // GetUser carries the tags; ListUserTags only when it did not (some emulators omit them).
      knownTags !== undefined
        ? Promise.resolve(knownTags)
        : user.Tags !== undefined
          ? Promise.resolve(Object.fromEntries(user.Tags.map((t) => [t.Key ?? '', t.Value ?? ''])))
          : tagsOf(username),
      collect(`ListGroupsForUser ${username}`, (Marker) => client.send(new sdk.ListGroupsForUserCommand({ ...U, Marker })), (r) => r.Groups?.map((g) => g.GroupName ?? '')),
      collect(`ListAttachedUserPolicies ${username}`, (Marker) => client.send(new sdk.ListAttachedUserPoliciesCommand({ ...U, Marker })), (r) =>
        r.AttachedPolicies?.map((p) => p.PolicyArn ?? ''),
      ),
      revoking ? Promise.resolve(undefined) : collect(`ListUserPolicies ${username}`, (Marker) => client.send(new sdk.ListUserPoliciesCommand({ ...U, Marker })), (r) => r.PolicyNames),
      revoking ? inlineDocument(username, REVOKED_POLICY) : Promise.resolve(undefined),
      scope === 'grant' ? Promise.resolve(NO_CREDENTIALS) : credentialsOf(username, unsupported, { mfa: !revoking, covered: revoking }),
    ]);
    const documents: Record<string, unknown> = {};
    let inlinePolicies: string[];
    if (revoking) {
      inlinePolicies = revokedDoc === undefined ? [] : [REVOKED_POLICY];
      if (revokedDoc !== undefined) documents[REVOKED_POLICY] = revokedDoc;
    } else {
      inlinePolicies = [...new Set(inline ?? [])].sort();
      await Promise.all(
        [TERM_POLICY, REVOKED_POLICY]
          .filter((n) => inlinePolicies.includes(n))
          .map(async (name) => {
            const doc = await inlineDocument(username, name);
            if (doc !== undefined) documents[name] = doc;
          }),
      );
    }
    const facts: IamFacts = {
      managed: tags[TAG_MANAGED_BY] === MANAGED_BY,
      path: user.Path,
      arn: user.Arn,
      boundary: user.PermissionsBoundary?.PermissionsBoundaryArn,
      tags,
      ...(credentials ?? NO_CREDENTIALS),
      inlinePolicies,
      documents,
      unsupported,
      notRead: revoking ? ['ListUserPolicies', `GetUserPolicy ${TERM_POLICY}`, 'ListMFADevices', ...COVERED_LISTINGS] : scope === 'grant' ? ['credentials'] : [],
    };
    return observedFromFacts(username, facts, tidy(groups), tidy(policies));
  }

  const ahead = new Map<string, ListedUser>();

  /**
   * One account-wide listing instead of four or five requests per user for what a revocation
   * plans from. Each entry serves the next revocation plan for its user once; a proof never does.
   */
  async function readAhead(usernames: readonly string[]): Promise<void> {
    ahead.clear();
    if (new Set(usernames).size < LISTING_MIN) return;
    for (const [u, entry] of (await listUsers(conn, usernames)) ?? []) ahead.set(u, entry);
  }

  /** The facts of a listed user and its credentials, read now; undefined when a listing says the user is gone. */
  async function withCredentials(username: string, listed: ListedUser): Promise<Observed | undefined> {
    const unsupported: string[] = [];
    const credentials = await credentialsOf(username, unsupported, { mfa: false, covered: true, gone: GONE });
    if (!credentials) return undefined;
    const { groups, policies, ...rest } = listed;
    const facts: IamFacts = { ...rest, managed: listed.tags[TAG_MANAGED_BY] === MANAGED_BY, ...credentials, unsupported, notRead: ['ListMFADevices', ...COVERED_LISTINGS] };
    return observedFromFacts(username, facts, groups, policies);
  }

  /**
   * The read a revocation's proof stands on, always made after the writes: from the proof listing
   * when one taken after them serves this user (its time is `listedAt`), else the user's own reads.
   */
  async function proofRead(username: string): Promise<{ observed: Observed; listedAt?: string }> {
    const listed = listings.take(username);
    if (listed) {
      const observed = await withCredentials(username, listed.user);
      if (observed) return { observed, listedAt: listed.listedAt };
    }
    return { observed: await inspect(username, 'revoke') };
  }

  /** Target.inspect: a revocation's plan reads only what it needs, from the read-ahead when there is one. */
  async function inspectFor(username: string, purpose?: Intent['kind']): Promise<Observed> {
    if (purpose !== 'revoke') return inspect(username, 'full');
    const pre = ahead.get(username);
    if (!pre) return inspect(username, 'revoke');
    ahead.delete(username);
    // Deleted since the listing: read the user as it is now.
    return (await withCredentials(username, pre)) ?? inspect(username, 'revoke');
  }

  async function tagsOf(username: string): Promise<Record<string, string>> {
    const tags = await collect(`ListUserTags ${username}`, (Marker) => client.send(new sdk.ListUserTagsCommand({ UserName: username, Marker })), (r) => r.Tags);
    return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async function listManaged(): Promise<Observed[]> {
    const users =
      (await collect(`ListUsers ${config.path}`, (Marker) => client.send(new sdk.ListUsersCommand({ PathPrefix: config.path, Marker })), (r) =>
        r.Users?.map((u) => u.UserName ?? '').filter((n) => n !== ''),
      )) ?? [];
    const out: Observed[] = [];
    for (let i = 0; i < users.length; i += LOOKUP_CONCURRENCY) {
      const chunk = users.slice(i, i + LOOKUP_CONCURRENCY);
      const observed = await Promise.all(
        chunk.map(async (u) => {
          const tags = await tagsOf(u);
          if (tags[TAG_MANAGED_BY] !== MANAGED_BY) return undefined;
          const o = await inspect(u, 'full', tags);
          // Deleted between the listing and the read: not an account any more.
          return o.exists ? o : undefined;
        }),
      );
      for (const o of observed) if (o) out.push(o);
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  return { inspect, inspectFor, readAhead, listForProof: listings.list, proofRead, write: listings.write, tagsOf, listManaged };
}
