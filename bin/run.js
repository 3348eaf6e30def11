#!/usr/bin/env node
// The compile cache makes every later start of the CLI faster (Node >= 22.1).
import { enableCompileCache } from 'node:module';
enableCompileCache?.();

const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
// The command has finished and its output is written. Something still holding the event loop now
// is a leak, such as a connection a server keeps half-open (PostgreSQL holds one that failed to
// authenticate for a minute): exit with the command's code instead of hanging a cron job.
setTimeout(() => process.exit(), 1000).unref();
