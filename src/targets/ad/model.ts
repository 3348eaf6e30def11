import { InputError } from '../../errors.js';
import { parseDN } from '../ldap/client.js';
import type { Desired, Observed } from '../model.js';
import { fromFileTime, parseFileTime } from './filetime.js';
import { isDisabled, parseUac, unsafeBits } from './uac.js';

/**
 * What the AD target reads and promises, as plain data: an LDAP entry becomes an observation, and
 * an observation becomes the target-neutral `Observed` the planner and the proof work on. No
 * client is imported here.
 */

/** Marks an account as detailee's (employeeType) and ties it to its assignment (description). */
export const AD_MARKER = 'detailee';
export const AD_DESCRIPTION_PREFIX = 'detailee:';
/** AD refuses a longer sAMAccountName (the pre-Windows 2000 logon name). */
const SAM_ACCOUNT_NAME_MAX = 20;

/** What an assignment wants in AD: everything `Desired` says but policies, which AD has none of. */
export type AdDesired = Omit<Desired, 'policies'>;

/** The user attributes detailee owns on the account (besides the flags, the expiry and the password). */
export const AD_ATTRIBUTES = ['givenName', 'sn', 'displayName', 'mail', 'description', 'employeeType'] as const;
export type AdAttribute = (typeof AD_ATTRIBUTES)[number];

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
  /** The owned attributes as read (the first value of each; the detailee description when there is one). */
  attributes?: Partial<Record<AdAttribute, string>>;
}

export type AdOperation = 'bind' | 'search' | 'add' | 'modify' | 'delete';

/** An attribute's value(s) as ldapts returns them. */
type EntryValue = string | string[] | Buffer | Buffer[];

export const USER_ATTRIBUTES = ['sAMAccountName', 'userAccountControl', 'accountExpires', 'pwdLastSet', 'memberOf', 'givenName', 'sn', 'displayName', 'mail', 'description', 'employeeType'];

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

export function absentObservation(username: string): AdObservation {
  return { username, exists: false, managed: false, disabled: false, mustChangePassword: false, memberOf: [], memberOfSearch: [] };
}

export function toObservation(username: string, entry: EntryLike, memberOfSearch: string[]): AdObservation {
  const uac = parseUac(all(entry.userAccountControl)[0]);
  const expiresRaw = parseFileTime(all(entry.accountExpires)[0]);
  const ours = all(entry.description).filter((d) => d.startsWith(AD_DESCRIPTION_PREFIX));
  const attributes: Partial<Record<AdAttribute, string>> = {};
  for (const a of AD_ATTRIBUTES) {
    const v = a === 'description' ? (ours[0] ?? all(entry.description)[0]) : all(entry[a])[0];
    if (v !== undefined) attributes[a] = v;
  }
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
    attributes,
  };
}

/** The cn of a group DN (its first RDN's value), or the DN itself when it has none. */
function groupName(dn: string): string {
  try {
    const first = parseDN(dn)[0] ?? {};
    const key = Object.keys(first).find((k) => k.toLowerCase() === 'cn');
    return key === undefined ? dn : first[key]!;
  } catch {
    return dn;
  }
}

/** Every group DN the account is in, by either reading, once each (DNs compare case-insensitively). */
export function memberDNs(o: Pick<AdObservation, 'memberOf' | 'memberOfSearch'>): string[] {
  const seen = new Map<string, string>();
  for (const g of [...o.memberOf, ...o.memberOfSearch]) if (!seen.has(g.toLowerCase())) seen.set(g.toLowerCase(), g);
  return [...seen.values()].sort();
}

/** What `inspect` puts in Observed.facts for AD: the observation itself, and group DNs by cn. */
type AdFacts = Omit<AdObservation, 'username' | 'exists' | 'assignmentId'> & { groupObjects?: Record<string, string> };

/** The target-neutral view: groups by cn, the end from accountExpires, enabled from the flag. */
export function toObserved(o: AdObservation): Observed {
  const { username, exists, assignmentId, ...rest } = o;
  const dns = memberDNs(o);
  const groupObjects = Object.fromEntries(dns.map((dn) => [groupName(dn), dn]));
  const facts: AdFacts = { ...rest, groupObjects };
  const end = o.accountExpires !== undefined && o.accountExpires !== 'never' ? o.accountExpires : undefined;
  return {
    target: 'ad',
    username,
    exists,
    ...(assignmentId === undefined ? {} : { assignmentId }),
    enabled: exists && !o.disabled,
    groups: [...new Set(dns.map(groupName))].sort(),
    policies: [],
    ...(end === undefined ? {} : { endsAt: end }),
    facts: { ...facts },
  };
}

/** The observation back from an Observed (what the planner and the proof read). */
export function adFacts(observed: Observed): AdObservation {
  const f = observed.facts as Partial<AdFacts>;
  return {
    username: observed.username,
    exists: observed.exists,
    ...(f.dn === undefined ? {} : { dn: f.dn }),
    managed: f.managed === true,
    ...(observed.assignmentId === undefined ? {} : { assignmentId: observed.assignmentId }),
    ...(f.userAccountControl === undefined ? {} : { userAccountControl: f.userAccountControl }),
    // Facts that do not say "enabled" are read as disabled only when the account is gone.
    disabled: f.disabled !== false,
    ...(f.accountExpires === undefined ? {} : { accountExpires: f.accountExpires }),
    mustChangePassword: f.mustChangePassword === true,
    memberOf: f.memberOf ?? [],
    memberOfSearch: f.memberOfSearch ?? [],
    attributes: f.attributes ?? {},
  };
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
 * assignment does not grant (unless `extraGroups` is false: the target's verify leaves those to
 * reconcile, as the LDAP target does), or a flag that lets the account in without its password.
 */
export function provisionProblems(o: AdObservation, promise: AdPromise, now: Date, opts: { extraGroups?: boolean } = {}): string[] {
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
  if (opts.extraGroups !== false) for (const [k, g] of have) if (!wanted.has(k)) problems.push(`in ${g}, which the assignment does not grant`);
  const unsafe = o.userAccountControl === undefined ? [] : unsafeBits(o.userAccountControl);
  if (unsafe.length > 0) problems.push(`userAccountControl has ${unsafe.join(', ')}`);
  return problems;
}
