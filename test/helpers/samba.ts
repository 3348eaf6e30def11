import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'ldapts';
import { stringify } from 'yaml';
import type { Servers } from './scenario.js';
import { delay } from './net.js';
import { serverLog } from './server-log.js';

/**
 * A real Samba AD domain controller per caller, for the Active Directory groundwork.
 *
 * The domain is provisioned once per test run into a template folder (about 7 s of samba-tool);
 * each DC copies it (under a second), rewrites the absolute paths in its smb.conf, and listens on
 * a loopback address of its own (127.0.0.N): Samba's LDAP ports 389/636 cannot be moved, so
 * addresses keep parallel DCs apart. Only the LDAP server and the KDC run, in one process. The DC
 * serves a certificate made here, with the address in its SAN, so clients verify it strictly.
 * Needs root (low ports) and the Debian packages samba, samba-ad-dc, krb5-user, ldb-tools.
 */
export interface SambaDC {
  /** 127.0.0.N */
  ip: string;
  /** ldaps://127.0.0.N */
  url: string;
  /** ldap://127.0.0.N (Samba refuses simple binds on it without StartTLS). */
  ldapUrl: string;
  /** The CA that issued the DC's certificate (PEM). */
  caFile: string;
  realm: string;
  /** What user principal names end with: detailee.test */
  upnSuffix: string;
  baseDN: string;
  adminDN: string;
  adminPassword: string;
  /** OU=Detailees under the domain: where detailee provisions. */
  usersDN: string;
  /** OU=Groups under the domain. */
  groupsDN: string;
  /** A krb5.conf whose only realm is this DC's, for kinit. */
  krb5Config: string;
  /** Run something as Administrator on a fresh ldaps connection. */
  admin<T>(fn: (client: Client) => Promise<T>): Promise<T>;
  /** A global security group under groupsDN; returns its DN. */
  addGroup(cn: string): Promise<string>;
  /** An enabled account in usersDN that detailee did not create (no marker); returns its DN. */
  addForeignUser(name: string): Promise<string>;
  /** A simple bind as `who` (DN or UPN) and a base search of the domain, as the detailee would. */
  bindAs(who: string, password: string): Promise<{ ok: true } | { ok: false; error: Error }>;
  /** The real kinit against this DC's KDC; `output` is what it printed. */
  kinit(principal: string, password: string): { ok: boolean; output: string };
  /** What the samba process printed last (for failure messages). */
  log(): string;
  /** The samba process id while it runs (the benchmark reads its CPU and memory). */
  pid(): number | undefined;
  stop(): Promise<void>;
  /** SIGKILL, for "DC down" tests; the address stays reserved until stop(). */
  kill(): Promise<void>;
}

const SAMBA = process.env.DETAILEE_TEST_SAMBA ?? '/usr/sbin/samba';
const REALM = 'DETAILEE.TEST';
const DOMAIN = 'DETAILEE';
const BASE_DN = 'DC=detailee,DC=test';

/**
 * Whether this machine can run a DC for the tests.
 * @public bench/ad.mjs imports it from the build
 */
export function sambaInstalled(): boolean {
  return existsSync(SAMBA) && spawnSync('samba-tool', ['--version']).status === 0 && spawnSync('kinit', ['-?']).error === undefined;
}

/**
 * Why the AD tests are skipped here, or undefined when they run. In CI they always run (a missing
 * Samba then fails them loudly), so CI cannot pass by skipping.
 */
export function sambaSkipReason(): string | undefined {
  if (sambaInstalled() || process.env.CI === 'true') return undefined;
  return 'Samba is not installed (Debian: apt-get install samba samba-ad-dc winbind krb5-user ldb-tools, or source .ci/deps.sh as root); the Active Directory tests are skipped';
}

function run(cmd: string, args: string[], what: string): string {
  // Generous: provisioning takes ~7 s on an idle machine and several times that on a loaded one.
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.error?.message}): ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}

interface Template {
  dir: string;
  adminPassword: string;
}

/**
 * The provisioned domain the DCs copy. The folder comes from $DETAILEE_SAMBA_TEMPLATE (the test
 * run's global setup names one per run and removes it after); without it, one per process, removed
 * when the process exits. Made in a side folder and renamed into place, so a half-made template is
 * never used, and guarded by a lock folder so parallel test files provision it once.
 */
