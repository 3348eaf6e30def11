import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delay, freePort } from './net.js';

/**
 * A private PostgreSQL server that demands a password (SCRAM-SHA-256 for every connection), on a
 * free loopback port: the machine's shared server trusts loopback logins, so it cannot show that a
 * password really comes from PGPASSWORD or a PGPASSFILE. PostgreSQL refuses to run as root, so as
 * root the server runs as the `postgres` system user.
 */
export interface PasswordCluster {
  port: number;
  user: string;
  password: string;
  database: string;
  stop(): Promise<void>;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql)');
  return join(base, versions[0]!, 'bin');
}

export async function startPasswordCluster(): Promise<PasswordCluster> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? (spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim() || undefined) : undefined;
  const uid = owner === undefined ? undefined : Number(owner);
  const gid = uid === undefined ? undefined : Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const dir = mkdtempSync(join(tmpdir(), 'detailee-pgpw-'));
  chmodSync(dir, 0o700);
  const password = `pw-${Math.random().toString(36).slice(2)}-S3cret`;
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (uid !== undefined && gid !== undefined) {
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const run = (cmd: string, args: string[]) => (uid !== undefined ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const) : ([cmd, args] as const));
  const user = 'detailee_admin';
  const data = join(dir, 'data');
  const [icmd, iargs] = run(join(bin, 'initdb'), ['-D', data, '-A', 'scram-sha-256', '-U', user, `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(icmd, [...iargs], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const [pcmd, pargs] = run(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off']);
    const child: ChildProcess = spawn(pcmd, [...pargs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    child.on('exit', () => (exited = true));
    for (let i = 0; i < 200 && !exited; i++) {
      if (/ready to accept connections/.test(log)) {
        return {
          port,
          user,
          password,
          database: 'postgres',
          stop: async () => {
            const gone = new Promise<void>((resolve) => (exited ? resolve() : child.on('exit', () => resolve())));
            // Signal the postmaster itself (runuser does not pass SIGINT on): fast shutdown.
            const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
            if (pid > 0) process.kill(pid, 'SIGINT');
            else child.kill('SIGINT');
            await gone;
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await delay(50);
    }
    child.kill('SIGKILL');
    if (attempt >= 2 || !/could not bind|Address already in use/.test(log)) throw new Error(`PostgreSQL did not start: ${log}`);
  }
}
