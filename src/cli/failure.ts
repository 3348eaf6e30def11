import { ExitCode, type DetaileeError } from '../errors.js';

/** What a failed command reports: its exit code and the `error` object of the JSON document. */
export interface Failure {
  exit: number;
  body: { message: string; actions?: string[] } & Record<string, unknown>;
}

export function detaileeFailure(err: DetaileeError): Failure {
  return { exit: err.exit, body: err.toJSON() as Failure['body'] };
}

/** Where a failure is written: the JSON document (a command may route it), and stderr. */
export interface FailureOutput {
  json: (doc: unknown) => void;
  stderr: (text: string) => void;
}

/**
 * Report a failure as every command does (BaseCommand.catch, and the fast start of `status`,
 * which must print the very same bytes): with JSON on, the `{ "error": … }` document; without
 * it, the message and what to do on stderr, and the stack only when DETAILEE_DEBUG asks for it.
 * The caller sets the exit code (`f.exit`).
 */
export function writeFailure(f: Failure, json: boolean, err: Error, out: FailureOutput): void {
  if (json) {
    out.json({ error: f.body });
    return;
  }
  out.stderr(f.exit === ExitCode.interrupted ? 'interrupted\n' : `Error: ${f.body.message}\n`);
  for (const a of f.body.actions ?? []) out.stderr(`  → ${a}\n`);
  if (process.env.DETAILEE_DEBUG && err.stack) out.stderr(`${err.stack}\n`);
}
