// Targets: onboarding and revocation against a real slapd and moto on loopback, in-process through
// the library (no CLI start-up), and the nightly job's revocation throughput.
//   a) N_ONBOARD detailees onboarded, then revoked one by one: wall time per detailee, calls per
//      target per detailee (IAM: the target's own request counter; LDAP: slapd's cn=Monitor
//      operation counters), and the tool's own CPU per detailee (process.cpuUsage of this process;
//      slapd and moto are other processes, so only detailee's work is counted — their CPU is read
//      from /proc and printed beside it, to show where the wall time goes).
//   b) N_EXPIRE assignments past their end, revoked by runExpire at the default concurrency (8),
//      then a fresh set (fresh slapd, moto and store, so nothing from the first run is re-verified)
//      at concurrency 1.
// Usage: node bench/run.mjs targets   (BENCH_TARGETS_N / BENCH_EXPIRE_N override the counts)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, median, ROOT } from './lib.mjs';

const N_ONBOARD = Number(process.env.BENCH_TARGETS_N ?? 200);
const N_EXPIRE = Number(process.env.BENCH_EXPIRE_N ?? 500);
const DEFAULT_CONCURRENCY = 8; // commands/expire.ts: --concurrency default
const CLK_TCK = 100; // Linux USER_HZ

const dist = (p) => import(join(ROOT, 'dist', p));

/** A manifest per detailee: one LDAP group and one IAM group, like a typical assignment. */
function overrides(prefix, i) {
  const n = String(i).padStart(4, '0');
  return {
    id: `${prefix}-${n}`,
    detailee: { givenName: 'Bench', familyName: `User${n}`, email: `${prefix}${n}@home.example.gov`, username: `${prefix}${n}`, homeAgency: 'General Services Administration' },
    access: { ldap: { groups: ['modernization'] }, aws: { groups: ['detailee-readonly'], policies: [] } },
  };
}

/** slapd's completed-operation counters (cn=Operations,cn=Monitor), total and by kind. */
async function ldapOps(slapd) {
  const r = await slapd.admin((c) => c.search('cn=Operations,cn=Monitor', { scope: 'sub', attributes: ['monitorOpCompleted'] }));
  const out = {};
  for (const e of r.searchEntries) {
    const m = /^cn=([^,]+),cn=Operations,cn=Monitor$/i.exec(e.dn);
    out[m ? m[1].toLowerCase() : 'total'] = Number(e.monitorOpCompleted);
  }
  return out;
}

function opsDelta(a, b, overhead) {
  const d = {};
  for (const k of Object.keys(b)) d[k] = b[k] - (a[k] ?? 0) - (overhead[k] ?? 0);
  return d;
}

/** What reading the counters itself costs (bind, search, unbind of the admin connection). */
async function ldapOpsOverhead(slapd) {
  const a = await ldapOps(slapd);
  const b = await ldapOps(slapd);
  return opsDelta(a, b, {});
}

function perDetailee(d, n) {
  const kinds = ['bind', 'search', 'add', 'modify', 'delete', 'extended', 'unbind'].filter((k) => d[k]).map((k) => `${k} ${fmt(d[k] / n, 1)}`);
  return `${fmt(d.total / n, 1)} (${kinds.join(', ')})`;
}

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((x, y) => x + y, 0) / s.length;
  return `mean ${fmt(mean)} ms, median ${fmt(median(s))} ms, p95 ${fmt(s[Math.min(s.length - 1, Math.floor(s.length * 0.95))])} ms`;
}

function cpuMs(u) {
  return (u.user + u.system) / 1000;
}

/**
 * CPU time (ms) of this world's slapd and moto_server, from /proc/PID/stat: the processes this
 * script started, found by the loopback port on their command line.
 */
