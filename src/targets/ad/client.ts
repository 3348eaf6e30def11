import { readFileSync } from 'node:fs';
import type * as LdaptsModule from 'ldapts';
import type { Client, Filter } from 'ldapts';
import type { AdConfig } from '../../config/schema.js';
import { ActionError, DetaileeError, InputError } from '../../errors.js';
import { parseDN } from '../ldap/client.js';
import { mapAdError, type AdErrorContext } from './errors.js';
import { fromFileTime, toFileTime } from './filetime.js';
import {
  AD_DESCRIPTION_PREFIX,
  AD_MARKER,
  USER_ATTRIBUTES,
  checkAdUsername,
  provisionProblems,
  all,
  revocationProblems,
  toObservation,
  type AdDesired,
  type AdObservation,
  type AdOperation,
  type AdProof,
} from './model.js';
import { encodeUnicodePwd, randomPassword } from './password.js';
import { adTransport } from './transport.js';
import { NEW_DISABLED, UAC, withDisabled } from './uac.js';

export type { AdDesired, AdObservation, AdProof } from './model.js';

/**
 * A small Active Directory client for detailee's accounts: it creates, enables, renews and revokes
 * users in one OU, and reads them back fresh. Every write is followed by a read when the caller
 * needs proof; nothing is cached between calls. It does not plan or journal: the lifecycle's
 * target interface will do that on top of it.
 */

export interface AdClientOptions {
  /** The instant provisioning and enabling compare the term with; injected so tests control it. */
  clock: { now(): Date };
}

type Ldapts = typeof LdaptsModule;

const lower = (xs: string[]) => xs.map((x) => x.toLowerCase());

export class AdClient {
  /** LDAP operations sent since connect, by kind (for the benchmark and for tests). */
  readonly operations: Record<AdOperation, number> = { bind: 0, search: 0, add: 0, modify: 0 };
  readonly where: string;
  private readonly domainDN: string;

  private constructor(
    private readonly lib: Ldapts,
    private readonly client: Client,
    private readonly config: AdConfig,
    private readonly clock: AdClientOptions['clock'],
  ) {
    const url = new URL(config.url);
    this.where = `AD ${url.protocol}//${url.host}`;
    // The domain's naming context: the DC= tail of usersDN (sAMAccountName is unique across it).
    const dcs = parseDN(config.usersDN).filter((r) => Object.keys(r).length === 1 && Object.keys(r)[0]!.toLowerCase() === 'dc');
    this.domainDN = new lib.DN().addRDNs(dcs).toString();
  }

