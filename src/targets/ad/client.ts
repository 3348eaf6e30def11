import { readFileSync } from 'node:fs';
import type * as LdaptsModule from 'ldapts';
import type { Client, Filter } from 'ldapts';
import type { AdConfig } from '../../config/schema.js';
import { ActionError, DetaileeError } from '../../errors.js';
import { parseDN } from '../ldap/client.js';
import { mapAdError, type AdErrorContext } from './errors.js';
import type { AdOperation } from './model.js';
import { adTransport } from './transport.js';

/**
 * The AD transport: one bound connection to the domain controller for the target's life (bound
 * by its first operation), and the
 * single place where a client failure becomes a DetaileeError naming what was being done.
 * `observe.ts` reads through it, `apply.ts` writes through it.
 */

type Ldapts = typeof LdaptsModule;

export interface AdConnection {
  lib: Ldapts;
  config: AdConfig;
  /** `AD ldaps://host:636`, for messages. */
  where: string;
  /** `ldaps://host:636`: named in proofs (never credentials). */
  server: string;
  /** The domain's naming context (the DC= tail of usersDN): sAMAccountName is unique across it. */
  domainDN: string;
  /** Bind now (doctor): otherwise the first operation binds. */
  connect(): Promise<void>;
  /** One LDAP exchange, counted, its failure mapped. `configField` names the base DN it started from. */
  op<T>(kind: AdOperation, operation: string, fn: (c: Client) => Promise<T>, configField?: AdErrorContext['configField']): Promise<T>;
  eq(attribute: string, value: string): Filter;
  /** CN=<username>,<usersDN>, escaped by ldapts. */
  userDN(username: string): string;
  replace(type: string, values: (string | Buffer)[]): LdaptsModule.Change;
  modify(dn: string, operation: string, changes: LdaptsModule.Change[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Prepare the connection: the transport is decided (and a bad URL or missing pin refused, exit 2)
 * at once, but the DC is reached only by the first operation, or by `connect()`. So a DC that is
 * down fails the AD steps (exit 1, unproven), never the other targets opened with it.
 *
 * Connecting binds as the service account: ldaps://, or ldap:// with StartTLS, either checked
 * against the pinned CA (targets.ad.caCertificate) and the DC's certificate name; plain LDAP only
 * to a loopback DC. Refused binds and bad certificates are exit 2 (the config must change), a DC
 * that does not answer is exit 1.
 */
export async function openAdConnection(config: AdConfig, bindPassword: string, onCall?: (operation: AdOperation) => void): Promise<AdConnection> {
  const { transport, tlsOptions } = adTransport(config, (f) => readFileSync(f));
  const lib: Ldapts = await import('ldapts');
  const url = new URL(config.url);
  const server = `${url.protocol}//${url.host}`;
  const where = `AD ${server}`;
  const dcs = parseDN(config.usersDN).filter((r) => Object.keys(r).length === 1 && Object.keys(r)[0]!.toLowerCase() === 'dc');
  const domainDN = new lib.DN().addRDNs(dcs).toString();
  const usersBase = parseDN(config.usersDN);
  const count = (kind: AdOperation) => onCall?.(kind);

  let client: Client | undefined;
  let connecting: Promise<Client> | undefined;
  let closed = false;

  async function bindOnce(): Promise<Client> {
    const c = new lib.Client({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      ...(transport === 'ldaps' ? { tlsOptions } : {}),
    });
    try {
      if (transport === 'starttls') await c.startTLS(tlsOptions);
      count('bind');
      await c.bind(config.bindDN, bindPassword);
    } catch (e) {
      await c.unbind().catch(() => undefined);
      throw mapAdError(e, { where, operation: `bind as ${config.bindDN}`, serviceBind: true });
    }
    return c;
  }

  /** The bound client: one bind for the connection's life; a failed attempt is tried again by the next operation. */
  function ready(): Promise<Client> {
    if (closed) return Promise.reject(new ActionError(`${where}: the connection was closed.`, { code: 'ad.connection' }));
    if (client) return Promise.resolve(client);
    connecting ??= bindOnce().then(
      (c) => (client = c),
      (e: unknown) => {
        connecting = undefined;
        throw e;
      },
    );
    return connecting;
  }

  async function op<T>(kind: AdOperation, operation: string, fn: (c: Client) => Promise<T>, configField?: AdErrorContext['configField']): Promise<T> {
    const c = await ready();
    count(kind);
    try {
      return await fn(c);
    } catch (e) {
      if (e instanceof DetaileeError) throw e;
      throw mapAdError(e, { where, operation, ...(configField ? { configField } : {}) });
    }
  }

  const replace = (type: string, values: (string | Buffer)[]) =>
    new lib.Change({ operation: 'replace', modification: new lib.Attribute({ type, values: values as string[] }) });

  return {
    lib,
    config,
    where,
    server,
    domainDN,
    connect: async () => {
      await ready();
    },
    op,
    eq: (attribute, value) => new lib.EqualityFilter({ attribute, value }),
    userDN: (username) => new lib.DN({ CN: username }).addRDNs(usersBase).toString(),
    replace,
    modify: async (dn, operation, changes) => {
      await op('modify', operation, (c) => c.modify(dn, changes));
    },
    close: async () => {
      closed = true;
      const c = client ?? (await connecting?.catch(() => undefined));
      await c?.unbind().catch(() => undefined);
    },
  };
}
