import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type * as LdaptsModule from 'ldapts';
import type { Change as LdapChange, Client, DN, Entry, Filter } from 'ldapts';
import { prove, proofProblems } from './proof.js';
import type { LdapConfig } from '../config/schema.js';
import { ActionError, DetaileeError, InputError } from '../errors.js';
import {
  DESCRIPTION_PREFIX,
  EMPLOYEE_TYPE,
  MANAGED_ATTRIBUTES,
  PERMANENT_LOCK,
  descriptionFor,
  fromGeneralizedTime,
  ldapFacts,
  planLdap,
  toGeneralizedTime,
  type LdapFacts,
  type LdapStep,
  type ManagedAttribute,
  type MemberAttribute,
} from './ldap-plan.js';
import type { Intent, Observed, Step, Target, VerifyResult } from './target.js';

type Ldapts = typeof LdaptsModule;

export interface LdapTarget extends Target {
  /**
   * Set the first password (onboard --issue-password) and mark it as reset, so ppolicy makes the
   * detailee change it. Sent with the Password Modify operation so the server hashes it.
   */
  setInitialPassword(username: string, password: string): Promise<void>;
}

export interface LdapTargetOptions {
  /** Dates the proof's reads; every instant this target writes comes from the intent. */
  clock?: { now(): Date };
}

const ENTRY_ATTRIBUTES = ['uid', ...MANAGED_ATTRIBUTES, 'pwdStartTime', 'pwdEndTime', 'pwdAccountLockedTime'];
const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';
/** Bounded fan-out for per-entry group lookups in listManaged: one connection, pipelined requests. */
const LOOKUP_CONCURRENCY = 16;

/** Loopback hosts are the one place plain LDAP is tolerable: the bytes never leave the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Split a configured base DN (RFC 4514) into RDN maps with their values unescaped, so it can be
 * rebuilt with ldapts' DN class, which does the escaping, together with untrusted parts.
 */
export function parseDN(dn: string): Record<string, string>[] {
  const rdns: Record<string, string>[] = [];
  let rdn: Record<string, string> = {};
  let type = '';
  let value = '';
  let inValue = false;
  const bad = () =>
    new InputError(`Not a valid LDAP DN: ${JSON.stringify(dn)}`, { code: 'ldap.dn', actions: ['Fix peopleDN / groupsDN in the config (RFC 4514 syntax).'] });
  const finishPair = () => {
    const t = type.trim();
    if (!inValue || t === '') throw bad();
    // Spaces around `,` `+` `=` are separators' padding in hand-written config DNs.
    rdn[t] = value.trim();
    type = '';
    value = '';
    inValue = false;
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (!inValue) {
      if (c === '=') inValue = true;
      else type += c;
      continue;
    }
    if (c === '\\') {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        // A run of hex escapes is UTF-8 bytes.
        const bytes: number[] = [];
        while (/^[0-9a-fA-F]{2}$/.test(dn.slice(i + 1, i + 3)) && dn[i] === '\\') {
          bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
          i += 3;
        }
        i -= 1;
        value += Buffer.from(bytes).toString('utf8');
      } else if (i + 1 < dn.length) {
        value += dn[++i];
      } else {
        throw bad();
      }
    } else if (c === '+') {
      finishPair();
    } else if (c === ',' || c === ';') {
      finishPair();
      rdns.push(rdn);
      rdn = {};
    } else {
      value += c;
    }
  }
  finishPair();
  rdns.push(rdn);
  return rdns;
}

function first(v: Entry[string] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const x = Array.isArray(v) ? v[0] : v;
  return x === undefined ? undefined : Buffer.isBuffer(x) ? x.toString('utf8') : x;
}