  /**
   * Connect and bind as the service account: ldaps://, or ldap:// with StartTLS, either checked
   * against the pinned CA (targets.ad.caCertificate) and the DC's certificate name; plain LDAP
   * only to a loopback DC. Refused binds and bad certificates are exit 2 (the config must change),
   * a DC that does not answer is exit 1.
   */
  static async connect(config: AdConfig, bindPassword: string, options: AdClientOptions): Promise<AdClient> {
    const { transport, tlsOptions } = adTransport(config, (f) => readFileSync(f));
    const lib: Ldapts = await import('ldapts');
    const client = new lib.Client({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      ...(transport === 'ldaps' ? { tlsOptions } : {}),
    });
    const ad = new AdClient(lib, client, config, options.clock);
    const ctx: AdErrorContext = { where: ad.where, operation: `bind as ${config.bindDN}`, serviceBind: true };
    try {
      if (transport === 'starttls') await client.startTLS(tlsOptions);
      ad.operations.bind++;
      await client.bind(config.bindDN, bindPassword);
    } catch (e) {
      await client.unbind().catch(() => undefined);
      throw mapAdError(e, ctx);
    }
    return ad;
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  /** One LDAP exchange, counted, its failure turned into a DetaileeError naming what was done. */
  private async op<T>(kind: AdOperation, operation: string, fn: (c: Client) => Promise<T>, configField?: AdErrorContext['configField']): Promise<T> {
    this.operations[kind]++;
    try {
      return await fn(this.client);
    } catch (e) {
      if (e instanceof DetaileeError) throw e;
      throw mapAdError(e, { where: this.where, operation, ...(configField ? { configField } : {}) });
    }
  }

  private eq(attribute: string, value: string): Filter {
    return new this.lib.EqualityFilter({ attribute, value });
  }

  userDN(username: string): string {
    return new this.lib.DN({ CN: username }).addRDNs(parseDN(this.config.usersDN)).toString();
  }

  /** A fresh read of the account: its entry (found by sAMAccountName anywhere in the domain) and a search of the groups that list it. */
  async observe(username: string): Promise<AdObservation> {
    const filter = new this.lib.AndFilter({ filters: [this.eq('objectClass', 'user'), this.eq('sAMAccountName', username)] });
    const r = await this.op('search', `read account ${username}`, (c) => c.search(this.domainDN, { scope: 'sub', filter, attributes: USER_ATTRIBUTES }));
    if (r.searchEntries.length > 1) {
      throw new ActionError(`${this.where}: more than one account has sAMAccountName ${username}: ${r.searchEntries.map((e) => e.dn).join('; ')}.`, { code: 'ad.ambiguous' });
    }
    const entry = r.searchEntries[0];
    if (!entry) return { username, exists: false, managed: false, disabled: false, mustChangePassword: false, memberOf: [], memberOfSearch: [] };
    return toObservation(username, entry, await this.groupsNaming(entry.dn));
  }

  private async groupsNaming(dn: string): Promise<string[]> {
    const filter = new this.lib.AndFilter({ filters: [this.eq('objectClass', 'group'), this.eq('member', dn)] });
    const r = await this.op('search', `search groups of ${dn}`, (c) => c.search(this.domainDN, { scope: 'sub', filter, attributes: ['1.1'], paged: true }));
    return r.searchEntries.map((e) => e.dn).sort();
  }

  /** Refuse to touch an account detailee did not create for this assignment. */
  private requireOurs(o: AdObservation, assignmentId: string | undefined, action: string): asserts o is AdObservation & { dn: string } {
    if (!o.exists || o.dn === undefined) throw new ActionError(`${this.where}: cannot ${action} ${o.username}: no such account.`, { code: 'ad.missing' });
    if (!o.managed || (assignmentId !== undefined && o.assignmentId !== assignmentId)) {
      throw new ActionError(`${this.where}: ${o.dn} is not ${assignmentId === undefined ? "detailee's" : `assignment ${assignmentId}'s`} account; detailee does not ${action} it.`, {
        code: 'ad.foreign-entry',
        actions: ['Rename the detailee, or have a domain administrator look at the existing account.'],
      });
    }
  }

  /**
   * Refuse to move the end of an account whose accountExpires has passed: it ended or was revoked
   * (a revocation sets it to the revocation instant), and detailee never re-opens one.
   */
  private requireNotEnded(o: AdObservation & { dn: string }, action: string): void {
    if (o.accountExpires !== undefined && o.accountExpires !== 'never' && Date.parse(o.accountExpires) <= this.clock.now().getTime()) {
      throw new ActionError(`${this.where}: ${o.dn} ended or was revoked (accountExpires ${o.accountExpires}); detailee does not ${action} it.`, {
        code: 'ad.ended',
        actions: ['A new term needs a new assignment; a domain administrator decides about the old account.'],
      });
    }
  }

  private async findGroup(cn: string): Promise<string | undefined> {
    const filter = new this.lib.AndFilter({ filters: [this.eq('objectClass', 'group'), this.eq('cn', cn)] });
    const r = await this.op('search', `find group ${cn}`, (c) => c.search(this.config.groupsDN, { scope: 'sub', filter, attributes: ['1.1'] }), 'groupsDN');
    if (r.searchEntries.length > 1) {
      throw new InputError(`More than one AD group named ${cn} under targets.ad.groupsDN: ${r.searchEntries.map((e) => e.dn).join('; ')}.`, { code: 'ad.group.ambiguous', actions: ['Narrow targets.ad.groupsDN.'] });
    }
    return r.searchEntries[0]?.dn;
  }

