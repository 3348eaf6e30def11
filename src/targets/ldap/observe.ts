import type { Entry } from 'ldapts';
import { InputError } from '../../errors.js';
import type { Observed } from '../model.js';
import { all, first, type LdapConnection } from './client.js';
import { DESCRIPTION_PREFIX, EMPLOYEE_TYPE, MANAGED_ATTRIBUTES, PERMANENT_LOCK, fromGeneralizedTime, type LdapFacts, type ManagedAttribute } from './plan.js';

/** Reading the directory: an entry, its memberships, and every entry detailee manages. */

const ENTRY_ATTRIBUTES = ['uid', ...MANAGED_ATTRIBUTES, 'pwdStartTime', 'pwdEndTime', 'pwdAccountLockedTime'];
/** Bounded fan-out for per-entry group lookups in listManaged: one connection, pipelined requests. */
const LOOKUP_CONCURRENCY = 16;

/** Pure: the Observed for an entry (or its absence) and the groups it is a member of. */
function observedFromEntry(username: string, entry: Entry | undefined, groups: string[]): Observed {
  if (!entry) {
    const facts: LdapFacts = { managed: false, locked: false, permanentlyLocked: false, attributes: {} };
    return { target: 'ldap', username, exists: false, enabled: false, groups, policies: [], facts: { ...facts } };
  }
  const descriptions = all(entry.description).filter((d) => d.startsWith(DESCRIPTION_PREFIX));
  const attributes: Partial<Record<ManagedAttribute, string>> = {};
  for (const a of MANAGED_ATTRIBUTES) {
    // Compare the description that marks us, not whatever value the server lists first.
    const v = a === 'description' ? (descriptions[0] ?? first(entry.description)) : first(entry[a]);
    if (v !== undefined) attributes[a] = v;
  }
  const lockedTime = first(entry.pwdAccountLockedTime);
  const start = first(entry.pwdStartTime);
  const end = first(entry.pwdEndTime);
  const facts: LdapFacts = {
    dn: entry.dn,
    managed: all(entry.employeeType).includes(EMPLOYEE_TYPE),
    locked: lockedTime !== undefined,
    ...(lockedTime === undefined ? {} : { lockedTime }),
    permanentlyLocked: lockedTime === PERMANENT_LOCK,
    attributes,
  };
  return {
    target: 'ldap',
    username,
    exists: true,
    // Two detailee descriptions is not an assignment we can name.
    assignmentId: descriptions.length === 1 ? descriptions[0]!.slice(DESCRIPTION_PREFIX.length) : undefined,
    enabled: lockedTime === undefined,
    groups,
    policies: [],
    startsAt: start === undefined ? undefined : fromGeneralizedTime(start),
    endsAt: end === undefined ? undefined : fromGeneralizedTime(end),
    facts: { ...facts },
  };
}

export interface LdapReader {
  readEntry(username: string): Promise<Entry | undefined>;
  /** The cns of the groups that list the user as a member, sorted. */
  groupsOf(username: string): Promise<string[]>;
  /** The group's DN, found by cn and class; undefined when absent, an error when ambiguous. */
  findGroup(cn: string): Promise<string | undefined>;
  /**
   * Group DNs by cn, as the last membership search found them: removing a membership then needs no
   * second search for the group. A cn found at two DNs is not kept; removal searches for it.
   */
  readonly memberOf: Map<string, string>;
  /** A fresh read of the entry and its memberships; nothing is cached between calls. */
  inspect(username: string): Promise<Observed>;
  listManaged(): Promise<Observed[]>;
}

export function createLdapReader(conn: LdapConnection): LdapReader {
  const { lib, run, eq, groupsDN, groupClass, memberAttribute } = conn;
  const { AndFilter, OrFilter } = lib;
  const memberOf = new Map<string, string>();

  async function readEntry(username: string): Promise<Entry | undefined> {
    const dn = conn.userDN(username);
    return run(`read ${dn.toString()}`, async (c) => {
      try {
        const r = await c.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ENTRY_ATTRIBUTES });
        return r.searchEntries[0];
      } catch (e) {
        if (e instanceof lib.NoSuchObjectError) return undefined;
        throw e;
      }
    });
  }

  async function groupsOf(username: string): Promise<string[]> {
    const filter = new AndFilter({ filters: [eq('objectClass', groupClass), eq(memberAttribute, conn.memberValue(username))] });
    const r = await run(`search groups of ${username}`, (c) =>
      c.search(groupsDN, { scope: 'sub', filter, attributes: ['cn'], paged: true }),
    );
    const found = new Map<string, string | undefined>();
    for (const e of r.searchEntries) {
      const cn = all(e.cn)[0];
      if (cn !== undefined) found.set(cn, found.has(cn) && found.get(cn) !== e.dn ? undefined : e.dn);
    }
    for (const [cn, dn] of found) {
      if (dn === undefined) memberOf.delete(cn);
      else memberOf.set(cn, dn);
    }
    return [...found.keys()].sort();
  }

  async function findGroup(cn: string): Promise<string | undefined> {
    const filter = new AndFilter({ filters: [eq('objectClass', groupClass), eq('cn', cn)] });
    const r = await run(`find group ${cn}`, (c) => c.search(groupsDN, { scope: 'sub', filter, attributes: ['1.1'] }));
    if (r.searchEntries.length > 1) {
      throw new InputError(`More than one ${groupClass} named ${cn} under ${conn.config.groupsDN}: ${r.searchEntries.map((e) => e.dn).join('; ')}.`, {
        code: 'ldap.group.ambiguous',
        actions: ['Rename or remove the duplicate group, or narrow targets.ldap.groupsDN.'],
      });
    }
    return r.searchEntries[0]?.dn;
  }

  async function inspect(username: string): Promise<Observed> {
    const [entry, groups] = await Promise.all([readEntry(username), groupsOf(username)]);
    const observed = observedFromEntry(username, entry, groups);
    // The DNs the search found, so onboarding can record them and a revocation needs no lookup.
    const groupObjects = Object.fromEntries(groups.flatMap((cn) => (memberOf.has(cn) ? [[cn, memberOf.get(cn)!]] : [])));
    return entry ? { ...observed, facts: { ...observed.facts, groupObjects } } : observed;
  }

  async function listManaged(): Promise<Observed[]> {
    const filter = new AndFilter({
      filters: [eq('employeeType', EMPLOYEE_TYPE), new OrFilter({ filters: [eq('objectClass', 'inetOrgPerson'), eq('objectClass', 'person')] })],
    });
    const r = await run('list detailee entries', (c) =>
      c.search(conn.peopleDN, { scope: 'one', filter, attributes: ENTRY_ATTRIBUTES, paged: { pageSize: 200 } }),
    );
    const entries = r.searchEntries.filter((e) => first(e.uid) !== undefined);
    const out: Observed[] = [];
    for (let i = 0; i < entries.length; i += LOOKUP_CONCURRENCY) {
      const chunk = entries.slice(i, i + LOOKUP_CONCURRENCY);
      const groups = await Promise.all(chunk.map((e) => groupsOf(first(e.uid)!)));
      chunk.forEach((e, j) => out.push(observedFromEntry(first(e.uid)!, e, groups[j]!)));
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  return { readEntry, groupsOf, findGroup, memberOf, inspect, listManaged };
}
