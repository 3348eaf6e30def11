import { Command, Errors } from '@oclif/core';
import { clockFromEnv } from '../time/clock.js';
import { loadConfig, warnings } from '../config/load.js';
import { requireStoreUrl, type Config } from '../config/resolve.js';
import { DetaileeError, ExitCode } from '../errors.js';
import { osActor, type Context } from '../lifecycle/context.js';
import { faultHookFromEnv } from '../lifecycle/executor.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { openTargets } from '../targets/index.js';
import { baseFlags, jsonDocument } from './common.js';
import { detaileeFailure, writeFailure, type Failure } from './failure.js';

/**
 * Every command: `--json` (exactly one JSON document on stdout, also on error) and `--config`.
 * Errors are mapped to the exit codes (README, "Exit codes"; docs/errors.md) here and nowhere else.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;
  // Shared with the fast start of `status` (src/cli/fast-status.ts), which parses with them too.
  static override baseFlags = baseFlags;

  private store: Store | undefined;
  private cfg: Config | undefined;

  protected async loadConfig(): Promise<Config> {
    if (!this.cfg) {
      const { flags } = await this.parse(this.constructor as typeof BaseCommand);
      this.cfg = loadConfig((flags as { config?: string }).config);
    }
    return this.cfg;
  }

  protected async openStore(options: { migrate?: boolean } = {}): Promise<Store> {
    if (!this.store) this.store = await openStore(requireStoreUrl(await this.loadConfig()), options);
    return this.store;
  }

  protected async context(): Promise<Context> {
    const config = await this.loadConfig();
    const store = await this.openStore();
    const clock = clockFromEnv();
    return {
      config,
      store,
      clock,
      actor: osActor(),
      openTargets: () => openTargets(config, clock),
      afterStep: faultHookFromEnv(),
    };
  }

  /** The same document oclif prints, without its colouring tokenizer (common.ts). */
  override logJson(json: unknown): void {
    process.stdout.write(jsonDocument(json));
  }

  /** Human output goes to stdout unless --json; notes for humans go to stderr. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${message}\n`);
  }

  protected setExit(code: number): void {
    process.exitCode = Math.max(Number(process.exitCode ?? 0), code);
  }

  override async catch(err: Error & { oclif?: { exit?: number }; exitCode?: number }): Promise<void> {
    let f: Failure;
    if (err instanceof DetaileeError) {
      f = detaileeFailure(err);
    } else if (err instanceof Errors.ExitError) {
      const exit = err.oclif.exit ?? ExitCode.actionFailed;
      // The command chose its exit after saying why on its own (a report, a failed check).
      f = { exit, body: { code: 'exit', message: err.message, exit, fault: exit === ExitCode.badInput ? 'user' : 'environment', actions: [] } };
    } else if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') {
      // Ctrl-C at a prompt (the terminal is in raw mode there, so it is not a signal). Answers
      // are saved after each one and every change is journaled: a rerun resumes.
      const exit = ExitCode.interrupted;
      f = { exit, body: { code: 'interrupted', message: 'interrupted', exit, fault: 'user', actions: ['Run the same command again to resume where it stopped.'] } };
    } else if (err.oclif?.exit !== undefined) {
      // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 2.
      const exit = err.oclif.exit === 1 ? ExitCode.badInput : err.oclif.exit;
      f = { exit, body: { code: 'usage', message: err.message, exit, fault: 'user', actions: ['Run the command with --help.'] } };
    } else {
      const exit = ExitCode.actionFailed;
      f = { exit, body: { code: 'internal', message: err.message, exit, fault: 'tool', actions: ['This is a bug or an environment problem; the message says which.'] } };
    }
    process.exitCode = f.exit;
    writeFailure(f, this.jsonEnabled(), err, { json: (doc) => this.logJson(doc), stderr: (s) => process.stderr.write(s) });
  }

  override async finally(err: Error | undefined): Promise<void> {
    for (const w of warnings.splice(0)) process.stderr.write(`${w}\n`);
    if (this.store) await this.store.close().catch(() => undefined);
    return super.finally(err);
  }
}
