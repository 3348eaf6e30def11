import { InputError } from '../errors.js';

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/**
 * Ask yes/no on a TTY; without one, never hang: the caller must have passed --yes.
 * The prompt library is loaded only when a question is really asked.
 */
export async function confirmOrRefuse(message: string, options: { yes: boolean; json: boolean; flag?: string }): Promise<boolean> {
  if (options.yes) return true;
  if (!isInteractive() || options.json) {
    throw new InputError(`${message} — no terminal to ask on, and ${options.flag ?? '--yes'} was not given.`, {
      code: 'confirm.no-tty',
      actions: [`Pass ${options.flag ?? '--yes'} to confirm in a script, or run it in a terminal.`],
    });
  }
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message, default: false });
}
