#!/usr/bin/env node
// The compile cache makes every later start of the CLI faster (Node >= 22.1).
import { enableCompileCache } from 'node:module';
enableCompileCache?.();

// `status` in its plain forms and `--version` start from one bundle without the command
// framework (src/cli/fast.ts); it declines anything else, and then oclif runs the command as
// always. DETAILEE_FAST_START=0 turns it off.
const argv = process.argv.slice(2);
let done = false;
if ((argv[0] === 'status' || argv[0] === '--version') && process.env.DETAILEE_FAST_START !== '0') {
  try {
    const { runFast } = await import('../dist/fast/fast.js');
    done = await runFast(argv);
  } catch {
    done = false; // not built (a development checkout): the full command runs
  }
}
if (!done) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
// The command has finished and its output is written. Something still holding the event loop now
// is a leak, such as a connection a server keeps half-open (PostgreSQL holds one that failed to
// authenticate for a minute): exit with the command's code instead of hanging a cron job.
setTimeout(() => process.exit(), 1000).unref();
