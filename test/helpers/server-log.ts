import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A file for a test server's log output. A server's stdout/stderr must not be a pipe to the test
 * process: most tests drive the CLI with spawnSync, which blocks the event loop that would drain
 * the pipe, and once the pipe's 64 KiB buffer is full the server blocks on its next log line and
 * stops answering (moto logs every request). A file never fills.
 */
export interface ServerLog {
  /** Pass as the child's stdout or stderr; the parent's copy is closed by `detach()`. */
  fd: number;
  path: string;
  /** The last `bytes` of what the server wrote. */
  tail(bytes?: number): string;
  /** Close the parent's descriptor once the child has been spawned (the child keeps its own). */
  detach(): void;
  remove(): void;
}

export function serverLog(name: string): ServerLog {
  const dir = mkdtempSync(join(tmpdir(), `detailee-${name}-log-`));
  const path = join(dir, `${name}.log`);
  let fd = openSync(path, 'a', 0o600);
  let open = true;
  return {
    fd,
    path,
    tail(bytes = 4000) {
      try {
        const all = readFileSync(path, 'utf8');
        return all.slice(-bytes);
      } catch {
        return '';
      }
    },
    detach() {
      if (open) closeSync(fd);
      open = false;
      fd = -1;
    },
    remove() {
      this.detach();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
