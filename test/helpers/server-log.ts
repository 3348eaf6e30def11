import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
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

/** `inside`: a folder the caller already cleans up (the log is then removed with it). */
export function serverLog(name: string, inside?: string): ServerLog {
  const dir = inside ?? mkdtempSync(join(tmpdir(), `detailee-${name}-log-`));
  const path = join(dir, `${name}.log`);
  let fd = openSync(path, 'a', 0o600);
  let open = true;
  return {
    fd,
    path,
    tail(bytes = 4000) {
      // Only the end: moto's log grows by a line per request.
      let rfd: number | undefined;
      try {
        rfd = openSync(path, 'r');
        const size = fstatSync(rfd).size;
        const buf = Buffer.alloc(Math.min(bytes, size));
        readSync(rfd, buf, 0, buf.length, size - buf.length);
        return buf.toString('utf8');
      } catch {
        return '';
      } finally {
        if (rfd !== undefined) closeSync(rfd);
      }
    },
    detach() {
      if (open) closeSync(fd);
      open = false;
      fd = -1;
    },
    remove() {
      this.detach();
      if (inside === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