function serverCpu(w) {
  const out = { slapd: NaN, moto: NaN };
  let pids;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const which = cmd.some((a) => a.endsWith('slapd')) && cmd.includes(`ldap://127.0.0.1:${w.slapd.port}/`) ? 'slapd' : cmd.some((a) => a.endsWith('moto_server')) && cmd.includes(String(w.moto.port)) ? 'moto' : undefined;
      if (!which) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      out[which] = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime, stime
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

function serverCpuDelta(a, b, n) {
  return `slapd ${fmt((b.slapd - a.slapd) / n, 1)} ms, moto ${fmt((b.moto - a.moto) / n, 1)} ms`;
}

/**
 * A context whose openTargets keeps every target it opens, so their request counters can be read,
 * and tallies IAM requests by operation (the target's onCall hook; same target otherwise).
 */
async function countingCtx(w) {
  const { openTargets } = await dist('src/targets/index.js');
  const { createIamTarget } = await dist('src/targets/aws/index.js');
  const opened = [];
  const byOp = new Map();
  const onCall = (op) => byOp.set(op, (byOp.get(op) ?? 0) + 1);
  const ctx = w.ctx({
    openTargets: async () => {
      const ts = [...(await openTargets(w.config, w.clock, ['ldap'])), await createIamTarget(w.config.targets.aws, { clock: w.clock, onCall })];
      opened.push(...ts);
      return ts;
    },
  });
  const iamCalls = () => opened.filter((t) => t.name === 'aws').reduce((s, t) => s + t.calls, 0);
  const snapshot = () => new Map(byOp);
  /** IAM requests per detailee by operation since `before`, most frequent first. */
  const opsSince = (before, n) =>
    [...byOp]
      .map(([op, c]) => [op, c - (before.get(op) ?? 0)])
      .filter(([, c]) => c > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([op, c]) => `${op} ${fmt(c / n, 1)}`)
      .join(', ');
  return { ctx, iamCalls, opened, snapshot, opsSince };
}

async function onboardAndRevoke() {
  const { startWorld } = await dist('test/helpers/world.js');
  const { prepareOnboarding, applyOnboarding } = await dist('src/lifecycle/onboard.js');
  const { revokeAssignment } = await dist('src/lifecycle/revoke.js');
  const w = await startWorld();
  try {
    const files = Array.from({ length: N_ONBOARD }, (_, i) => w.signedManifest(overrides('ob', i)));
    const { ctx, iamCalls, opened, snapshot, opsSince } = await countingCtx(w);
    const overhead = await ldapOpsOverhead(w.slapd);

    // Warm-up outside the measurement: one detailee through both, so first-call module loading
    // is not charged to the measured ones.
    const warm = w.signedManifest(overrides('wu', 0));
    await applyOnboarding(ctx, await prepareOnboarding(ctx, warm, undefined));

    // --- onboarding: verify signatures, plan, journal, apply, read back, record ---
    let ops0 = await ldapOps(w.slapd);
    let iam0 = iamCalls();
    let byOp0 = snapshot();
    let opened0 = opened.length;
    let srv0 = serverCpu(w);
    let cpu0 = process.cpuUsage();
    const onboardMs = [];
    let onboardFailed = 0;
    for (const f of files) {
      const t = performance.now();
      const r = await applyOnboarding(ctx, await prepareOnboarding(ctx, f, undefined));
      onboardMs.push(performance.now() - t);
      if (r.targets.length !== 2 || !r.targets.every((x) => x.ok)) onboardFailed++;
    }
    const onboardCpu = cpuMs(process.cpuUsage(cpu0));
    const onboardSrv = serverCpuDelta(srv0, serverCpu(w), N_ONBOARD);
    const onboardIam = iamCalls() - iam0;
    const onboardByOp = opsSince(byOp0, N_ONBOARD);
    const onboardOpened = opened.length - opened0;
    const onboardLdap = opsDelta(ops0, await ldapOps(w.slapd), overhead);

    // --- revocation (by hand, `detailee revoke`): disable, read back, record evidence ---
    w.clock.set('2025-03-03T15:00:00Z');
    await revokeAssignment(ctx, 'wu-0000', { reason: 'benchmark warm-up', finalState: 'revoked' });
    ops0 = await ldapOps(w.slapd);
    iam0 = iamCalls();
    byOp0 = snapshot();
    opened0 = opened.length;
    srv0 = serverCpu(w);
    cpu0 = process.cpuUsage();
    const revokeMs = [];
    let revokeIncomplete = 0;
    for (let i = 0; i < N_ONBOARD; i++) {
      const t = performance.now();
      const r = await revokeAssignment(ctx, overrides('ob', i).id, { reason: 'benchmark', finalState: 'revoked' });
      revokeMs.push(performance.now() - t);
      if (!r.complete) revokeIncomplete++;
    }
    const revokeCpu = cpuMs(process.cpuUsage(cpu0));
    const revokeSrv = serverCpuDelta(srv0, serverCpu(w), N_ONBOARD);
    const revokeIam = iamCalls() - iam0;
    const revokeByOp = opsSince(byOp0, N_ONBOARD);
    const revokeOpened = opened.length - opened0;
    const revokeLdap = opsDelta(ops0, await ldapOps(w.slapd), overhead);

    const n = N_ONBOARD;
    console.log(`targets: onboard ${n} detailees one by one (slapd + moto on loopback, in-process): wall per detailee ${stats(onboardMs)}; ${onboardFailed} not ok`);
    console.log(`targets: onboard, per detailee: IAM requests ${fmt(onboardIam / n, 1)} (${onboardByOp}); LDAP operations ${perDetailee(onboardLdap, n)}; targets opened ${fmt(onboardOpened / n, 1)}`);
    console.log(`targets: onboard, detailee's own CPU ${fmt(onboardCpu / n, 1)} ms per onboarding (target <= 25 ms; signature check, YAML + zod, SQLite store + audit, ldapts, AWS SDK); server CPU per onboarding: ${onboardSrv}`);
    console.log(`targets: revoke ${n} detailees one by one: wall per detailee ${stats(revokeMs)}; ${revokeIncomplete} incomplete`);
    console.log(`targets: revoke, per detailee: IAM requests ${fmt(revokeIam / n, 1)} (${revokeByOp}); LDAP operations ${perDetailee(revokeLdap, n)}; targets opened ${fmt(revokeOpened / n, 1)}`);
    console.log(`targets: revoke, detailee's own CPU ${fmt(revokeCpu / n, 1)} ms per revocation; server CPU per revocation: ${revokeSrv}`);
  } finally {
    await w.close();
  }
}

/** A fresh world with n onboarded assignments (all the same term), then runExpire past their end. */
async function expireRun(n, concurrency, label) {
  const { startWorld } = await dist('test/helpers/world.js');
  const { prepareOnboarding, applyOnboarding } = await dist('src/lifecycle/onboard.js');
  const { runExpire } = await dist('src/lifecycle/expire.js');
  const { openTargets } = await dist('src/targets/index.js');
  const w = await startWorld();
  try {
    // Seeding: real onboardings (so the accounts exist on both targets exactly as in production),
    // under the world's fixed clock, sharing one pair of targets to save connection set-up.
    const t0 = performance.now();
    const shared = await openTargets(w.config, w.clock);
    const seedCtx = w.ctx({ openTargets: async () => shared });
    const origClose = shared.map((t) => t.close);
    for (const t of shared) t.close = async () => undefined; // applyOnboarding closes its targets
    try {
      for (let i = 0; i < n; i++) {
        const f = w.signedManifest(overrides(label, i));
        const r = await applyOnboarding(seedCtx, await prepareOnboarding(seedCtx, f, undefined));
        if (!r.targets.every((x) => x.ok)) throw new Error(`seeding ${f} failed: ${JSON.stringify(r.targets)}`);
      }
    } finally {
      shared.forEach((t, i) => (t.close = origClose[i]));
      for (const t of shared) await t.close();
    }
    const seedS = (performance.now() - t0) / 1000;

    // Past the end of the term (2025-06-06T00:00-04:00): every one of them is due.
    w.clock.set('2025-06-06T05:00:00Z');
    const { ctx, iamCalls } = await countingCtx(w);
    const srv0 = serverCpu(w);
    const cpu0 = process.cpuUsage();
    const t1 = performance.now();
    const report = await runExpire(ctx, { dryRun: false, concurrency });
    const wallS = (performance.now() - t1) / 1000;
    const cpu = cpuMs(process.cpuUsage(cpu0));
    const srv = serverCpuDelta(srv0, serverCpu(w), n);
    const verified = report.revoked.filter((r) => r.complete).length;
    // Independent check: the store records each as expired with complete evidence from both targets.
    let recorded = 0;
    for (const s of await w.store.listSummaries(['expired'])) {
      const rec = await w.store.getAssignment(s.id);
      if (rec?.data?.revocation?.complete === true && rec.data.revocation.targets.length === 2) recorded++;
    }
    return { n, concurrency, seedS, wallS, verified, recorded, failed: report.failed.length, iam: iamCalls(), cpu, srv };
  } finally {
    await w.close();
  }
}

function printExpire(r, target) {
  console.log(
    `targets: expire (runExpire), ${r.n} due, concurrency ${r.concurrency}: ${fmt(r.verified / r.wallS, 1)} verified revocations/s` +
      `${target ? ` (target >= ${target}/s)` : ''} — ${r.verified} verified in ${fmt(r.wallS, 2)} s; ${r.recorded} recorded complete in the store; ${r.failed} failures`,
  );
  console.log(
    `targets: expire, concurrency ${r.concurrency}, per revocation: IAM requests ${fmt(r.iam / r.n, 1)}; detailee's own CPU ${fmt(r.cpu / r.n, 1)} ms; server CPU ${r.srv} [seeded by onboarding in ${fmt(r.seedS, 1)} s, not timed]`,
  );
}

export async function benchTargets() {
  await onboardAndRevoke();
  printExpire(await expireRun(N_EXPIRE, DEFAULT_CONCURRENCY, 'xa'), 20);
  printExpire(await expireRun(N_EXPIRE, 1, 'xb'));
}