  private async resolveGroups(names: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const g of [...new Set(names)]) {
      const dn = await this.findGroup(g);
      if (dn === undefined) missing.push(g);
      else found.set(g, dn);
    }
    if (missing.length > 0) {
      throw new InputError(`AD group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found under ${this.config.groupsDN}.`, {
        code: 'ad.group.unknown',
        actions: ['Fix access.ad.groups in the assignment, or have the group created first.'],
        details: { groups: missing },
      });
    }
    return found;
  }

  private replace(type: string, values: (string | Buffer)[]): LdaptsModule.Change {
    const { Change, Attribute } = this.lib;
    return new Change({ operation: 'replace', modification: new Attribute({ type, values: values as string[] }) });
  }

  private async modify(dn: string, operation: string, changes: LdaptsModule.Change[]): Promise<void> {
    await this.op('modify', operation, (c) => c.modify(dn, changes));
  }

  /**
   * Create the account (or converge on this assignment's own), disabled while the term has not
   * begun: AD has no "not before", so the start is kept by the flag, and `enable` lifts it on the
   * start day. `accountExpires` holds the end, so the DC itself refuses the account after it even
   * if detailee never runs again. The random first password is sent and dropped, never returned.
   */
  async provisionUser(desired: AdDesired, opts: { mustChangePassword: boolean }): Promise<AdObservation> {
    checkAdUsername(desired.username);
    const start = Date.parse(desired.startsAt);
    const end = Date.parse(desired.endsAt);
    const now = this.clock.now().getTime();
    if (!(start < end)) throw new InputError(`The term ${desired.startsAt} – ${desired.endsAt} is empty.`, { code: 'ad.term' });
    if (end <= now) throw new InputError(`The term of ${desired.assignmentId} ended at ${desired.endsAt}; an account is not created after its end.`, { code: 'ad.term.ended' });
    const expires = toFileTime(new Date(end).toISOString()).toString();
    const groups = await this.resolveGroups(desired.groups);
    const beforeStart = now < start;
    const existing = await this.observe(desired.username);
    const dn = existing.dn ?? this.userDN(desired.username);
    const attributes = {
      givenName: desired.givenName,
      sn: desired.familyName,
      displayName: `${desired.givenName} ${desired.familyName}`,
      mail: desired.email,
      description: `${AD_DESCRIPTION_PREFIX}${desired.assignmentId}`,
      employeeType: AD_MARKER,
      accountExpires: expires,
    };
    if (!existing.exists) {
      await this.op('add', `create ${dn}`, (c) =>
        c.add(dn, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          cn: desired.username,
          sAMAccountName: desired.username,
          userPrincipalName: `${desired.username}@${this.config.upnSuffix}`,
          ...attributes,
          unicodePwd: encodeUnicodePwd(randomPassword()) as unknown as string,
          userAccountControl: String(beforeStart ? NEW_DISABLED : UAC.NORMAL_ACCOUNT),
          ...(opts.mustChangePassword ? { pwdLastSet: '0' } : {}),
        }), 'usersDN');
    } else {
      // A retry after a crash: converge on our own entry, never take over someone else's.
      this.requireOurs(existing, desired.assignmentId, 'provision');
      this.requireNotEnded(existing, 'provision');
      const changes = Object.entries(attributes).map(([k, v]) => this.replace(k, [v]));
      if (beforeStart && !existing.disabled) changes.push(this.replace('userAccountControl', [String(withDisabled(existing.userAccountControl ?? UAC.NORMAL_ACCOUNT, true))]));
      await this.modify(dn, `update ${dn}`, changes);
    }
    const have = new Set(lower([...existing.memberOf, ...existing.memberOfSearch]));
    for (const [, groupDN] of groups) if (!have.has(groupDN.toLowerCase())) await this.addMember(groupDN, dn);
    return this.observe(desired.username);
  }

  /**
   * Lift ACCOUNTDISABLE on the start day, and prove it with a fresh read. Refused before the start,
   * and for an account whose accountExpires is past (ended or revoked): detailee never re-opens one.
   */
  async enable(username: string, assignmentId: string, startsAt: string): Promise<AdProof> {
    const now = this.clock.now();
    if (!(Date.parse(startsAt) <= now.getTime())) {
      throw new InputError(`${username}'s term starts at ${startsAt}; an AD account is enabled only from its start.`, { code: 'ad.enable.early' });
    }
    const o = await this.observe(username);
    this.requireOurs(o, assignmentId, 'enable');
    if (o.accountExpires === undefined || o.accountExpires === 'never' || Date.parse(o.accountExpires) <= now.getTime()) {
      throw new ActionError(`${this.where}: ${o.dn} has accountExpires ${o.accountExpires ?? 'absent'}; detailee enables only an account whose term has not ended.`, { code: 'ad.enable.expired' });
    }
    if (o.disabled) await this.modify(o.dn, `enable ${o.dn}`, [this.replace('userAccountControl', [String(withDisabled(o.userAccountControl ?? UAC.NORMAL_ACCOUNT, false))])]);
    const after = await this.observe(username);
    const problems = after.disabled ? [`still disabled (userAccountControl ${after.userAccountControl})`] : [];
    return { ok: problems.length === 0, problems, observed: after };
  }

  /**
   * The first-password step: an operator issues a first password (handed to the detailee out of
   * band, never stored); with `mustChange` the DC makes the detailee replace it at first logon
   * (pwdLastSet 0; an LDAP bind then answers data 773, kinit asks for a new one).
   */
  async setInitialPassword(username: string, assignmentId: string, password: string, opts: { mustChange: boolean }): Promise<void> {
    const o = await this.observe(username);
    this.requireOurs(o, assignmentId, 'set a password for');
    // pwdLastSet takes only 0 (must change) or -1 (now); both are sent in the same modify.
    await this.modify(o.dn, `set the first password of ${o.dn}`, [this.replace('unicodePwd', [encodeUnicodePwd(password)]), this.replace('pwdLastSet', [opts.mustChange ? '0' : '-1'])]);
  }

  /** Renew: move accountExpires to the new end, and read it back. */
  async setExpiry(username: string, assignmentId: string, endsAt: string): Promise<AdProof> {
    const o = await this.observe(username);
    this.requireOurs(o, assignmentId, 'renew');
    this.requireNotEnded(o, 'renew');
    const ft = toFileTime(endsAt);
    await this.modify(o.dn, `set accountExpires on ${o.dn}`, [this.replace('accountExpires', [ft.toString()])]);
    const after = await this.observe(username);
    const want = fromFileTime(ft);
    const problems = after.accountExpires === want ? [] : [`accountExpires is ${after.accountExpires ?? 'absent'}, not ${want}`];
    return { ok: problems.length === 0, problems, observed: after };
  }

  /**
   * Revoke: disable and move accountExpires to the revocation instant (one modify, so the account
   * is shut before anything else is tried), replace the password with a random one nobody learns,
   * remove every group membership, then prove all of it with fresh reads.
   */
  async revoke(username: string, assignmentId: string, revokedAt: string): Promise<AdProof> {
    const o = await this.observe(username);
    if (!o.exists) return { ok: true, problems: [], observed: o };
    this.requireOurs(o, assignmentId, 'revoke');
    const at = toFileTime(revokedAt);
    const current = o.accountExpires === undefined || o.accountExpires === 'never' ? undefined : toFileTime(o.accountExpires);
    // An earlier end stays: revocation never lengthens access.
    const expires = current !== undefined && current < at ? current : at;
    await this.modify(o.dn, `disable ${o.dn}`, [
      this.replace('userAccountControl', [String(withDisabled(o.userAccountControl ?? UAC.NORMAL_ACCOUNT, true))]),
      this.replace('accountExpires', [expires.toString()]),
    ]);
    await this.modify(o.dn, `replace the password of ${o.dn}`, [this.replace('unicodePwd', [encodeUnicodePwd(randomPassword())])]);
    const groups = new Map<string, string>();
    for (const g of [...o.memberOf, ...o.memberOfSearch]) groups.set(g.toLowerCase(), g);
    for (const g of groups.values()) await this.removeMember(g, o.dn);
    return this.proveRevoked(username, revokedAt);
  }

  /** Re-read the account and compare it with what provisioning promised (reconcile's drift check). */
  async proveProvisioned(desired: AdDesired): Promise<AdProof> {
    const groups = await this.resolveGroups(desired.groups);
    const observed = await this.observe(desired.username);
    const problems = provisionProblems(observed, { ...desired, groupDNs: [...groups.values()] }, this.clock.now());
    return { ok: problems.length === 0, problems, observed };
  }

  /** What a revocation must leave: disabled, accountExpires at or before revokedAt, no group at all. */
  async proveRevoked(username: string, revokedAt: string): Promise<AdProof> {
    const after = await this.observe(username);
    const problems = revocationProblems(after, revokedAt);
    return { ok: problems.length === 0, problems, observed: after };
  }

  /** Add the user to a group under groupsDN by cn (idempotent). */
  async addToGroup(username: string, cn: string): Promise<void> {
    const [groupDN] = (await this.resolveGroups([cn])).values();
    const o = await this.observe(username);
    // Never grant a group to an account detailee does not manage.
    this.requireOurs(o, undefined, 'add to a group');
    await this.addMember(groupDN!, o.dn);
  }

  /** Remove the user from a group under groupsDN by cn (idempotent). */
  async removeFromGroup(username: string, cn: string): Promise<void> {
    const groupDN = await this.findGroup(cn);
    const o = await this.observe(username);
    if (groupDN !== undefined && o.dn !== undefined) await this.removeMember(groupDN, o.dn);
  }

  private async addMember(groupDN: string, userDN: string): Promise<void> {
    const { Change, Attribute } = this.lib;
    await this.op('modify', `add ${userDN} to ${groupDN}`, async (c) => {
      try {
        await c.modify(groupDN, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [userDN] }) }));
      } catch (e) {
        // Already a member: AD answers "entry already exists" (68), others "value exists" (20).
        if (e instanceof this.lib.AlreadyExistsError || e instanceof this.lib.TypeOrValueExistsError) return;
        throw e;
      }
    });
  }

  private async removeMember(groupDN: string, userDN: string): Promise<void> {
    const { Change, Attribute } = this.lib;
    await this.op('modify', `remove ${userDN} from ${groupDN}`, async (c) => {
      try {
        await c.modify(groupDN, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDN] }) }));
      } catch (e) {
        if (e instanceof this.lib.NoSuchAttributeError) return;
        // Not a member (any more): AD and Samba answer "unwilling" (53) with wording that varies;
        // a fresh read decides, so a real refusal is never taken for success.
        if (e instanceof this.lib.UnwillingToPerformError) {
          const still = await this.groupsNaming(userDN);
          if (!lower(still).includes(groupDN.toLowerCase())) return;
        }
        throw e;
      }
    });
  }

  /** The accounts in usersDN that carry detailee's marker, each read fresh. */
  async listManaged(): Promise<AdObservation[]> {
    const filter = new this.lib.AndFilter({ filters: [this.eq('objectClass', 'user'), this.eq('employeeType', AD_MARKER)] });
    const r = await this.op('search', 'list detailee accounts', (c) => c.search(this.config.usersDN, { scope: 'one', filter, attributes: USER_ATTRIBUTES, paged: { pageSize: 200 } }), 'usersDN');
    const out: AdObservation[] = [];
    for (const e of r.searchEntries) {
      const name = all(e.sAMAccountName)[0];
      if (name !== undefined) out.push(toObservation(name, e, await this.groupsNaming(e.dn)));
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Accounts in usersDN without detailee's marker: created by someone else, reported, never touched. */
  async listOrphans(): Promise<{ dn: string; sAMAccountName?: string }[]> {
    const filter = new this.lib.AndFilter({ filters: [this.eq('objectClass', 'user'), new this.lib.NotFilter({ filter: this.eq('employeeType', AD_MARKER) })] });
    const r = await this.op('search', 'list unmarked accounts', (c) => c.search(this.config.usersDN, { scope: 'one', filter, attributes: ['sAMAccountName'], paged: { pageSize: 200 } }), 'usersDN');
    return r.searchEntries
      .map((e) => {
        const name = all(e.sAMAccountName)[0];
        return name === undefined ? { dn: e.dn } : { dn: e.dn, sAMAccountName: name };
      })
      .sort((a, b) => a.dn.localeCompare(b.dn));
  }
}
