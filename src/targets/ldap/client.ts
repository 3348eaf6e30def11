import { readFileSync } from 'node:fs';
import type * as LdaptsModule from 'ldapts';
import { isLoopbackHost } from '../../net/loopback.js';
import type { Client, DN, Entry, Filter } from 'ldapts';
import type { LdapConfig } from '../../config/schema.js';
import { ActionError, DetaileeError, InputError } from '../../errors.js';
import type { MemberAttribute } from './plan.js';

/**
 * The LDAP transport: how the directory is reached, one bound connection for the target's life,
 * and the single place where a client failure becomes an ActionError.
 */

type Ldapts = typeof LdaptsModule;


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

export function first(v: Entry[string] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const x = Array.isArray(v) ? v[0] : v;
  return x === undefined ? undefined : Buffer.isBuffer(x) ? x.toString('utf8') : x;
}

export function all(v: Entry[string] | undefined): string[] {
  if (v === undefined) return [];
  const xs: (string | Buffer)[] = Array.isArray(v) ? v : [v];
  return xs.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

export function errText(e: unknown): string {
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

/** One directory as the target's modules share it: names, DNs and the one way to talk to it. */
export interface LdapConnection {
  readonly lib: Ldapts;
  readonly config: LdapConfig;
  /** `LDAP ldap://host:port`, the prefix of every error message. */
  readonly where: string;
  /** Where the directory is, never credentials; named in every proof. */
  readonly server: string;
  readonly memberAttribute: MemberAttribute;
  /** The structural class of the groups detailee manages memberships in. */
  readonly groupClass: 'groupOfNames' | 'posixGroup';
  readonly peopleDN: DN;
  readonly groupsDN: DN;
  userDN(username: string): DN;
  /** What a group's member attribute holds for this user: its DN, or the bare uid for memberUid. */
  memberValue(username: string): string;
  eq(attribute: string, value: string): Filter;
  /**
   * Run one LDAP exchange. A transport failure gets one retry on a fresh bound connection (every
   * step is idempotent, so repeating is safe); a server answer is final. Either failure becomes an
   * ActionError naming the target and operation.
   */
  run<T>(operation: string, fn: (c: Client) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The protocol operations `onCall` is told of, by their ldapts method names. */
const COUNTED_OPERATIONS = ['bind', 'search', 'modify', 'add', 'del', 'modifyDN', 'compare', 'exop'] as const;

export async function openLdapConnection(config: LdapConfig, bindPassword: string, onCall?: (operation: string) => void): Promise<LdapConnection> {
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
  const { DN: DNClass, EqualityFilter } = lib;

  const userDN = (username: string): DN => new DNClass({ uid: username }).addRDNs(peopleBase);

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
    if (onCall) {
      for (const op of COUNTED_OPERATIONS) {
        const send = (c[op] as (...a: unknown[]) => Promise<unknown>).bind(c);
        (c as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => {
          onCall(op);
          return send(...a);
        };
      }
    }
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

  async function close(): Promise<void> {
    closed = true;
    const c = client ?? (connecting ? await connecting.catch(() => undefined) : undefined);
    client = undefined;
    if (c) await c.unbind().catch(() => undefined);
  }

  return {
    lib,
    config,
    where,
    server,
    memberAttribute,
    groupClass: memberAttribute === 'member' ? 'groupOfNames' : 'posixGroup',
    peopleDN: new DNClass().addRDNs(peopleBase),
    groupsDN: new DNClass().addRDNs(groupsBase),
    userDN,
    memberValue: (username) => (memberAttribute === 'member' ? userDN(username).toString() : username),
    eq: (attribute, value) => new EqualityFilter({ attribute, value }),
    run,
    close,
  };
}
