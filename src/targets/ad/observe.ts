import { ActionError, InputError } from '../../errors.js';
import type { Observed } from '../model.js';
import type { AdConnection } from './client.js';
import { AD_MARKER, USER_ATTRIBUTES, absentObservation, all, toObservation, toObserved, type AdObservation } from './model.js';

/** Reading the domain: an account, the groups that list it, its groups by name, and detailee's accounts. */

export interface AdReader {
  /** A fresh read of the account (by sAMAccountName anywhere in the domain) and the groups that name it. */
  read(username: string): Promise<AdObservation>;
  inspect(username: string): Promise<Observed>;
  /** The DNs of groups whose member attribute names `dn`, sorted. */
  groupsNaming(dn: string): Promise<string[]>;
  /** The group's DN under groupsDN by cn; undefined when absent, an error when ambiguous. */
  findGroup(cn: string): Promise<string | undefined>;
  /**
   * Group DNs by cn as this target's last search found them (preflight's, usually), so adding a
   * member needs no second search; a DN gone stale is searched again. Never used by a proof.
   */
  readonly knownGroups: Map<string, string>;
  /** Every named group's DN, or an exit-2 refusal naming the ones that do not exist. */
  resolveGroups(names: string[]): Promise<Map<string, string>>;
  /** The accounts in usersDN that carry detailee's marker, each read fresh. */
  listManaged(): Promise<Observed[]>;
}

export function createAdReader(conn: AdConnection): AdReader {
  const { lib, op, eq, config, where, domainDN } = conn;
  const knownGroups = new Map<string, string>();

  async function groupsNaming(dn: string): Promise<string[]> {
    const filter = new lib.AndFilter({ filters: [eq('objectClass', 'group'), eq('member', dn)] });
    const r = await op('search', `search groups of ${dn}`, (c) => c.search(domainDN, { scope: 'sub', filter, attributes: ['1.1'], paged: true }));
    return r.searchEntries.map((e) => e.dn).sort();
  }

  async function read(username: string): Promise<AdObservation> {
    const filter = new lib.AndFilter({ filters: [eq('objectClass', 'user'), eq('sAMAccountName', username)] });
    const r = await op('search', `read account ${username}`, (c) => c.search(domainDN, { scope: 'sub', filter, attributes: USER_ATTRIBUTES }));
    if (r.searchEntries.length > 1) {
      throw new ActionError(`${where}: more than one account has sAMAccountName ${username}: ${r.searchEntries.map((e) => e.dn).join('; ')}.`, { code: 'ad.ambiguous' });
    }
    const entry = r.searchEntries[0];
    if (!entry) return absentObservation(username);
    return toObservation(username, entry, await groupsNaming(entry.dn));
  }

  async function findGroup(cn: string): Promise<string | undefined> {
    const filter = new lib.AndFilter({ filters: [eq('objectClass', 'group'), eq('cn', cn)] });
    const r = await op('search', `find group ${cn}`, (c) => c.search(config.groupsDN, { scope: 'sub', filter, attributes: ['1.1'] }), 'groupsDN');
    if (r.searchEntries.length > 1) {
      throw new InputError(`More than one AD group named ${cn} under targets.ad.groupsDN: ${r.searchEntries.map((e) => e.dn).join('; ')}.`, { code: 'ad.group.ambiguous', actions: ['Narrow targets.ad.groupsDN.'] });
    }
    const dn = r.searchEntries[0]?.dn;
    if (dn === undefined) knownGroups.delete(cn);
    else knownGroups.set(cn, dn);
    return dn;
  }

  async function resolveGroups(names: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const g of [...new Set(names)]) {
      const dn = await findGroup(g);
      if (dn === undefined) missing.push(g);
      else found.set(g, dn);
    }
    if (missing.length > 0) {
      throw new InputError(`AD group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found under ${config.groupsDN}.`, {
        code: 'ad.group.unknown',
        actions: ['Fix access.ad.groups in the assignment, or have the group created first.'],
        details: { groups: missing },
      });
    }
    return found;
  }

  async function listManaged(): Promise<Observed[]> {
    const filter = new lib.AndFilter({ filters: [eq('objectClass', 'user'), eq('employeeType', AD_MARKER)] });
    const r = await op('search', 'list detailee accounts', (c) => c.search(config.usersDN, { scope: 'one', filter, attributes: USER_ATTRIBUTES, paged: { pageSize: 200 } }), 'usersDN');
    const out: Observed[] = [];
    for (const e of r.searchEntries) {
      const name = all(e.sAMAccountName)[0];
      if (name !== undefined) out.push(toObserved(toObservation(name, e, await groupsNaming(e.dn))));
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  return { read, inspect: async (username) => toObserved(await read(username)), groupsNaming, findGroup, knownGroups, resolveGroups, listManaged };
}
