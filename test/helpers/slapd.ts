import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'ldapts';
import { delay, freePort } from './net.js';

/**
 * A real OpenLDAP server per test file: its own temp dir and loopback port, so files run in
 * parallel. The ppolicy overlay is loaded with a default policy, because the whole point of the
 * LDAP target is that the server itself refuses binds outside the term.
 */
export interface Slapd {
  url: string;
  port: number;
  bindDN: string;
  password: string;
  suffix: string;
  peopleDN: string;
  groupsDN: string;
  policyDN: string;
  memberAttribute: 'member' | 'memberUid';
  stop(): Promise<void>;
  /** SIGKILL, for fault tests. */
  kill(): void;
  /** Same port and data. */
  restart(): Promise<void>;
  /** groupOfNames (member mode) or posixGroup (memberUid mode) under groupsDN. */
  addGroup(cn: string, opts?: { members?: string[] }): Promise<void>;
  setPassword(dn: string, pw: string): Promise<void>;
  /** Run something as the root DN on a fresh connection, e.g. to tamper with an entry. */
  admin<T>(fn: (client: Client) => Promise<T>): Promise<T>;
  /** Simple bind as `dn`; true when the server accepts it. */
  canBind(dn: string, pw: string): Promise<boolean>;
  /** Connections the server has accepted since it started (cn=Monitor), this query's own included. */
  totalConnections(): Promise<number>;
  /** With `tls`: the ldaps:// URL, the CA that signed the server certificate, and slapd's stats log. */
  tls?: { ldapsUrl: string; caFile: string; log(): string };
}

export interface SlapdOptions {
  memberAttribute?: 'member' | 'memberUid';
  /**
   * Serve StartTLS and ldaps:// with a certificate for IP 127.0.0.1 from a CA made for this server,
   * and log every operation (stats), so a test can see whether a client really negotiated TLS.
   */
  tls?: boolean;
}

