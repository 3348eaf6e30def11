// The CLI's start, loaded by bin/run.js once the Node version is known to be supported.
// The compile cache makes every later start of the CLI faster (Node >= 22.1).
import { enableCompileCache } from 'node:module';
enableCompileCache?.();

// A reader that stops early (`detailee status | head -1`) closes the pipe: that ends the command
// quietly, as with any Unix tool, instead of an EPIPE stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
// Ctrl-C outside a prompt (a prompt reports it as its own error, see src/cli/base.ts): every
// change is journaled step by step, so stopping here leaves nothing the next run cannot resume.
process.once('SIGINT', () => {
  process.stderr.write('interrupted\n');
  process.exit(130);
});

// `status` and `--version` start from one bundle without the rest of the command framework
// (src/cli/fast.ts): `status` is parsed there by oclif's own parser with the command's own flag
// definitions and printed by the command's own functions. Whatever it declines (help, an error, a
// PostgreSQL store), oclif runs as always. DETAILEE_FAST_START=0 turns it off (the tests compare
// both).
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
