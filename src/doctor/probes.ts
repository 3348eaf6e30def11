/**
 * The probes of `detailee doctor`: each reads one part of the installation and returns the facts
 * checks.ts judges. Every probe is read-only: it opens its own client (the targets' own modules are
 * not used, so their write paths are never reachable from here), binds or signs a request, reads,
 * and closes. An embedded store that does not exist is reported, never created.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Client } from 'ldapts';
import { IANAZone } from 'luxon';
import { redactUrl, type Config } from '../config/resolve.js';
import { resolveSecret } from '../config/load.js';
import { isEncryptedPem, passphraseSource, readSigningKey, type ReadKeyOptions } from '../config/signing-key.js';
import type { AdConfig, AwsConfig, LdapConfig } from '../config/schema.js';
import { ActionError } from '../errors.js';
import { LATEST_SCHEMA } from '../store/migrations.js';
import {
  PPOLICY_ATTRIBUTES,
  type AdDoctorFacts,
  type AwsFacts,
  type CaFacts,
  type ClockFacts,
  type CrlFacts,
  type LdapFacts,
  type SigningKeyFacts,
  type StoreFacts,
} from './checks.js';

/** This version of detailee was made no earlier than this; a system clock before it is wrong. */
const MADE_NOT_BEFORE = new Date('2026-12-01T00:00:00Z');

export async function probeStore(storeUrl: string): Promise<StoreFacts> {
  if (storeUrl.startsWith('sqlite:')) {
    const path = storeUrl.slice('sqlite:'.length);
    if (path !== ':memory:' && !existsSync(path)) return { location: path, exists: false, latest: LATEST_SCHEMA };
  }
  const { openStore } = await import('../store/open.js');
  // migrate: false — a doctor never changes the store; an old schema is reported, not upgraded.
  let store;
  try {
    store = await openStore(storeUrl, { migrate: false });
  } catch (e) {
    const code = (e as { code?: string }).code;
    // checkSchemaVersion refuses a store at the wrong version; read the number for the report instead.
    if (code !== 'store.too-old' && code !== 'store.too-new') throw e;
    const m = /schema version (\d+)/.exec((e as Error).message);
    return { location: redactUrl(storeUrl), exists: true, schemaVersion: m ? Number(m[1]) : undefined, latest: LATEST_SCHEMA };
  }
  try {
    return { location: store.location, exists: true, schemaVersion: await store.schemaVersion(), latest: LATEST_SCHEMA };
  } finally {
    await store.close().catch(() => undefined);
  }
}

export async function probeLdap(config: LdapConfig, env: NodeJS.ProcessEnv = process.env): Promise<LdapFacts> {
  const password = resolveSecret({ file: config.bindPasswordFile, env: config.bindPasswordEnv }, 'LDAP bind password', env);
  const url = new URL(config.url);
  const { ldapTransport } = await import('../targets/ldap/client.js');
  const transport = ldapTransport(url, config.startTLS);
  const tlsOptions = { ...(config.caCertificate ? { ca: readFileSync(config.caCertificate) } : {}), servername: url.hostname.replace(/^\[|\]$/g, '') };
  const lib = await import('ldapts');
  const where = `LDAP ${url.protocol}//${url.host}`;
  const client: Client = new lib.Client({
    url: config.url,
    timeout: config.timeoutMs,
    connectTimeout: config.timeoutMs,
    ...(transport === 'ldaps' ? { tlsOptions } : {}),
  });
  try {
    try {
      if (transport === 'starttls') await client.startTLS(tlsOptions);
      await client.bind(config.bindDN, password);
    } catch (e) {
      if (e instanceof lib.InvalidCredentialsError) {
        throw new ActionError(`${where} refused the bind as ${config.bindDN} (invalid credentials)`, {
          code: 'ldap.bind',
          actions: ['Check targets.ldap.bindDN and the bind password in the file or variable the config names.'],
        });
      }
      throw new ActionError(`${where} cannot be reached: ${(e as Error).message || (e as { code?: string }).code || String(e)}`, {
        code: 'ldap.unreachable',
        actions: ['Start the directory server, or correct targets.ldap.url (host, port, firewall, TLS settings).'],
      });
    }
    const readable = async (dn: string): Promise<boolean> => {
      try {
        const r = await client.search(dn, { scope: 'base', attributes: ['1.1'] });
        return r.searchEntries.length === 1;
      } catch {
        return false;
      }
    };
    const dse: Record<string, unknown> = (await client.search('', { scope: 'base', attributes: ['supportedControl', 'namingContexts', 'subschemaSubentry'] })).searchEntries[0] ?? {};
    const texts = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x))));
    const subschema = texts(dse.subschemaSubentry)[0] ?? 'cn=Subschema';
    let schemaAttributes: string[] = [];
    try {
      const types = texts((await client.search(subschema, { scope: 'base', filter: '(objectClass=subschema)', attributes: ['attributeTypes'] })).searchEntries[0]?.attributeTypes);
      schemaAttributes = PPOLICY_ATTRIBUTES.filter((a) => types.some((t) => new RegExp(`NAME\\s+(\\(\\s*)?'${a}'`, 'i').test(t)));
    } catch {
      /* an unreadable schema leaves the list empty, which the check reports */
    }
    const policies: { dn: string; lockout: boolean }[] = [];
    for (const base of texts(dse.namingContexts)) {
      try {
        const r = await client.search(base, { scope: 'sub', filter: '(objectClass=pwdPolicy)', attributes: ['pwdLockout'], sizeLimit: 50 });
        for (const e of r.searchEntries) policies.push({ dn: e.dn, lockout: texts(e.pwdLockout)[0]?.toUpperCase() === 'TRUE' });
      } catch {
        /* a naming context this bind DN cannot search holds no policy it can see */
      }
    }
    return {
      url: config.url,
      bindDN: config.bindDN,
      supportedControls: texts(dse.supportedControl),
      schemaAttributes,
      policies,
      peopleDN: { dn: config.peopleDN, readable: await readable(config.peopleDN) },
      groupsDN: { dn: config.groupsDN, readable: await readable(config.groupsDN) },
    };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/**
 * Bind to the DC as the target would (the same transport: TLS checked against the pinned CA and the
 * DC's certificate name, plain LDAP only to loopback; its failures mapped to the same codes), then
 * read usersDN and groupsDN. Only searches are sent.
 */
