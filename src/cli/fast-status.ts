import { statSync } from 'node:fs';
import { DetaileeError } from '../errors.js';
import { fileURLToPath } from 'node:url';
import { boolean } from '@oclif/core/flags';
import { parse } from '@oclif/core/parser';
import { configCacheKey, readValidatedConfig, userCacheDir, writeValidatedConfig } from '../config/cache.js';
import { findConfigFile, resolveConfig } from '../config/resolve.js';
import type { ConfigFile } from '../config/schema.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { readTextFile } from '../text-file.js';
import { baseFlags, jsonDocument } from './common.js';
import { detaileeFailure, writeFailure } from './failure.js';
import { keepYoungGenerationSmall, statusFilter, statusFlags, writeStatus } from './status-command.js';
import { streamWriter, type Write } from '../ui/status-stream.js';

/**
 * `detailee status` without the command framework: monitoring runs it every few minutes, and
 * loading oclif, the YAML parser and the schema library took most of its time. It is the same
 * command: its flags are the command's own definitions (status-command.ts, common.ts), parsed by
 * oclif's own parser, and its filter and output come from the same functions. It takes every form
 * the command takes, on an embedded store or a shared PostgreSQL one. Anything else — a flag the
 * parser refuses, `--help`, a config that does not validate, an unexpected error — returns false
 * before a byte is written, and the caller runs the command through oclif, which then reports
 * exactly as it always does. Reading the status changes nothing, so running it twice is safe.
 * The store's own errors (it cannot be reached, it needs `detailee migrate`) are reported here,
 * with the command's own renderer (failure.ts): handing them over would try the store a second
 * time, and a server that does not answer would keep a cron job waiting twice as long.
 */
export interface FastIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Identifies the build that validates configs: a cached verdict of another build is not used. */
  build: string;
  /** The flags that ask oclif for help: --help and package.json's oclif.additionalHelpFlags. */
  helpFlags: readonly string[];
  stdout: Write;
  stderr: (s: string) => void;
  /** Sets the exit code (process.exitCode; a test records it). */
  setExit: (code: number) => void;
  /** Called once the store is open, before the rows are read (the process's memory setting). */
  beforeRows?: () => void;
}

/**
 * oclif's --json, which Command.parse adds to a command that enables it (before the base flags
 * and the command's own), defined as oclif defines it: a unit test holds the two equal.
 */
const json = boolean({ description: 'Format output as json.', helpGroup: 'GLOBAL' });

/** Every flag oclif parses `status` with, in the order Command.parse aggregates them. */
export const statusParseFlags = { json, ...baseFlags, ...statusFlags };

/**
 * oclif's help check (main.ts, helpAddition): a help flag anywhere before `--` shows help instead
 * of running the command, whatever the parser would make of it (`--config --help` included).
 */
export function helpRequested(argv: readonly string[], helpFlags: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--help' || helpFlags.includes(a)) return true;
    if (a === '--') return false;
  }
  return false;
}

/**
 * oclif's Command.jsonEnabled: $DETAILEE_CONTENT_TYPE=json, or `--json` among the command's
 * arguments before any `--`. oclif looks at the words, not at the parsed flag, and so does this.
 */
export function jsonEnabled(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (env.DETAILEE_CONTENT_TYPE?.toLowerCase() === 'json') return true;
  const end = args.indexOf('--');
  const at = args.indexOf('--json');
  return at !== -1 && (end === -1 || at < end);
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
  if (argv[0] !== 'status' || helpRequested(argv, io.helpFlags)) return false;
  const args = argv.slice(1);
  const json = jsonEnabled(args, io.env);
  let store: Store | undefined;
  let storeNamed = false;
  let started = false;
  let err = '';
  try {
    // A parse error (an unknown flag, a missing value, --csv with --json) is the command's to report.
    const { flags } = await parse([...args], { flags: statusParseFlags, args: {}, strict: true });
    // Bad --state or --ending-within: the command refuses it before reading a config, and says why.
    const filter = statusFilter(flags);
    const file = findConfigFile(flags.config, io.env, io.cwd);
    // No config: the full command refuses (exit 2, pointing at `detailee init`).
    if (file === undefined) return false;
    const validated = await validatedConfig(file, io);
    const cfg = resolveConfig(validated.config, file, io.env, io.cwd);
    // No store named (''), or one of a kind no store opens: the full command refuses.
    if (!cfg.storeUrl.startsWith('sqlite:') && !/^postgres(ql)?:\/\//.test(cfg.storeUrl)) return false;
    const now = pinnedNow(io.env);
    if (now === undefined) return false;
    storeNamed = true;
    store = await openStore(cfg.storeUrl, {});
    io.beforeRows?.();
    // The output is written a page at a time, as the command writes it (status-command.ts).
    ({ stderr: err } = await writeStatus(store, now, filter, flags, json, (s) => {
      started = true;
      return io.stdout(s);
    }));
    validated.remember();
  } catch (e) {
    if (started) {
      // Handing over after the first byte would print twice: the failure is reported here (exit 1).
      io.stderr(`Error: status stopped part-way: ${(e as Error).message}\n`);
      io.setExit(1);
    } else if (storeNamed && e instanceof DetaileeError) {
      const f = detaileeFailure(e);
      io.setExit(f.exit);
      writeFailure(f, json, e, { json: (doc) => void io.stdout(jsonDocument(doc)), stderr: io.stderr });
    } else {
      // Before the first byte, the full command runs instead and reports as it always does.
      return false;
    }
  } finally {
    await store?.close().catch(() => undefined);
  }
  if (err) io.stderr(err);
  return true;
}

/** The bundle's entry (fast.ts) calls this; in the bundle, import.meta.url is the bundle's own file. */
export function runFastStatus(argv: readonly string[], helpFlags: readonly string[]): Promise<boolean> {
  return fastStatus(argv, {
    env: process.env,
    cwd: process.cwd(),
    build: buildOf(import.meta.url),
    helpFlags,
    stdout: streamWriter(process.stdout),
    stderr: (s) => process.stderr.write(s),
    setExit: (code) => {
      process.exitCode = code;
    },
    beforeRows: keepYoungGenerationSmall,
  });
}
