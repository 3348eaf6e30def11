import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ActionError } from '../errors.js';

const UNSAFE = /[^A-Za-z0-9._-]+/g;
const MAX_NAME = 200;

/** One path segment made of [A-Za-z0-9._-]: no separator, no leading dot, never "." or "..". */
export function safeFileName(name: string): string {
  let stem = name
    .replace(/\.eml$/i, '')
    .replace(UNSAFE, '_')
    .replace(/^[.-]+/, '');
  if (stem === '') stem = 'notice';
  return `${stem.slice(0, MAX_NAME - 4)}.eml`;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** `<YYYYMMDDTHHMMSSZ>-<assignmentId>-<key>.eml`: sorts by time, and names what it is. */
export function outboxFileName(o: { date: Date; assignmentId: string; key: string }): string {
  return safeFileName(`${stamp(o.date)}-${outboxSuffix(o)}`);
}

function outboxSuffix(o: { assignmentId: string; key: string }): string {
  return `${o.assignmentId.replace(UNSAFE, '_')}-${o.key.replace(UNSAFE, '_')}.eml`;
}

/**
 * The file an earlier run already wrote for this notice, if any (the oldest): a notice whose relay
 * failed is retried from it, so the outbox holds one file per notice, not one per attempt.
 */
export async function existingOutboxFile(outboxDir: string, o: { assignmentId: string; key: string }): Promise<string | undefined> {
  const suffix = `-${outboxSuffix(o)}`;
  let names: string[];
  try {
    names = await readdir(resolve(outboxDir));
  } catch {
    return undefined;
  }
  const match = names.filter((n) => /^\d{8}T\d{6}Z-/.test(n) && n.endsWith(suffix) && n.length === 16 + suffix.length).sort()[0];
  return match === undefined ? undefined : join(resolve(outboxDir), match);
}

/**
 * Write one message into the outbox; returns its path. Written to a hidden temp file first and
 * renamed into place, so anything that picks up *.eml (a relay, a person) never sees half a
 * message; the temp file is created exclusively, so a planted symlink is not followed.
 * Mode 0640: notices name people and their access, so they are not world-readable.
 */
export async function writeOutbox(outboxDir: string, eml: string | Uint8Array, fileName: string): Promise<string> {
  const dir = resolve(outboxDir);
  const name = safeFileName(fileName);
  const target = join(dir, name);
  if (dirname(target) !== dir) {
    // safeFileName makes this unreachable; kept so a future edit cannot quietly write elsewhere.
    throw new ActionError(`Refusing to write ${JSON.stringify(fileName)} outside the outbox ${dir}.`, { code: 'notice.outbox' });
  }
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const fh = await open(tmp, 'wx', 0o640);
    try {
      await fh.writeFile(eml);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The umask may have narrowed or (rarely) the creation mode been ignored; state it exactly.
    await chmod(tmp, 0o640);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new ActionError(`Cannot write the notice to the outbox ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      code: 'notice.outbox',
      actions: ['Check that the outbox folder (notices.outbox in the config) exists and is writable by this user.'],
    });
  }
  return target;
}
