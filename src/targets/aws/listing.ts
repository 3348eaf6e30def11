import type * as IamSdk from '@aws-sdk/client-iam';
import { ActionError } from '../../errors.js';
import type { IamConnection } from './client.js';
import { decodeDocument } from './documents.js';
import { REVOKED_POLICY, TERM_POLICY, type IamFacts } from './facts.js';

/**
 * One account-wide listing (GetAccountAuthorizationDetails) in place of four requests per user:
 * the user itself (ARN, path, boundary, tags), its groups, its attached managed policies and its
 * inline policies with their documents. What it cannot show — credentials — is read per user.
 */

/** A user as the listing reported it: everything but the credentials. */
export type ListedUser = Pick<IamFacts, 'path' | 'arn' | 'boundary' | 'tags' | 'inlinePolicies' | 'documents'> & { groups: string[]; policies: string[] };

export const LISTING = 'GetAccountAuthorizationDetails';

/** Fewer users than this at once are read one by one: the listing covers the whole account. */
export const LISTING_MIN = 10;

export function tidy(xs: readonly string[] | undefined): string[] {
  return [...new Set((xs ?? []).filter((x) => x !== ''))].sort();
}

/**
 * The listed users among `usernames`. Undefined when the listing is refused (not allowed, or an
 * emulator without it): callers then read each user on its own. A user the listing reported
 * without tags is left out, since the tags say whose user it is.
 */
export async function listUsers(conn: IamConnection, usernames: readonly string[]): Promise<Map<string, ListedUser> | undefined> {
  const { sdk, client, collect } = conn;
  const want = new Set(usernames);
  let users: IamSdk.UserDetail[] | undefined;
  try {
    users = await collect(
      LISTING,
      (Marker) => client.send(new sdk.GetAccountAuthorizationDetailsCommand({ Filter: ['User'], Marker, MaxItems: 1000 })),
      (r) => r.UserDetailList?.filter((u) => u.UserName !== undefined && want.has(u.UserName)),
    );
  } catch (e) {
    if (e instanceof ActionError) return undefined;
    throw e;
  }
  const out = new Map<string, ListedUser>();
  for (const u of users ?? []) {
    if (u.UserName === undefined || u.Tags === undefined) continue;
    const inline = (u.UserPolicyList ?? []).filter((p) => p.PolicyName !== undefined);
    const documents: Record<string, unknown> = {};
    for (const p of inline) if (p.PolicyName === TERM_POLICY || p.PolicyName === REVOKED_POLICY) documents[p.PolicyName] = decodeDocument(p.PolicyDocument) ?? null;
    out.set(u.UserName, {
      path: u.Path,
      arn: u.Arn,
      boundary: u.PermissionsBoundary?.PermissionsBoundaryArn,
      tags: Object.fromEntries(u.Tags.map((t) => [t.Key ?? '', t.Value ?? ''])),
      inlinePolicies: tidy(inline.map((p) => p.PolicyName ?? '')),
      documents,
      groups: tidy(u.GroupList),
      policies: tidy(u.AttachedManagedPolicies?.map((p) => p.PolicyArn ?? '')),
    });
  }
  return out;
}

/**
 * Which listed users a proof may stand on. A listing serves a user's proof only if no write to
 * that user was under way when it was asked for, or started before its answer was in: a write
 * the listing may have missed makes it no evidence for that user. Each entry serves once.
 */
export function createProofListings(conn: IamConnection, now: () => Date) {
  const writing = new Map<string, number>();
  /** Users written while a listing was in flight, one set per listing. */
  const dirty = new Set<Set<string>>();
  let listed = new Map<string, ListedUser>();
  let listedAt = '';

  return {
    /** Runs one write to `username`; the user's listing (if any) no longer serves its proof. */
    async write<T>(username: string, fn: () => Promise<T>): Promise<T> {
      writing.set(username, (writing.get(username) ?? 0) + 1);
      listed.delete(username);
      for (const d of dirty) d.add(username);
      try {
        return await fn();
      } finally {
        const n = (writing.get(username) ?? 1) - 1;
        if (n === 0) writing.delete(username);
        else writing.set(username, n);
      }
    },
    /** Lists `usernames` for their proofs; replaces the previous listing. */
    async list(usernames: readonly string[]): Promise<void> {
      listed = new Map();
      if (new Set(usernames).size < LISTING_MIN) return;
      const at = now().toISOString();
      const mine = new Set(writing.keys());
      dirty.add(mine);
      try {
        const got = await listUsers(conn, usernames);
        if (!got) return;
        for (const u of mine) got.delete(u);
        listed = got;
        listedAt = at;
      } finally {
        dirty.delete(mine);
      }
    },
    /** The user's listing and when it was asked for, once; undefined when there is none to use. */
    take(username: string): { user: ListedUser; listedAt: string } | undefined {
      const user = listed.get(username);
      if (!user) return undefined;
      listed.delete(username);
      return { user, listedAt };
    },
  };
}