/** A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl). */
function makeTlsFiles(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=detailee test LDAP CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

/** dc=example,dc=gov as RDNs, so group DNs are composed with the DN class like the target's. */
const SUFFIX_RDNS = [{ dc: 'example' }, { dc: 'gov' }];

const SCHEMA_DIR = process.env.DETAILEE_TEST_LDAP_SCHEMA ?? '/etc/ldap/schema';
const MODULE_DIR = process.env.DETAILEE_TEST_LDAP_MODULES ?? '/usr/lib/ldap';

function sbin(name: string): string {
  const fixed = `/usr/sbin/${name}`;
  return existsSync(fixed) ? fixed : name;
}

const SLAPD = process.env.DETAILEE_TEST_SLAPD ?? sbin('slapd');
const SLAPADD = process.env.DETAILEE_TEST_SLAPADD ?? sbin('slapadd');


function conf(dir: string, suffix: string, bindDN: string, password: string, policyDN: string, tls?: { caFile: string; certFile: string; keyFile: string }): string {
  return [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${join(SCHEMA_DIR, `${s}.schema`)}`),
    ...(tls ? [`TLSCACertificateFile ${tls.caFile}`, `TLSCertificateFile ${tls.certFile}`, `TLSCertificateKeyFile ${tls.keyFile}`] : []),
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    'moduleload ppolicy',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    // Users must be able to bind (auth) without reading hashes; the root DN bypasses ACLs anyway.
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    'database mdb',
    // Small map: many servers may run side by side.
    'maxsize 33554432',
    `suffix "${suffix}"`,
    `rootdn "${bindDN}"`,
    `rootpw ${password}`,
    `directory ${join(dir, 'data')}`,
    'index objectClass eq',
    'index uid,cn,member,memberUid,employeeType eq',
    'overlay ppolicy',
    `ppolicy_default "${policyDN}"`,
    'ppolicy_use_lockout',
    // Connection counters, so a test can prove a target reuses one connection.
    'database monitor',
    '',
  ].join('\n');
}

function baseLdif(suffix: string, policyDN: string): string {
  return [
    `dn: ${suffix}`,
    'objectClass: dcObject',
    'objectClass: organization',
    'dc: example',
    'o: Example Agency',
    '',
    `dn: ou=people,${suffix}`,
    'objectClass: organizationalUnit',
    'ou: people',
    '',
    `dn: ou=groups,${suffix}`,
    'objectClass: organizationalUnit',
    'ou: groups',
    '',
    `dn: ou=policies,${suffix}`,
    'objectClass: organizationalUnit',
    'ou: policies',
    '',
    `dn: ${policyDN}`,
    'objectClass: applicationProcess',
    'objectClass: pwdPolicy',
    'cn: default',
    'pwdAttribute: userPassword',
    'pwdLockout: TRUE',
    'pwdMustChange: TRUE',
    '',
  ].join('\n');
}

async function newClient(url: string): Promise<Client> {
  const { Client } = await import('ldapts');
  return new Client({ url, timeout: 5_000, connectTimeout: 2_000 });
}

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const memberAttribute = opts.memberAttribute ?? 'member';
  const dir = mkdtempSync(join(tmpdir(), 'detailee-slapd-'));
  const suffix = 'dc=example,dc=gov';
  const bindDN = `cn=admin,${suffix}`;
  const password = randomBytes(12).toString('hex');
  const peopleDN = `ou=people,${suffix}`;
  const groupsDN = `ou=groups,${suffix}`;
  const policyDN = `cn=default,ou=policies,${suffix}`;
  const confPath = join(dir, 'slapd.conf');
  mkdirSync(join(dir, 'data'));
  const tlsFiles = opts.tls ? makeTlsFiles(dir) : undefined;
  writeFileSync(confPath, conf(dir, suffix, bindDN, password, policyDN, tlsFiles), { mode: 0o600 });
  writeFileSync(join(dir, 'base.ldif'), baseLdif(suffix, policyDN));
  // Offline load: the base entries exist the moment the server answers, with no bind race.
  const add = spawnSync(SLAPADD, ['-q', '-f', confPath, '-l', join(dir, 'base.ldif')], { encoding: 'utf8' });
  if (add.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed (${add.status ?? add.error?.message}): ${add.stderr}`);
  }

  let child: ChildProcess | undefined;
  let port = 0;
  let tlsPort = 0;
  let statsLog = '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function canBind(dn: string, pw: string): Promise<boolean> {
    const c = await newClient(`ldap://127.0.0.1:${port}`);
    try {
      await c.bind(dn, pw);
      return true;
    } catch (e) {
      const { InvalidCredentialsError } = await import('ldapts');
      if (e instanceof InvalidCredentialsError) return false;
      throw e;
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  /** Spawn on `port` and poll a root bind, a bounded number of times, until it answers. */
  async function launch(): Promise<void> {
    const urls = tlsFiles ? `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/` : `ldap://127.0.0.1:${port}/`;
    const proc = spawn(SLAPD, ['-h', urls, '-f', confPath, '-d', tlsFiles ? 'stats' : '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
      if (tlsFiles) statsLog += d;
    });
    let exited: number | string | null | undefined;
    proc.on('exit', (code, signal) => (exited = code ?? signal));
    proc.on('error', (e) => (exited = e.message));
    child = proc;
    for (let attempt = 0; attempt < 100; attempt++) {
      if (exited !== undefined) throw new SlapdExited(`slapd exited (${String(exited)}): ${stderr.trim()}`, /bind\(\d+\) failed|Address already in use/.test(stderr));
      try {
        if (await canBind(bindDN, password)) return;
      } catch {
        // Not listening yet.
      }
      await delay(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`slapd on port ${port} did not accept a bind in time: ${stderr.trim()}`);
  }

  async function startOnFreshPort(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      if (tlsFiles) tlsPort = await freePort();
      try {
        await launch();
        return;
      } catch (e) {
        if (!(e instanceof SlapdExited && e.addressInUse) || attempt >= 5) throw e;
      }
    }
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  }

  async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const c = await newClient(`ldap://127.0.0.1:${port}`);
    try {
      await c.bind(bindDN, password);
      return await fn(c);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  try {
    await startOnFreshPort();
  } catch (e) {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  return {
    ...(tlsFiles
      ? {
          tls: {
            get ldapsUrl() {
              return `ldaps://127.0.0.1:${tlsPort}`;
            },
            caFile: tlsFiles.caFile,
            log: () => statsLog,
          },
        }
      : {}),
    get url() {
      return `ldap://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    bindDN,
    password,
    suffix,
    peopleDN,
    groupsDN,
    policyDN,
    memberAttribute,
    async stop() {
      await halt('SIGTERM');
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
    kill() {
      const proc = child;
      child = undefined;
      proc?.kill('SIGKILL');
    },
    async restart() {
      await halt('SIGTERM');
      // The port was ours a moment ago; a short bounded retry covers the kernel releasing it.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch();
          return;
        } catch (e) {
          if (!(e instanceof SlapdExited && e.addressInUse) || attempt >= 20) throw e;
          await delay(100);
        }
      }
    },
    async addGroup(cn, o = {}) {
      const { DN } = await import('ldapts');
      const dn = new DN({ cn }).addRDNs([{ ou: 'groups' }, ...SUFFIX_RDNS]).toString();
      await admin((c) =>
        memberAttribute === 'member'
          ? // groupOfNames must have a member; the empty DN is the conventional "nobody".
            c.add(dn, { objectClass: ['groupOfNames', 'top'], cn, member: o.members?.length ? o.members : [''] })
          : c.add(dn, {
              objectClass: ['posixGroup', 'top'],
              cn,
              gidNumber: String(10_000 + (nextGid++)),
              ...(o.members?.length ? { memberUid: o.members } : {}),
            }),
      );
    },
    async setPassword(dn, pw) {
      const { Change, Attribute } = await import('ldapts');
      await admin((c) => c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [pw] }) })));
    },
    admin,
    canBind,
    async totalConnections() {
      const r = await admin((c) => c.search('cn=Total,cn=Connections,cn=Monitor', { scope: 'base', attributes: ['monitorCounter'] }));
      return Number(r.searchEntries[0]?.monitorCounter);
    },
  };
}

let nextGid = 0;

class SlapdExited extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}