async function template(): Promise<Template> {
  let dir = process.env.DETAILEE_SAMBA_TEMPLATE;
  if (!dir) {
    dir = join(tmpdir(), `detailee-samba-template-${process.pid}`);
    process.env.DETAILEE_SAMBA_TEMPLATE = dir;
    const d = dir;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  const ready = () => existsSync(join(dir, '.ready'));
  const read = (): Template => ({ dir, adminPassword: readFileSync(join(dir, 'admin-password'), 'utf8') });
  if (ready()) return read();
  const lock = `${dir}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (ready()) return read();
      const holder = readPid(join(lock, 'pid'));
      if (holder > 0 && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      // Bounded: provisioning takes seconds; over six minutes means the holder is stuck.
      if (i > 4000) throw new Error(`The Samba template ${dir} was not made in time (lock ${lock}).`);
      await delay(100);
    }
  }
  try {
    if (ready()) return read();
    const work = `${dir}.work-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    // Complex enough for the default policy; never leaves the test machine.
    const adminPassword = `Adm-${randomBytes(12).toString('hex')}-9z`;
    run(
      'samba-tool',
      [
        'domain', 'provision', `--realm=${REALM}`, `--domain=${DOMAIN}`, '--server-role=dc', '--dns-backend=NONE', `--targetdir=${work}`,
        // Not the machine's host name, which may be too long or odd for a NetBIOS name.
        '--host-name=dc1', '--option=netbios name=DC1',
        `--adminpass=${adminPassword}`, '--option=interfaces=lo', '--option=bind interfaces only=yes',
      ],
      'samba-tool domain provision',
    );
    const sam = join(work, 'private', 'sam.ldb');
    // Passwords that never age: the template may outlive a run, and tests never depend on the date.
    run('samba-tool', ['domain', 'passwordsettings', 'set', '-H', sam, '--max-pwd-age=0', '--min-pwd-age=0'], 'samba-tool domain passwordsettings');
    for (const ou of ['OU=Detailees', 'OU=Groups']) run('samba-tool', ['ou', 'create', `${ou},${BASE_DN}`, '-H', sam], `samba-tool ou create ${ou}`);
    // The copies rewrite the template's own folder name; make it the name it will have.
    const conf = join(work, 'etc', 'smb.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').split(work).join(dir));
    writeFileSync(join(work, 'admin-password'), adminPassword, { mode: 0o600 });
    writeFileSync(join(work, '.ready'), '');
    renameSync(work, dir);
    return { dir, adminPassword };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The pid written in a lock file; 0 while it is being written or already gone. */
function readPid(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when something accepts connections on ip:port. */
function listening(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Reserve a loopback address whose 389 and 636 are free: a lock file per address keeps this
 * machine's other test processes off it, and the port check keeps off anything else.
 */
async function reserveAddress(): Promise<{ ip: string; release(): void }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const n = 2 + Math.floor(Math.random() * 250);
    const ip = `127.0.0.${n}`;
    const lock = join(tmpdir(), `detailee-samba-${ip}.lock`);
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
    } catch {
      const holder = readPid(lock);
      if (holder > 0 && !alive(holder)) rmSync(lock, { force: true });
      continue;
    }
    const release = () => rmSync(lock, { force: true });
    if ((await listening(ip, 389)) || (await listening(ip, 636)) || (await listening(ip, 88))) {
      release();
      continue;
    }
    return { ip, release };
  }
  throw new Error('No free loopback address with ports 389/636/88 free was found for a test DC.');
}

