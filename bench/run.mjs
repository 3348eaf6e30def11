// Benchmarks. Usage: npm run build && node bench/run.mjs [startup|audit|expire|pg|certificate|targets ...]
// Prints figures; docs/benchmarks.md records the ones measured on the project's machine.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, median, ROOT, RUN, timeMedian, timeOnce } from './lib.mjs';
import { seedAssignments, seedAudit } from './seed.mjs';

const want = new Set(process.argv.slice(2));
const all = want.size === 0;
const section = (name) => all || want.has(name);

function workspace(store) {
  const dir = mkdtempSync(join(tmpdir(), 'detailee-bench-'));
  writeFileSync(join(dir, 'detailee.yaml'), `store: ${store ?? `sqlite:${join(dir, 'detailee.db')}`}\ntimezone: America/New_York\nnotices: {daysBefore: [30, 14, 7, 1], outbox: outbox}\n`);
  // The fast status start keeps its validated config in the cache folder: the workspace's own.
  return { dir, env: { DETAILEE_CONFIG: join(dir, 'detailee.yaml'), XDG_CACHE_HOME: join(dir, 'cache') } };
}

const NOW = { DETAILEE_NOW: '2025-03-01T12:00:00Z' };

if (section('startup')) {
  const w = workspace();
  await seedAssignments(`sqlite:${join(w.dir, 'detailee.db')}`, 1000);
  timeOnce([RUN, '--version']); // warm the compile cache
  const base = timeMedian(['-e', '0'], {}, 11);
  const version = timeMedian([RUN, '--version'], w.env, 11);
  const status = timeMedian([RUN, 'status', '--json'], { ...w.env, ...NOW }, 11);
  // The first run after the config changed validates it (a fresh cache folder each time).
  const miss = median(Array.from({ length: 5 }, (_, i) => timeOnce([RUN, 'status', '--json'], { ...w.env, ...NOW, XDG_CACHE_HOME: join(w.dir, `cold-${i}`) }).ms));
  const full = timeMedian([RUN, 'status', '--json'], { ...w.env, ...NOW, DETAILEE_FAST_START: '0' }, 5);
  console.log(`startup: node -e 0 ${fmt(base.ms)} ms | detailee --version ${fmt(version.ms)} ms (${fmt(version.ms / base.ms, 2)}x) | status --json, 1,000 assignments ${fmt(status.ms)} ms (${fmt(status.ms / base.ms, 2)}x; target <= 3x)`);
  console.log(`startup: status --json right after a config change ${fmt(miss)} ms (${fmt(miss / base.ms, 2)}x) | through the full command (DETAILEE_FAST_START=0) ${fmt(full.ms)} ms (${fmt(full.ms / base.ms, 2)}x)`);
}

if (section('audit')) {
  // Several runs over one seeded store, with `node -e 0` timed between them: machines of one kind
  // differ from session to session, and a shared one from minute to minute.
  const runs = Number(process.env.BENCH_AUDIT_RUNS ?? 5);
  const verify = (w, label) => {
    const times = [];
    const rss = [];
    const base = [];
    for (let i = 0; i < runs; i++) {
      base.push(timeOnce(['-e', '0']).ms);
      const r = timeOnce([RUN, 'audit', 'verify', '--json'], w.env);
      if (r.status !== 0 || !JSON.parse(r.stdout).ok) throw new Error(`audit verify exited ${r.status}: ${r.stderr}`);
      times.push(r.ms / 1000);
      rss.push(r.rssMb);
    }
    const range = `${fmt(Math.min(...times), 2)}–${fmt(Math.max(...times), 2)} s`;
    console.log(`audit: audit verify over 1,000,000 events${label}: median ${fmt(median(times), 2)} s (${range}, ${runs} runs), peak RSS ${fmt(Math.max(...rss))} MB (target <= 2 s); node -e 0 median ${fmt(median(base))} ms`);
  };
  const w = workspace();
  const t0 = Date.now();
  await seedAudit(`sqlite:${join(w.dir, 'detailee.db')}`, 1_000_000);
  console.log(`audit: seeded 1,000,000 events in ${fmt((Date.now() - t0) / 1000)} s`);
  verify(w, '');
  // Details stored with their keys out of canonical order, as JSON.stringify writes many real
  // events: each is parsed and canonicalised before it is hashed (the path every event took before).
  const u = workspace();
  await seedAudit(`sqlite:${join(u.dir, 'detailee.db')}`, 1_000_000, (j) => ({ j, a: 1 }));
  verify(u, ', details not stored canonical');
}

