import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configCacheKey, readValidatedConfig, userCacheDir, writeValidatedConfig } from '../config/cache.js';
import { findConfigFile, resolveConfig } from '../config/resolve.js';
import type { ConfigFile } from '../config/schema.js';
import { status } from '../lifecycle/status.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { readTextFile } from '../text-file.js';
import { statusText } from '../ui/status.js';

/**
 * `detailee status` without the command framework: monitoring runs it every few minutes, and
 * loading oclif, the YAML parser and the schema library took most of its time. It takes only the
 * plain forms (`status`, `--json`, `--config F`) on an embedded store. Anything else — another
 * flag, a config that does not validate, a PostgreSQL store, any error — returns false before a
 * byte is written, and the caller runs the real command, which then reports exactly as it always
 * does. Reading the status changes nothing, so running it twice is safe.
 */
export interface FastIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Identifies the build that validates configs: a cached verdict of another build is not used. */
  build: string;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export function parseStatusArgv(argv: readonly string[]): { json: boolean; config: string | undefined } | undefined {
  if (argv[0] !== 'status') return undefined;
  let json = false;
  let config: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' && !json) json = true;
    else if (a === '--config' && config === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) config = argv[++i];
    else if (a.startsWith('--config=') && config === undefined && a.length > '--config='.length) config = a.slice('--config='.length);
    else return undefined;
  }
  return { json, config };
}

/**
 * DETAILEE_NOW in its plain ISO-8601 forms (as tests and rehearsals write it), read without luxon;
 * undefined for anything else, which the full command then parses or refuses (clock.ts).
 */
export function pinnedNow(env: NodeJS.ProcessEnv): Date | undefined {
  const raw = env.DETAILEE_NOW;
  if (raw === undefined || raw === '') return new Date();
  if (!/^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/.test(raw)) return undefined;
  // Date.parse rolls 2025-02-30 over to March; luxon (and so clock.ts) refuses it.
  const [y, m, d] = raw.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return undefined;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** The identity of this module's file: a rebuild changes it, and with it every cache key. */
function buildOf(moduleUrl: string): string {
  const st = statSync(fileURLToPath(moduleUrl));
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

/**
 * The validated config, and how to remember the verdict. It is remembered only once the whole
 * command has succeeded: a run that hands over to the full command (bad input among others)
 * leaves nothing behind.
 */
async function validatedConfig(file: string | undefined, io: FastIo): Promise<{ config: ConfigFile; remember: () => void }> {
  const text = file === undefined ? undefined : readTextFile(file, 'config file').text;
  const key = configCacheKey(file, text, io.build);
  const dir = userCacheDir(io.env);
  const cached = readValidatedConfig(dir, file, key);
  if (cached) return { config: cached, remember: () => undefined };
  // A miss (first run, or the file changed): validate as every command does.
  const { validateConfigText } = await import('../config/load.js');
  const parsed = validateConfigText(text, file);
  return { config: parsed, remember: () => void writeValidatedConfig(dir, file, key, parsed) };
}

export async function fastStatus(argv: readonly string[], io: FastIo): Promise<boolean> {
  const flags = parseStatusArgv(argv);
  if (!flags) return false;
  let store: Store | undefined;
  let out: string;
  let warning: string | null;
  try {
    const file = findConfigFile(flags.config, io.env, io.cwd);
    // No config: the full command refuses (exit 2, pointing at `detailee init`).
    if (file === undefined) return false;
    const validated = await validatedConfig(file, io);
    const cfg = resolveConfig(validated.config, file, io.env, io.cwd);
    if (!cfg.storeUrl.startsWith('sqlite:')) return false; // also '' (no store named): the full command refuses
    const now = pinnedNow(io.env);
    if (now === undefined) return false;
    store = await openStore(cfg.storeUrl, {});
    const result = await status(store, now);
    // The same bytes oclif writes: its JSON is JSON.stringify with two spaces, uncoloured when
    // no theme is set, and every line ends in a newline.
    // oclif also turns JSON on with DETAILEE_CONTENT_TYPE=json, whatever the flags say.
    const json = flags.json || io.env.DETAILEE_CONTENT_TYPE?.toLowerCase() === 'json';
    out = json ? JSON.stringify(result.assignments, null, 2) : statusText(result.assignments);
    warning = result.heartbeat.warning;
    validated.remember();
  } catch {
    return false;
  } finally {
    await store?.close().catch(() => undefined);
  }
  io.stdout(`${out}\n`);
  if (warning) io.stderr(`Warning: ${warning}\n`);
  return true;
}

/** The bundle's entry (fast.ts) calls this; in the bundle, import.meta.url is the bundle's own file. */
export function runFastStatus(argv: readonly string[]): Promise<boolean> {
  return fastStatus(argv, {
    env: process.env,
    cwd: process.cwd(),
    build: buildOf(import.meta.url),
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
}