/** A CA and a DC certificate for `ip` (SAN IP and CN), the key readable by root only as Samba demands. */
function makeTls(dir: string, ip: string): { caFile: string; certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => run('openssl', args, `openssl ${args[0]}`);
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=detailee test AD CA']);
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('dc.key'), '-out', f('dc.csr'), '-subj', `/CN=${ip}`]);
  writeFileSync(f('dc.ext'), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`);
  ossl(['x509', '-req', '-in', f('dc.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('dc.pem'), '-days', '2', '-extfile', f('dc.ext')]);
  chmodSync(f('dc.key'), 0o600);
  rmSync(f('ca.key'));
  return { caFile: f('ca.pem'), certFile: f('dc.pem'), keyFile: f('dc.key') };
}

/** The template's smb.conf for this copy: its paths, its address, and only LDAP and the KDC. */
function rewriteSmbConf(text: string, from: string, to: string, ip: string, tls: { caFile: string; certFile: string; keyFile: string }): string {
  const ours: Record<string, string> = {
    interfaces: `${ip}/8`,
    'bind interfaces only': 'yes',
    'server services': 'ldap, kdc',
    'dcerpc endpoint servers': '',
    // A replaced password stops working at once (Samba otherwise honours the old one for NTLM a while).
    'old password allowed period': '0',
    'tls enabled': 'yes',
    'tls certfile': tls.certFile,
    'tls keyfile': tls.keyFile,
    'tls cafile': tls.caFile,
    // Everything a running DC writes stays in its folder, so DCs never share a socket or pid file.
    'pid directory': join(to, 'run'),
    'ncalrpc dir': join(to, 'run', 'ncalrpc'),
    'winbindd socket directory': join(to, 'run', 'winbindd'),
    'ntp signd socket directory': join(to, 'run', 'ntp_signd'),
    'log file': join(to, 'log'),
    logging: 'stdout',
  };
  const out: string[] = [];
  for (const line of text.split(from).join(to).split('\n')) {
    const key = /^\s*([^=[#;]+?)\s*=/.exec(line)?.[1]?.toLowerCase();
    if (key !== undefined && key in ours) continue;
    out.push(line);
    if (/^\s*\[global\]\s*$/i.test(line)) for (const [k, v] of Object.entries(ours)) out.push(`\t${k} = ${v}`);
  }
  return out.join('\n');
}

async function ldaps(url: string, caFile: string): Promise<Client> {
  const { Client } = await import('ldapts');
  return new Client({ url, timeout: 10_000, connectTimeout: 3_000, tlsOptions: { ca: readFileSync(caFile) } });
}

export async function startSambaDC(): Promise<SambaDC> {
  const tpl = await template();
  const root = mkdtempSync(join(tmpdir(), 'detailee-samba-dc-'));
  const { ip, release } = await reserveAddress();
  const dir = join(root, 'dc');
  let child: ChildProcess | undefined;
  let readOutput = (): string => '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const cleanup = () => {
    process.removeListener('exit', killOnExit);
    rmSync(root, { recursive: true, force: true });
    release();
  };

  const url = `ldaps://${ip}`;
  const adminDN = `CN=Administrator,CN=Users,${BASE_DN}`;
  let caFile = '';
  try {
    cpSync(tpl.dir, dir, { recursive: true });
    mkdirSync(join(dir, 'run'), { recursive: true });
    const tls = makeTls(join(root, 'tls'), ip);
    caFile = tls.caFile;
    const conf = join(dir, 'etc', 'smb.conf');
    writeFileSync(conf, rewriteSmbConf(readFileSync(conf, 'utf8'), tpl.dir, dir, ip, tls));
    writeFileSync(
      join(root, 'krb5.conf'),
      `[libdefaults]\n\tdefault_realm = ${REALM}\n\tdns_lookup_realm = false\n\tdns_lookup_kdc = false\n\trdns = false\n\n[realms]\n${REALM} = {\n\tkdc = ${ip}\n}\n`,
    );

    const log = serverLog('samba', root);
    const proc = spawn(SAMBA, ['-i', '-M', 'single', '-s', conf, '--debug-stdout'], { stdio: ['ignore', log.fd, log.fd] });
    log.detach();
    child = proc;
    let exited: string | undefined;
    proc.on('exit', (code, signal) => (exited = String(code ?? signal)));
    proc.on('error', (e) => (exited = e.message));
    readOutput = () => log.tail(8000);

    // Bounded: the DC answers in about a second, a few on a loaded machine; two minutes means it will not.
    for (let attempt = 0; ; attempt++) {
      if (exited !== undefined) throw new Error(`samba exited (${exited}): ${readOutput().slice(-3000)}`);
      const c = await ldaps(url, caFile);
      try {
        await c.bind(adminDN, tpl.adminPassword);
        await c.search(BASE_DN, { scope: 'base', attributes: ['1.1'] });
        break;
      } catch (e) {
        if (attempt > 1200) throw new Error(`The test DC at ${url} did not answer LDAPS in time: ${String(e)}\n${readOutput().slice(-3000)}`, { cause: e });
      } finally {
        await c.unbind().catch(() => undefined);
      }
      await delay(100);
    }
  } catch (e) {
    child?.kill('SIGKILL');
    cleanup();
    throw e;
  }

  async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const c = await ldaps(url, caFile);
    try {
      await c.bind(adminDN, tpl.adminPassword);
      return await fn(c);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  async function halt(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  const usersDN = `OU=Detailees,${BASE_DN}`;
  const groupsDN = `OU=Groups,${BASE_DN}`;
  const krb5Config = join(root, 'krb5.conf');

  return {
    ip,
    url,
    ldapUrl: `ldap://${ip}`,
    caFile,
    realm: REALM,
    upnSuffix: REALM.toLowerCase(),
    baseDN: BASE_DN,
    adminDN,
    adminPassword: tpl.adminPassword,
    usersDN,
    groupsDN,
    krb5Config,
    admin,
    async addGroup(cn) {
      const dn = `CN=${cn},${groupsDN}`;
      // groupType: global security group (0x80000002), as a signed 32-bit integer.
      await admin((c) => c.add(dn, { objectClass: ['top', 'group'], cn, sAMAccountName: cn, groupType: String(-2147483646) }));
      return dn;
    },
    async addForeignUser(name) {
      const dn = `CN=${name},${usersDN}`;
      await admin((c) => c.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: name, sAMAccountName: name, userAccountControl: '514' }));
      return dn;
    },
    async bindAs(who, password) {
      const c = await ldaps(url, caFile);
      try {
        await c.bind(who, password);
        await c.search(BASE_DN, { scope: 'base', attributes: ['1.1'] });
        return { ok: true };
      } catch (e) {
        return { ok: false, error: e as Error };
      } finally {
        await c.unbind().catch(() => undefined);
      }
    },
    kinit(principal, password) {
      const cache = join(root, `ccache-${randomBytes(6).toString('hex')}`);
      const r = spawnSync('kinit', [principal], {
        input: `${password}\n`,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, KRB5_CONFIG: krb5Config, KRB5CCNAME: `FILE:${cache}` },
      });
      rmSync(cache, { force: true });
      return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
    },
    log: () => readOutput(),
    pid: () => child?.pid,
    async stop() {
      await halt();
      cleanup();
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    },
  };
}