export async function probeAd(config: AdConfig, env: NodeJS.ProcessEnv = process.env): Promise<AdDoctorFacts> {
  const password = resolveSecret({ file: config.bindPasswordFile, env: config.bindPasswordEnv }, 'AD bind password', env);
  const { openAdConnection } = await import('../targets/ad/client.js');
  const { adTransport } = await import('../targets/ad/transport.js');
  const { transport } = adTransport(config, (f) => readFileSync(f));
  const conn = await openAdConnection(config, password);
  try {
    // The bind (and the TLS pin) first: a refusal there is the check's failure, not "usersDN unreadable".
    await conn.connect();
    const readable = async (dn: string): Promise<boolean> => {
      try {
        const r = await conn.op('search', `read ${dn}`, (c) => c.search(dn, { scope: 'base', attributes: ['1.1'] }));
        return r.searchEntries.length === 1;
      } catch {
        return false;
      }
    };
    return {
      url: config.url,
      bindDN: config.bindDN,
      transport,
      caCertificate: config.caCertificate,
      usersDN: { dn: config.usersDN, readable: await readable(config.usersDN) },
      groupsDN: { dn: config.groupsDN, readable: await readable(config.groupsDN) },
    };
  } finally {
    await conn.close();
  }
}

/**
 * Who the credentials are (IAM GetUser; a role's credentials cannot be named that way and say so)
 * and whether the reads a plan and a revocation proof need are allowed. Credentials come from the
 * SDK's default chain, exactly as for the target.
 */
export async function probeAws(config: AwsConfig): Promise<AwsFacts> {
  const sdk = await import('@aws-sdk/client-iam');
  const client = new sdk.IAMClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: Math.min(config.maxAttempts, 2),
    requestHandler: { requestTimeout: config.timeoutMs, connectionTimeout: config.timeoutMs, throwOnRequestTimeout: true },
  });
  const endpoint = config.endpoint ?? `IAM (${config.region})`;
  const codeOf = (e: unknown): string => (e as { name?: string; Code?: string }).Code ?? (e as { name?: string }).name ?? 'error';
  try {
    let identity: string;
    try {
      const me = await client.send(new sdk.GetUserCommand({}));
      identity = me.User?.Arn ?? me.User?.UserName ?? 'an IAM user';
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ValidationError') {
        identity = 'role or federated credentials';
      } else if (code === 'AccessDenied' || code === 'AccessDeniedException') {
        identity = 'credentials not allowed iam:GetUser on themselves';
      } else {
        throw new ActionError(`${endpoint}: the credentials were refused or IAM cannot be reached (${code}): ${(e as Error).message}`, {
          code: 'aws.unreachable',
          actions: [
            code === 'InvalidClientTokenId' || code === 'SignatureDoesNotMatch' || code === 'CredentialsProviderError'
              ? 'Provide AWS credentials (environment, profile, SSO or instance role; see "AWS credentials" in the README).'
              : 'Check targets.aws.endpoint / region and the network, and the AWS credentials.',
          ],
        });
      }
    }
    const reads: AwsFacts['reads'] = [];
    const attempt = async (operation: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
        reads.push({ operation, ok: true });
      } catch (e) {
        reads.push({ operation, ok: false, code: codeOf(e) });
      }
    };
    await attempt(`ListUsers ${config.path}`, () => client.send(new sdk.ListUsersCommand({ PathPrefix: config.path, MaxItems: 1 })));
    await attempt('GetAccountAuthorizationDetails', () => client.send(new sdk.GetAccountAuthorizationDetailsCommand({ Filter: ['User'], MaxItems: 1 })));
    if (config.permissionsBoundary) {
      await attempt(`GetPolicy ${config.permissionsBoundary}`, () => client.send(new sdk.GetPolicyCommand({ PolicyArn: config.permissionsBoundary })));
    }
    return { endpoint, identity, reads };
  } finally {
    client.destroy();
  }
}