if (section('expire')) {
  const base = timeMedian([RUN, '--version'], {}, 5);
  for (const n of [10_000, 100_000]) {
    const w = workspace();
    await seedAssignments(`sqlite:${join(w.dir, 'detailee.db')}`, n);
    const r = timeMedian([RUN, 'expire', '--json'], { ...w.env, ...NOW }, 3);
    const dry = timeMedian([RUN, 'expire', '--dry-run', '--json'], { ...w.env, ...NOW }, 3);
    const st = timeMedian([RUN, 'status', '--json'], { ...w.env, ...NOW }, 3);
    console.log(`expire: ${n.toLocaleString('en-US')} active, none due: expire ${fmt(r.ms)} ms (${fmt(r.ms - base.ms)} ms beyond start; target <= 1000), peak RSS ${fmt(r.rssMb)} MB (target <= 200); --dry-run ${fmt(dry.ms)} ms; status --json ${fmt(st.ms)} ms, ${fmt(st.rssMb)} MB`);
  }
  // Memory must not grow with the number due: 100,000 assignments of which 20,000 due, no targets.
  const w = workspace();
  await seedAssignments(`sqlite:${join(w.dir, 'detailee.db')}`, 100_000, { due: 20_000 });
  const r = timeOnce([RUN, 'expire', '--dry-run', '--json'], { ...w.env, ...NOW });
  console.log(`expire: 100,000 active, 20,000 due (dry run, no targets): ${fmt(r.ms)} ms, peak RSS ${fmt(r.rssMb)} MB`);
}

if (section('pg')) {
  const { default: pg } = await import('pg');
  const schema = `bench_${process.pid}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: process.env.PGUSER ?? 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const url = `postgres://${process.env.PGUSER ?? 'postgres'}@127.0.0.1:5432/test?schema=${schema}`;
  try {
    await seedAssignments(url, 100_000);
    const wp = workspace(url);
    const ws = workspace();
    await seedAssignments(`sqlite:${join(ws.dir, 'detailee.db')}`, 100_000);
    for (const [name, w] of [['postgres', wp], ['sqlite', ws]]) {
      // The first run after a build also writes Node's compile cache (about 10 MB more at its peak).
      timeOnce([RUN, 'status', '--state', 'closed'], { ...w.env, ...NOW });
      const st = timeMedian([RUN, 'status', '--json'], { ...w.env, ...NOW }, 3);
      const table = timeMedian([RUN, 'status'], { ...w.env, ...NOW }, 3);
      const csv = timeMedian([RUN, 'status', '--csv'], { ...w.env, ...NOW }, 3);
      const ex = timeMedian([RUN, 'expire', '--dry-run', '--json'], { ...w.env, ...NOW }, 3);
      console.log(`store ${name}, 100,000 assignments: status --json ${fmt(st.ms)} ms / ${fmt(st.rssMb)} MB (target <= 100 MB); status (table) ${fmt(table.ms)} ms / ${fmt(table.rssMb)} MB; status --csv ${fmt(csv.ms)} ms / ${fmt(csv.rssMb)} MB; expire --dry-run ${fmt(ex.ms)} ms / ${fmt(ex.rssMb)} MB`);
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

if (section('certificate')) {
  const { benchCertificate } = await import('./certificate.mjs');
  await benchCertificate();
}

if (section('targets')) {
  const { benchTargets } = await import('./targets.mjs');
  await benchTargets();
}
// Only when asked: it needs root and Samba (an AD domain controller on loopback).
if (want.has('ad')) {
  const { benchAd } = await import('./ad.mjs');
  await benchAd();
}
void ROOT;
