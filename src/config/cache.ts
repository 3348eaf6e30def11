import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConfigFile } from './schema.js';

/**
 * The verdict of config validation, kept between runs so that `status` can start without loading
 * the YAML parser and the schema library (more than half its start-up time). An entry is used
 * only when everything the verdict depends on is unchanged: the exact text and path of the file,
 * the build that validated it (the schema ships inside it), the time-zone database (zone names
 * are checked against it) and the Node version. Anything else is a miss, and a miss validates
 * again. The config holds no secrets (they come from files or the environment), so
 * neither does this cache; entries are still private to their user.
 */
const FORMAT = 1;

export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'detailee');
}

/**
 * Everything the verdict depends on, compared as a whole (no hash: loading node:crypto would cost
 * the fast start more than the comparison).
 */
export function configCacheKey(file: string | undefined, text: string | undefined, build: string): string {
  return JSON.stringify([FORMAT, file ?? null, text ?? null, build, process.versions.tz ?? '', process.version]);
}

/** 64-bit FNV-1a: only spreads paths over file names; a collision costs a miss, never a wrong hit. */
function pathTag(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(s, 'utf8')) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

/** One entry per config path, overwritten when the file changes, so the folder cannot grow. */
export function cacheEntryPath(dir: string, file: string | undefined): string {
  return join(dir, `config-${pathTag(file ?? '(defaults)')}.json`);
}

/**
 * The validated config for `key`, or undefined. An entry that is not a regular file owned by this
 * user and unreadable by others is ignored: it could have been planted.
 */
export function readValidatedConfig(dir: string, file: string | undefined, key: string): ConfigFile | undefined {
  try {
    const path = cacheEntryPath(dir, file);
    const st = lstatSync(path);
    if (!st.isFile() || (st.mode & 0o077) !== 0 || (process.getuid !== undefined && st.uid !== process.getuid())) return undefined;
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { key?: unknown; config?: unknown };
    return doc.key === key && typeof doc.config === 'object' && doc.config !== null ? (doc.config as ConfigFile) : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a cache that cannot be written (read-only home, full disk) costs only speed. */
export function writeValidatedConfig(dir: string, file: string | undefined, key: string, config: ConfigFile): boolean {
  const path = cacheEntryPath(dir, file);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, `${JSON.stringify({ key, config })}\n`, { mode: 0o600 });
    renameSync(tmp, path);
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was written there either */
    }
    return false;
  }
}