export async function probeSigningKey(c: Config['certificates'], o: ReadKeyOptions = {}): Promise<SigningKeyFacts> {
  const path = c.signingKey;
  if (path === undefined) return { path, exists: false, encrypted: false };
  if (!existsSync(path)) return { path, exists: false, encrypted: false };
  let encrypted = false;
  try {
    encrypted = isEncryptedPem(readFileSync(path, 'utf8'));
  } catch {
    /* readSigningKey reports it */
  }
  const base = { path, exists: true, encrypted, passphraseSource: passphraseSource(c) };
  try {
    const key = await readSigningKey(c, o);
    return { ...base, type: key.asymmetricKeyType };
  } catch (e) {
    const type = (e as { code?: string }).code === 'key.type' ? /is (\S+), not Ed25519/.exec((e as Error).message)?.[1] : undefined;
    return type ? { ...base, type } : { ...base, error: (e as Error).message.replace(/^The certificate signing key \S+ /, '') };
  }
}

function pemBlocks(bytes: Buffer, label: string): Buffer[] {
  const text = bytes.toString('latin1');
  if (!text.includes('-----BEGIN ')) return [bytes];
  const out = [...text.matchAll(new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g'))].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  if (out.length === 0) throw new Error(`no ${label} PEM block`);
  return out;
}

export function probeCaCertificates(paths: string[]): CaFacts[] {
  const out: CaFacts[] = [];
  for (const path of paths) {
    try {
      for (const der of pemBlocks(readFileSync(path), 'CERTIFICATE')) {
        const c = new X509Certificate(der);
        out.push({ path, subject: c.subject.split('\n').reverse().join(','), notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo) });
      }
    } catch (e) {
      out.push({ path, error: `cannot be read as a certificate: ${(e as Error).message}` });
    }
  }
  return out;
}

export async function probeCrls(paths: string[]): Promise<CrlFacts[]> {
  if (paths.length === 0) return [];
  const asn1js = await import('asn1js');
  const pkijs = await import('pkijs');
  const out: CrlFacts[] = [];
  for (const path of paths) {
    try {
      for (const der of pemBlocks(readFileSync(path), 'X509 CRL')) {
        const asn1 = asn1js.fromBER(new Uint8Array(der));
        if (asn1.offset === -1) throw new Error('not DER');
        const crl = new pkijs.CertificateRevocationList({ schema: asn1.result });
        const issuer = crl.issuer.typesAndValues.map((t) => `${t.type}=${String(t.value.valueBlock.value)}`).reverse().join(',');
        out.push({ path, issuer: issuerName(issuer), thisUpdate: crl.thisUpdate.value, nextUpdate: crl.nextUpdate?.value });
      }
    } catch (e) {
      out.push({ path, error: `cannot be read as a CRL: ${(e as Error).message}` });
    }
  }
  return out;
}

const SHORT: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C' };
function issuerName(oidForm: string): string {
  return oidForm.replace(/(\d+(?:\.\d+)+)=/g, (m, oid: string) => (SHORT[oid] ? `${SHORT[oid]}=` : m));
}

export function probeClock(timezone: string, env: NodeJS.ProcessEnv = process.env, system = new Date()): ClockFacts {
  const pinned = env.DETAILEE_NOW;
  return {
    system,
    notBefore: MADE_NOT_BEFORE,
    pinned: pinned === undefined || pinned === '' ? undefined : pinned,
    timezone,
    zoneValid: IANAZone.isValidZone(timezone),
  };
}