/** This DC as the third target of the demo's lifecycle (scenario.ts), the detailee in `groups`. */
export function adServers(dc: SambaDC, groups: string[]): NonNullable<Servers['ad']> {
  return { url: dc.url, bindDN: dc.adminDN, password: dc.adminPassword, usersDN: dc.usersDN, groupsDN: dc.groupsDN, upnSuffix: dc.upnSuffix, caCertificate: dc.caFile, groups };
}

/**
 * A workspace in `dir` whose only target is this DC (the service password in `ad-password`, mode
 * 0600; no must-change-at-first-logon, so the tests can sign in with a password they set), with
 * an embedded store, the UTC zone and no notices. Returns the private key (PEM) of the approver
 * the config trusts as alan.turing.
 */
export function writeAdWorkspace(dir: string, dc: SambaDC): string {
  const approver = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'approver.pub.pem'), approver.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'ad-password'), dc.adminPassword, { mode: 0o600 });
  writeFileSync(
    join(dir, 'detailee.yaml'),
    stringify({
      store: 'sqlite:detailee.db',
      timezone: 'UTC',
      trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] },
      targets: {
        ad: { url: dc.url, bindDN: dc.adminDN, bindPasswordFile: 'ad-password', usersDN: dc.usersDN, groupsDN: dc.groupsDN, upnSuffix: dc.upnSuffix, caCertificate: dc.caFile, mustChangePassword: false },
      },
      notices: { daysBefore: [] },
    }),
  );
  return approver.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