function all(v: Entry[string] | undefined): string[] {
  if (v === undefined) return [];
  const xs: (string | Buffer)[] = Array.isArray(v) ? v : [v];
  return xs.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * How the directory is reached: TLS from the first byte (ldaps://), StartTLS (required off the
 * machine, on loopback only when asked for), or in clear on loopback. Clear text to another host
 * is refused before anything connects.
 */
export function ldapTransport(url: URL, startTLS: boolean | undefined): 'ldaps' | 'starttls' | 'plain' {
  if (url.protocol === 'ldaps:') return 'ldaps';
  if (isLoopbackHost(url.hostname)) return startTLS === true ? 'starttls' : 'plain';
  if (startTLS === false) {
    throw new InputError(`targets.ldap.startTLS is false for ${url.host}, which is not a loopback address: the bind password and account data would cross the network in clear.`, {
      code: 'ldap.insecure',
      actions: ['Set targets.ldap.startTLS to true (or leave it out), or use an ldaps:// URL.'],
    });
  }
  return 'starttls';
}

/** Reached only if a kind is added to LdapStep without a case in `apply`: the compiler refuses that. */
function unknownStep(step: never): never {
  throw new InputError(`The LDAP target does not know step ${(step as { id?: unknown }).id}.`, { code: 'ldap.step' });
}

export async function createLdapTarget(config: LdapConfig, bindPassword: string, options: LdapTargetOptions = {}): Promise<LdapTarget> {
  const url = new URL(config.url);
  const transport = ldapTransport(url, config.startTLS);
  const secure = transport === 'ldaps';
  const useStartTLS = transport === 'starttls';
  const ca = config.caCertificate ? readFileSync(config.caCertificate) : undefined;
  const tlsOptions = { ...(ca ? { ca } : {}), servername: url.hostname.replace(/^\[|\]$/g, '') };
  const memberAttribute: MemberAttribute = config.groupMemberAttribute;
  const peopleBase = parseDN(config.peopleDN);
  const groupsBase = parseDN(config.groupsDN);
  const where = `LDAP ${url.protocol}//${url.host}`;
  const server = `${url.protocol}//${url.host}`;

  const lib: Ldapts = await import('ldapts');
  const { Attribute, Change, DN: DNClass, EqualityFilter, AndFilter, OrFilter } = lib;

  const userDN = (username: string): DN => new DNClass({ uid: username }).addRDNs(peopleBase);
  const peopleDN = new DNClass().addRDNs(peopleBase);
  const groupsDN = new DNClass().addRDNs(groupsBase);
  const groupClass = memberAttribute === 'member' ? 'groupOfNames' : 'posixGroup';
  const memberValue = (username: string): string => (memberAttribute === 'member' ? userDN(username).toString() : username);
  const eq = (attribute: string, value: string): Filter => new EqualityFilter({ attribute, value });

  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  let closed = false;

  async function connect(): Promise<Client> {
    const c = new lib.Client({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      ...(secure ? { tlsOptions } : {}),
    });
    try {
      if (useStartTLS) await c.startTLS(tlsOptions);
      await c.bind(config.bindDN, bindPassword);
    } catch (e) {
      await c.unbind().catch(() => undefined);
      if (e instanceof lib.InvalidCredentialsError) {
        throw new ActionError(`${where}: the server refused the bind as ${config.bindDN} (invalid credentials).`, {
          code: 'ldap.bind',
          actions: ['Check targets.ldap.bindDN and the bind password source named in the config.'],
          cause: e,
        });
      }
      throw e;
    }
    return c;
  }

  /** One bound client for the target's life; rebuilt only when the connection was lost. */
  async function session(): Promise<Client> {
    if (closed) throw new ActionError(`${where}: the target was closed.`, { code: 'ldap.closed' });
    // A dropped connection is silently reopened by ldapts unauthenticated; never use it that way.
    if (client && client.isConnected && client.isBound) return client;
    if (!connecting) {
      const stale = client;
      client = undefined;
      if (stale) void stale.unbind().catch(() => undefined);
      connecting = connect().then(
        (c) => {
          client = c;
          connecting = undefined;
          return c;
        },
        (e: unknown) => {
          connecting = undefined;
          throw e;
        },
      );
    }
    return connecting;
  }

  /**
   * Run one LDAP exchange. A transport failure gets one retry on a fresh bound connection (every
   * step is idempotent, so repeating is safe); a server answer is final. Either failure becomes an
   * ActionError naming the target and operation.
   */
  async function run<T>(operation: string, fn: (c: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(await session());
      } catch (e) {
        if (e instanceof DetaileeError) throw e;
        const transport = !(e instanceof lib.ResultCodeError);
        if (transport && attempt === 0 && !closed) {
          const dead = client;
          client = undefined;
          if (dead) void dead.unbind().catch(() => undefined);
          continue;
        }
        throw new ActionError(`${where}: ${operation} failed: ${errText(e)}`, {
          code: 'ldap.operation',
          actions: transport ? ['Check that the directory server is reachable, then run the command again.'] : ['Read the server message above; a directory administrator may need to look.'],
          details: { target: 'ldap', operation },
          cause: e,
        });
      }
    }
  }

  async function readEntry(username: string): Promise<Entry | undefined> {
    const dn = userDN(username);
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

  /**
   * Group DNs by cn, as the last membership search found them: removing a membership then needs no
   * second search for the group. A cn found at two DNs is not kept; removal searches for it.
   */
  const memberOf = new Map<string, string>();

  async function groupsOf(username: string): Promise<string[]> {
    const filter = new AndFilter({ filters: [eq('objectClass', groupClass), eq(memberAttribute, memberValue(username))] });
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

  /** The group's DN, found by cn and class; undefined when absent, an error when ambiguous. */
  async function findGroup(cn: string): Promise<string | undefined> {
    const filter = new AndFilter({ filters: [eq('objectClass', groupClass), eq('cn', cn)] });
    const r = await run(`find group ${cn}`, (c) => c.search(groupsDN, { scope: 'sub', filter, attributes: ['1.1'] }));
    if (r.searchEntries.length > 1) {
      throw new InputError(`More than one ${groupClass} named ${cn} under ${config.groupsDN}: ${r.searchEntries.map((e) => e.dn).join('; ')}.`, {
        code: 'ldap.group.ambiguous',
        actions: ['Rename or remove the duplicate group, or narrow targets.ldap.groupsDN.'],
      });
    }
    return r.searchEntries[0]?.dn;
  }

  function observe(username: string, entry: Entry | undefined, groups: string[]): Observed {
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

  async function inspect(username: string): Promise<Observed> {
    const [entry, groups] = await Promise.all([readEntry(username), groupsOf(username)]);
    return observe(username, entry, groups);
  }

  const plan = (observed: Observed, intent: Intent): LdapStep[] => planLdap(observed, intent, { groupMemberAttribute: memberAttribute });

  const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

  async function modify(what: string, dn: string, changes: LdapChange[]): Promise<void> {
    await run(what, (c) => c.modify(dn, changes));
  }

  async function addMember(username: string, cn: string): Promise<void> {
    const dn = await findGroup(cn);
    if (!dn) {
      throw new ActionError(`${where}: group ${cn} (${groupClass}) no longer exists under ${config.groupsDN}.`, { code: 'ldap.group.missing' });
    }
    const change = new Change({ operation: 'add', modification: new Attribute({ type: memberAttribute, values: [memberValue(username)] }) });
    await run(`add ${username} to ${cn}`, async (c) => {
      try {
        await c.modify(dn, change);
      } catch (e) {
        if (e instanceof lib.TypeOrValueExistsError) return;
        throw e;
      }
    });
  }

  async function removeMember(username: string, cn: string): Promise<void> {
    const known = memberOf.get(cn);
    const dn = known ?? (await findGroup(cn));
    if (!dn) return;
    const del = new Change({ operation: 'delete', modification: new Attribute({ type: memberAttribute, values: [memberValue(username)] }) });
    const moved = await run(`remove ${username} from ${cn}`, async (c) => {
      try {
        await c.modify(dn, del);
      } catch (e) {
        // The group was renamed or moved since it was found: look it up again.
        if (e instanceof lib.NoSuchObjectError && known !== undefined) return true;
        if (e instanceof lib.NoSuchAttributeError) return;
        if (e instanceof lib.ObjectClassViolationError && memberAttribute === 'member') {
          // groupOfNames must keep one member; the empty DN is the conventional "nobody" and grants nothing.
          const placeholder = new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [''] }) });
          await c.modify(dn, [del, placeholder]);
          return;
        }
        throw e;
      }
      return false;
    });
    if (moved === true) {
      memberOf.delete(cn);
      await removeMember(username, cn);
    }
  }

  async function apply(step: Step): Promise<void> {
    if (step.target !== 'ldap') throw new InputError(`Step ${step.id} is not an LDAP step.`, { code: 'ldap.step' });
    const { username } = step.params;
    const dn = userDN(username).toString();
    switch (step.kind) {
      case 'ldap.entry.create': {
        const { attributes } = step.params;
        await run(`create ${dn}`, async (c) => {
          try {
            await c.add(dn, { objectClass: ['inetOrgPerson', 'organizationalPerson', 'person', 'top'], uid: username, ...attributes });
          } catch (e) {
            if (!(e instanceof lib.AlreadyExistsError)) throw e;
            // A retry after a crash: converge on our own entry, never take over someone else's.
            const existing = await readEntry(username);
            const desc = all(existing?.description);
            if (!desc.includes(attributes.description)) {
              throw new ActionError(`${where}: ${dn} appeared meanwhile and is not this assignment's entry.`, { code: 'ldap.foreign-entry' });
            }
            await c.modify(dn, MANAGED_ATTRIBUTES.map((a) => replace(a, [attributes[a]])));
          }
        });
        return;
      }
      case 'ldap.entry.update': {
        const changes = Object.entries<string | undefined>(step.params.replace).flatMap(([a, v]) => (v === undefined ? [] : [replace(a, [v])]));
        if (changes.length > 0) await modify(`update ${dn}`, dn, changes);
        return;
      }
      case 'ldap.term.set':
        await modify(`set term on ${dn}`, dn, [
          replace('pwdStartTime', [toGeneralizedTime(step.params.startsAt)]),
          replace('pwdEndTime', [toGeneralizedTime(step.params.endsAt)]),
        ]);
        return;
      case 'ldap.term.renew': {
        // Re-read: a revoke may have landed between plan and apply, and it must win.
        const now = await readEntry(username);
        if (first(now?.pwdAccountLockedTime) !== undefined) {
          throw new InputError(`${dn} is locked (revoked); a revoked account is not renewed.`, { code: 'ldap.renew.revoked' });
        }
        await modify(`renew term on ${dn}`, dn, [replace('pwdEndTime', [toGeneralizedTime(step.params.endsAt)])]);
        return;
      }
      case 'ldap.term.end':
        await modify(`end term on ${dn}`, dn, [replace('pwdEndTime', [toGeneralizedTime(step.params.endsAt)])]);
        return;
      case 'ldap.lock':
        await modify(`lock ${dn}`, dn, [replace('pwdAccountLockedTime', [PERMANENT_LOCK])]);
        return;
      case 'ldap.group.add':
        await addMember(username, step.params.group);
        return;
      case 'ldap.group.remove':
        await removeMember(username, step.params.group);
        return;
      case 'ldap.entry.delete': {
        const expected = step.params.assignmentId;
        await run(`delete ${dn}`, async (c) => {
          const existing = await readEntry(username);
          if (!existing) return;
          const recorded = all(existing.description).filter((d) => d.startsWith(DESCRIPTION_PREFIX));
          if (expected !== null && !recorded.includes(descriptionFor(expected))) {
            throw new ActionError(`${where}: ${dn} no longer belongs to assignment ${expected}; not deleting it.`, { code: 'ldap.foreign-entry' });
          }
          try {
            await c.del(dn);
          } catch (e) {
            if (!(e instanceof lib.NoSuchObjectError)) throw e;
          }
        });
        return;
      }
      default:
        return unknownStep(step);
    }
  }

  async function preflight(intent: Intent): Promise<void> {
    if (intent.kind !== 'provision' && intent.kind !== 'renew') return;
    const missing: string[] = [];
    for (const g of [...new Set(intent.desired.groups)]) if ((await findGroup(g)) === undefined) missing.push(g);
    if (missing.length > 0) {
      throw new InputError(`LDAP group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found as ${groupClass} under ${config.groupsDN}.`, {
        code: 'ldap.group.unknown',
        actions: ['Fix access.ldap.groups in the assignment, or have the group created first.'],
        details: { groups: missing, groupsDN: config.groupsDN, objectClass: groupClass },
      });
    }
  }

  async function verify(intent: Intent): Promise<VerifyResult> {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    const observed = await inspect(username);
    if (intent.kind === 'revoke') {
      const proof = prove(
        { target: 'ldap', assignmentId: intent.assignmentId, username, revokedAt: intent.revokedAt, object: intent.object },
        observed,
        { server, readAt: (options.clock?.now() ?? new Date()).toISOString() },
      );
      return { target: 'ldap', ok: proof.ok, problems: proofProblems(proof), observed, proof };
    }
    const problems: string[] = [];
    const f = ldapFacts(observed);
    try {
      for (const s of plan(observed, intent)) problems.push(`${s.id}: ${s.detail}`);
    } catch (e) {
      problems.push(errText(e));
    }
    if ((intent.kind === 'provision' || intent.kind === 'renew') && observed.exists && f.locked) {
      // detailee never unlocks: a lock is a revocation or an administrator's decision.
      problems.push(`locked (pwdAccountLockedTime ${f.lockedTime}); detailee does not unlock accounts`);
    }
    if (intent.kind === 'purge' && observed.exists) problems.push(`${f.dn ?? username} still exists`);
    return { target: 'ldap', ok: problems.length === 0, problems: [...new Set(problems)], observed };
  }

  async function listManaged(): Promise<Observed[]> {
    const filter = new AndFilter({
      filters: [eq('employeeType', EMPLOYEE_TYPE), new OrFilter({ filters: [eq('objectClass', 'inetOrgPerson'), eq('objectClass', 'person')] })],
    });
    const r = await run('list detailee entries', (c) =>
      c.search(peopleDN, { scope: 'one', filter, attributes: ENTRY_ATTRIBUTES, paged: { pageSize: 200 } }),
    );
    const entries = r.searchEntries.filter((e) => first(e.uid) !== undefined);
    const out: Observed[] = [];
    for (let i = 0; i < entries.length; i += LOOKUP_CONCURRENCY) {
      const chunk = entries.slice(i, i + LOOKUP_CONCURRENCY);
      const groups = await Promise.all(chunk.map((e) => groupsOf(first(e.uid)!)));
      chunk.forEach((e, j) => out.push(observe(first(e.uid)!, e, groups[j]!)));
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  async function setInitialPassword(username: string, password: string): Promise<void> {
    if (password.length === 0) throw new InputError('An initial password must not be empty.', { code: 'ldap.password' });
    const dn = userDN(username).toString();
    const ber = new lib.BerWriter();
    ber.startSequence(0x30);
    ber.writeString(dn, 0x80);
    ber.writeString(password, 0x82);
    ber.endSequence();
    const value = ber.buffer;
    await run(`set initial password on ${dn}`, async (c) => {
      await c.exop(PASSWORD_MODIFY_OID, value);
      await c.modify(dn, [replace('pwdReset', ['TRUE'])]);
    });
  }

  async function close(): Promise<void> {
    closed = true;
    const c = client ?? (connecting ? await connecting.catch(() => undefined) : undefined);
    client = undefined;
    if (c) await c.unbind().catch(() => undefined);
  }

  return {
    name: 'ldap',
    server,
    preflight,
    inspect,
    plan,
    apply,
    verify,
    listManaged,
    setInitialPassword,
    close,
  };
}
