// Shared helpers for the benchmarks: run the built CLI, time it, read its peak memory.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RUN = join(ROOT, 'bin', 'run.js');
const HOOK = join(ROOT, 'bench', 'rss-hook.mjs');

/** Run a command once; wall time in ms and the child's peak RSS in MB (from the exit hook). */
export function timeOnce(args, env = {}) {
  const rssFile = join(process.env.TMPDIR ?? '/tmp', `detailee-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', HOOK, ...args], { env: { ...process.env, ...env, DETAILEE_RSS_FILE: rssFile }, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let rssMb = NaN;
  try {
    rssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    rmSync(rssFile);
  } catch {
    /* the hook did not run */
  }
  return { ms, rssMb, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function timeMedian(args, env, runs = 7) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = timeOnce(args, env);
    if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    results.push(r);
  }
  return { ms: median(results.map((r) => r.ms)), rssMb: Math.max(...results.map((r) => r.rssMb)) };
}

export function fmt(n, d = 1) {
  return Number.isFinite(n) ? n.toFixed(d) : 'n/a';
}
