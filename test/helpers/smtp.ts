import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A real SMTP server process (Python's smtpd, see smtp_sink.py) on a loopback port the OS picks.
 * It stores each message before it answers 250, so once a send has resolved the message is on
 * disk: tests read it straight away, without polling.
 */
export interface SmtpSink {
  host: string;
  port: number;
  dir: string;
  messages(): { raw: Buffer; from: string; to: string[] }[];
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Answer every message with 554. */
  reject?: boolean;
  /** Advertise AUTH and refuse every attempt with 535. */
  authFail?: boolean;
}

const PYTHON = process.env.DETAILEE_TEST_PYTHON ?? 'python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'smtp_sink.py');

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const dir = mkdtempSync(join(tmpdir(), 'detailee-smtp-'));
  const args = [SCRIPT, dir, ...(opts.reject ? ['--reject'] : []), ...(opts.authFail ? ['--auth-fail'] : [])];
  const child: ChildProcess = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`smtp sink did not start within 10s: ${stderr}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`smtp sink exited (${code}) before it was ready: ${stderr}`));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  return {
    host: '127.0.0.1',
    port,
    dir,
    messages() {
      const names = readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
      return names.map((n) => {
        const env = JSON.parse(readFileSync(join(dir, n), 'utf8')) as { from: string; to: string[] };
        return { raw: readFileSync(join(dir, n.replace(/\.json$/, '.eml'))), ...env };
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback port nothing listens on (handed out by the OS, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
