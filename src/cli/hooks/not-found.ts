import { type Hook, toConfiguredId } from '@oclif/core';
import { InputError } from '../../errors.js';

/** Edit distance, to name the command a mistyped one most likely meant. */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export function closest(id: string, ids: readonly string[]): string | undefined {
  return [...ids].sort((x, y) => distance(id, x) - distance(id, y))[0];
}

/**
 * On a terminal, @oclif/plugin-not-found asks "Did you mean …?" and runs the command on yes.
 * Without one it says nothing of the kind: then this names the likely command in the error itself
 * (exit 2, a usage error), so a script's log shows it too.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY && process.stdout.isTTY) return; // the plugin asks
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const guess = closest(opts.id, ids);
  const near = guess !== undefined && distance(opts.id, guess) <= Math.max(2, Math.floor(opts.id.length / 3));
  const bin = opts.config.bin;
  const err = new InputError(`${toConfiguredId(opts.id, opts.config)} is not a ${bin} command.${near ? ` Did you mean \`${bin} ${toConfiguredId(guess, opts.config)}\`?` : ''}`, {
    code: 'usage.command',
    actions: [`Run \`${bin} --help\` for the list of commands.`],
  });
  // The same shapes as every command's errors (src/cli/base.ts): one JSON document with --json.
  if ((opts.argv ?? []).includes('--json')) process.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
  else process.stderr.write(`Error: ${err.message}\n${err.actions.map((a) => `  → ${a}\n`).join('')}`);
  this.exit(err.exit);
};

export default hook;
