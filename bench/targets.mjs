// Onboard then revoke 200 detailees, and 500 end-of-term revocations by the nightly job, against a
// local slapd and moto started on loopback ports. Runs in-process through the library.
import { join } from 'node:path';
import { fmt, ROOT } from './lib.mjs';

const lib = (p) => import(join(ROOT, 'dist', p));

async function monitorOps(slapd) {
  // Completed operations as slapd's own monitor counts them.
  return slapd.admin(async (c) => {
    const r = await c.search('cn=Operations,cn=Monitor', { scope: 'base', attributes: ['monitorOpCompleted'] });
    return Number(r.searchEntries[0]?.monitorOpCompleted ?? NaN);
  });
}

export async function benchTargets() {
  const { startWorld } = await lib('test/helpers/world.js');
  const { prepareOnboarding, applyOnboarding } = await lib('src/lifecycle/onboard.js');
  const { revokeAssignment } = await lib('src/lifecycle/revoke.js');
  const { runExpire } = await lib('src/lifecycle/expire.js');
  const { openTargets } = await lib('src/targets/index.js');
  const w = await startWorld();
  try {
    let iamCalls = 0;
    const ctxCounting = () =>
      w.ctx({
        openTargets: async () => {
          const ts = await openTargets(w.config, w.clock);
          return ts.map((t) => (t.name === 'aws' ? new Proxy(t, { get: (o, k) => (k === 'close' ? async () => { iamCalls += o.calls; await o.close(); } : typeof o[k] === 'function' ? o[k].bind(o) : o[k]) }) : t));
        },
      });
    const N = 200;
    const files = [];
    for (let i = 0; i < N; i++) {
      const id = `bench-${String(i).padStart(4, '0')}`;
      files.push([id, w.signedManifest({ id, detailee: { givenName: 'B', familyName: `U${i}`, email: `b${i}@gsa.example.gov`, username: `bench${i}`, homeAgency: 'GSA' } }, `${id}.yaml`)]);
    }
    w.clock.set('2025-02-05T15:00:00Z');
    let ops0 = await monitorOps(w.slapd);
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    for (const [, f] of files) {
      const ctx = ctxCounting();
      await applyOnboarding(ctx, await prepareOnboarding(ctx, f, undefined));
    }
    const onboardMs = (performance.now() - t0) / N;
    const cpu = process.cpuUsage(cpu0);
    const onboardCpu = (cpu.user + cpu.system) / 1000 / N;
    const onboardLdap = ((await monitorOps(w.slapd)) - ops0) / N;
    const onboardIam = iamCalls / N;
    iamCalls = 0;
    ops0 = await monitorOps(w.slapd);
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    for (const [id] of files) await revokeAssignment(ctxCounting(), id, { reason: 'bench', finalState: 'revoked' });
    const revokeMs = (performance.now() - t0) / N;
    const rcpu = process.cpuUsage(cpu0);
    console.log(`targets: onboard ${N}: ${fmt(onboardMs)} ms wall per detailee, tool CPU ${fmt(onboardCpu)} ms per onboarding (target <= 25; includes signature check, store, audit), LDAP ops ${fmt(onboardLdap)}, IAM calls ${fmt(onboardIam)} per detailee`);
    console.log(`targets: revoke ${N}: ${fmt(revokeMs)} ms wall per detailee, tool CPU ${fmt((rcpu.user + rcpu.system) / 1000 / N)} ms, LDAP ops ${fmt(((await monitorOps(w.slapd)) - ops0) / N)}, IAM calls ${fmt(iamCalls / N)} per detailee`);

    for (const [label, concurrency, prefix] of [['default (8)', 8, 'due8'], ['1', 1, 'due1']]) {
      const M = 500;
      w.clock.set('2025-02-05T15:00:00Z');
      for (let i = 0; i < M; i++) {
        const id = `${prefix}-${String(i).padStart(4, '0')}`;
        const f = w.signedManifest({ id, term: { start: '2025-02-06', days: 10, timezone: 'America/New_York' }, detailee: { givenName: 'D', familyName: `U${i}`, email: `${prefix}${i}@gsa.example.gov`, username: `${prefix}u${i}`, homeAgency: 'GSA' } }, `${id}.yaml`);
        const ctx = w.ctx();
        await applyOnboarding(ctx, await prepareOnboarding(ctx, f, undefined));
      }
      w.clock.set(label === '1' ? '2025-02-18T06:00:00Z' : '2025-02-17T06:00:00Z');
      const t = performance.now();
      const r = await runExpire(w.ctx(), { dryRun: false, concurrency });
      const s = (performance.now() - t) / 1000;
      const ok = r.revoked.filter((x) => x.complete && x.id.startsWith(prefix)).length;
      console.log(`targets: nightly job, ${M} due, concurrency ${label}: ${ok} verified revocations in ${fmt(s, 2)} s = ${fmt(ok / s)} per second (target >= 20 at the default)`);
    }
  } finally {
    await w.close();
  }
}
