import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './scenario.js';

/**
 * Run the built CLI on a pseudo-terminal (util-linux `script`), so it sees a TTY as an officer's
 * shell gives it. When the screen first matches `when`, `answer` is typed followed by Enter.
 * Resolves with the exit code and everything the terminal showed.
 */
export function onTerminal(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  when: RegExp,
  answer: string,
): Promise<{ exit: number | null; screen: string }> {
  const quoted = [process.execPath, join(ROOT, 'bin', 'run.js'), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', quoted, '/dev/null'], { cwd, env: { ...process.env, TERM: 'dumb', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let typed = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    screen += d;
    if (!typed && when.test(screen)) {
      typed = true;
      child.stdin.write(`${answer}\r`);
    }
  });
  return new Promise((resolve) => child.on('exit', (exit) => resolve({ exit, screen })));
}
