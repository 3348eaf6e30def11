import { InputError } from '../../errors.js';
import { fromFileTime, parseFileTime } from './filetime.js';
import { isDisabled, parseUac, unsafeBits } from './uac.js';

/**
 * What the AD client reads and promises, as plain data: an LDAP entry becomes an observation,
 * and a revocation's proof is a pure check of a fresh observation. No client is imported here.
 */

/** Marks an account as detailee's (employeeType) and ties it to its assignment (description). */
export const AD_MARKER = 'detailee';
export const AD_DESCRIPTION_PREFIX = 'detailee:';
/** AD refuses a longer sAMAccountName (the pre-Windows 2000 logon name). */
const SAM_ACCOUNT_NAME_MAX = 20;

export interface AdDesired {
  assignmentId: string;
  username: string;
  givenName: string;
  familyName: string;
  email: string;
  /** Group cn values under targets.ad.groupsDN. */
  groups: string[];
  /** Exact instants: access begins at startsAt and ends (exclusive) at endsAt. */
  startsAt: string;
  endsAt: string;
}

export interface AdObservation {
  username: string;
  exists: boolean;
  dn?: string;
  /** employeeType is detailee. */
  managed: boolean;
  /** From `description: detailee:<id>`; undefined when absent or ambiguous. */
  assignmentId?: string;
  userAccountControl?: number;
  disabled: boolean;
  /** ISO instant, 'never', or undefined when absent. */
  accountExpires?: string;
  /** pwdLastSet is 0: the password must be changed at the next logon. */
  mustChangePassword: boolean;
  /** Group DNs from the user's memberOf. */
  memberOf: string[];
  /** Group DNs whose member attribute names the user, found by a search of the domain. */
  memberOfSearch: string[];
}

export interface AdProof {
  ok: boolean;
  problems: string[];
  observed: AdObservation;
}

export type AdOperation = 'bind' | 'search' | 'add' | 'modify';

/** An attribute's value(s) as ldapts returns them. */
type EntryValue = string | string[] | Buffer | Buffer[];

export const USER_ATTRIBUTES = ['sAMAccountName', 'userAccountControl', 'accountExpires', 'pwdLastSet', 'memberOf', 'description', 'employeeType'];

export function all(v: EntryValue | undefined): string[] {
  if (v === undefined) return [];
  const xs: (string | Buffer)[] = Array.isArray(v) ? v : [v];
  return xs.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

/** An ldapts search entry, reduced to what an observation reads. */
export interface EntryLike {
  dn: string;
  [attribute: string]: EntryValue;
}

export function toObservation(username: string, entry: EntryLike, memberOfSearch: string[]): AdObservation {
  const uac = parseUac(all(entry.userAccountControl)[0]);
  const expiresRaw = parseFileTime(all(entry.accountExpires)[0]);
  const ours = all(entry.description).filter((d) => d.startsWith(AD_DESCRIPTION_PREFIX));
  return {
    username,
    exists: true,
    dn: entry.dn,
    managed: all(entry.employeeType).includes(AD_MARKER),
    // Two detailee descriptions is not an assignment we can name.
    ...(ours.length === 1 ? { assignmentId: ours[0]!.slice(AD_DESCRIPTION_PREFIX.length) } : {}),
    ...(uac === undefined ? {} : { userAccountControl: uac }),
    // An account whose flags cannot be read is not called enabled.
    disabled: uac === undefined || isDisabled(uac),
    ...(expiresRaw === undefined ? {} : { accountExpires: fromFileTime(expiresRaw) }),
    mustChangePassword: all(entry.pwdLastSet)[0] === '0',
    memberOf: all(entry.memberOf).sort(),
    memberOfSearch: [...memberOfSearch].sort(),
  };
}

/**
 * What a revocation must leave, checked on a fresh read: disabled, accountExpires at or before the
 * revocation (never "never"), and no group membership by either reading. An absent account has
 * nothing left to revoke.
 */
export function revocationProblems(o: AdObservation, revokedAt: string): string[] {
  if (!o.exists) return [];
  const problems: string[] = [];
  if (o.disabled !== true || o.userAccountControl === undefined || !isDisabled(o.userAccountControl)) problems.push(`not disabled (userAccountControl ${o.userAccountControl ?? 'unreadable'})`);
  const at = Date.parse(revokedAt);
  if (Number.isNaN(at)) problems.push(`the revocation instant ${JSON.stringify(revokedAt)} is not an instant`);
  if (o.accountExpires === undefined || o.accountExpires === 'never' || !(Date.parse(o.accountExpires) <= at)) {
    problems.push(`accountExpires ${o.accountExpires ?? 'absent'} is after the revocation at ${revokedAt}`);
  }
  if (o.memberOf.length > 0) problems.push(`memberOf still lists ${o.memberOf.join('; ')}`);
  if (o.memberOfSearch.length > 0) problems.push(`still a member of ${o.memberOfSearch.join('; ')}`);
  return problems;
}

/** A manifest username that AD can hold as sAMAccountName, or an exit-2 refusal naming the limit. */
export function checkAdUsername(username: string): void {
  if (!/^[a-z][a-z0-9._-]*$/.test(username) || username.length > SAM_ACCOUNT_NAME_MAX) {
    throw new InputError(`detailee.username ${JSON.stringify(username)} cannot be an AD logon name: sAMAccountName is at most ${SAM_ACCOUNT_NAME_MAX} characters.`, {
      code: 'ad.username',
      actions: [`Choose a username of at most ${SAM_ACCOUNT_NAME_MAX} characters for an assignment with access.ad.`],
    });
  }
}

/** What provisioning promised, with the groups already resolved to their DNs. */
export interface AdPromise {
  assignmentId: string;
  startsAt: string;
  endsAt: string;
  groupDNs: string[];
}

/**
 * Drift from what provisioning promised, on a fresh read at `now`: the account missing or not
 * this assignment's, enabled before the start (by hand: AD has no "not before"), disabled inside
 * the term, accountExpires other than the end (pushed out, or never), a group missing or one the
 * assignment does not grant, or a flag that lets the account in without its password.
 */
export function provisionProblems(o: AdObservation, promise: AdPromise, now: Date): string[] {
  if (!o.exists) return ['the account does not exist'];
  const problems: string[] = [];
  if (!o.managed || o.assignmentId !== promise.assignmentId) problems.push(`not marked as assignment ${promise.assignmentId}'s account (employeeType / description)`);
  const t = now.getTime();
  if (t < Date.parse(promise.startsAt) && !o.disabled) problems.push(`enabled before the start at ${promise.startsAt}`);
  if (t >= Date.parse(promise.startsAt) && t < Date.parse(promise.endsAt) && o.disabled) problems.push('disabled inside the term');
  const want = new Date(Date.parse(promise.endsAt)).toISOString();
  if (o.accountExpires !== want) problems.push(`accountExpires is ${o.accountExpires ?? 'absent'}, not the end of the term ${want}`);
  const have = new Map<string, string>();
  for (const g of [...o.memberOf, ...o.memberOfSearch]) have.set(g.toLowerCase(), g);
  const wanted = new Set(promise.groupDNs.map((g) => g.toLowerCase()));
  for (const g of promise.groupDNs) if (!have.has(g.toLowerCase())) problems.push(`not in ${g}`);
  for (const [k, g] of have) if (!wanted.has(k)) problems.push(`in ${g}, which the assignment does not grant`);
  const unsafe = o.userAccountControl === undefined ? [] : unsafeBits(o.userAccountControl);
  if (unsafe.length > 0) problems.push(`userAccountControl has ${unsafe.join(', ')}`);
  return problems;
}
