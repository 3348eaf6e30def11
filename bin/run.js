#!/usr/bin/env node
// The compile cache makes every later start of the CLI faster (Node >= 22.1).
import { enableCompileCache } from 'node:module';
enableCompileCache?.();

// `status` in its plain forms starts from one bundle without the command framework (see
// src/cli/fast-status.ts); it declines anything else, and then oclif runs the command as always.
// DETAILEE_FAST_START=0 turns it off.
const argv = process.argv.slice(2);
let done = false;
if (argv[0] === 'status' && process.env.DETAILEE_FAST_START !== '0') {
  try {
    const { runFastStatus } = await import('../dist/fast/status.js');
    done = await runFastStatus(argv);
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
