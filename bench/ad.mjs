// Active Directory: provisioning and revocation per account against a real Samba AD DC on loopback,
// through the AD target as the lifecycle drives it (preflight, inspect, plan, apply each step,
// verify / prove; in-process, no CLI start-up and no store). Needs root and Samba
// (source .ci/deps.sh). For each account: wall time, LDAP operations sent (the target's onCall),
// this process's CPU and the DC's CPU (/proc/PID/stat of the samba process the helper started).
// Also the one-off costs: provisioning the domain template, and starting a DC from it.
// Usage: npm run build && node bench/ad.mjs   (BENCH_AD_N overrides the count, default 100)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, median, ROOT } from './lib.mjs';

const N = Number(process.env.BENCH_AD_N ?? 100);
const CLK_TCK = 100; // Linux USER_HZ
const dist = (p) => import(join(ROOT, 'dist', p));

function procCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function procRssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((x, y) => x + y, 0) / s.length;
  return `mean ${fmt(mean)} ms, median ${fmt(median(s))} ms, p95 ${fmt(s[Math.min(s.length - 1, Math.floor(s.length * 0.95))])} ms`;
}

const perAccount = (a, b, n) => {
  const d = Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] - a[k]) / n]));
  const total = Object.values(d).reduce((x, y) => x + y, 0);
  return `${fmt(total, 1)} (${Object.entries(d).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')})`;
};

export async function benchAd() {
  const { startSambaDC, sambaInstalled } = await dist('test/helpers/samba.js');
  const { createAdTarget } = await dist('src/targets/ad/index.js');
  if (!sambaInstalled()) {
    console.log('ad: skipped: Samba is not installed (source .ci/deps.sh as root)');
    return;
  }
  const t0 = performance.now();
  const dc = await startSambaDC();
  const firstStart = performance.now() - t0;
  // A second DC from the same template: what each test file pays once the template exists.
  const t1 = performance.now();
  const dc2 = await startSambaDC();
  const secondStart = performance.now() - t1;
  await dc2.stop();
  try {
    await dc.addGroup('Detailee Analysts');
    await dc.addGroup('vpn-users');
    const config = {
      url: dc.url,
      bindDN: dc.adminDN,
      bindPasswordEnv: 'UNUSED',
      usersDN: dc.usersDN,
      groupsDN: dc.groupsDN,
      upnSuffix: dc.upnSuffix,
      caCertificate: dc.caFile,
      mustChangePassword: true,
      timeoutMs: 30_000,
    };
    const real = Date.now();
    const clock = { now: () => new Date(real) };
    const operations = { bind: 0, search: 0, add: 0, modify: 0, delete: 0 };
    const ad = await createAdTarget(config, dc.adminPassword, { clock, onCall: (k) => operations[k]++ });
    // What the lifecycle does for one target: read, plan, apply each step, read back.
    const converge = async (intent, username) => {
      const steps = ad.plan(await ad.inspect(username, intent.kind), intent);
      for (const st of steps) await ad.apply(st);
      return ad.verify(intent);
    };
    const pid = dc.pid();
    const names = Array.from({ length: N }, (_, i) => `bench${String(i).padStart(4, '0')}`);

    const ops0 = { ...operations };
    const cpu0 = process.cpuUsage();
    const dcCpu0 = procCpuMs(pid);
    const provision = [];
    for (const u of names) {
      const s = performance.now();
      const intent = {
        kind: 'provision',
        desired: { assignmentId: `A-${u}`, username: u, givenName: 'Bench', familyName: u, email: `${u}@home.example.gov`, groups: ['Detailee Analysts', 'vpn-users'], policies: [], startsAt: new Date(real + 86_400_000).toISOString(), endsAt: new Date(real + 120 * 86_400_000).toISOString() },
      };
      await ad.preflight(intent);
      const v = await converge(intent, u);
      if (!v.ok) throw new Error(`provisioning of ${u} not verified: ${v.problems.join('; ')}`);
      provision.push(performance.now() - s);
    }
    const ops1 = { ...operations };
    const cpu1 = process.cpuUsage(cpu0);
    const dcCpu1 = procCpuMs(pid);

    const cpu2 = process.cpuUsage();
    const revoke = [];
    for (const u of names) {
      const s = performance.now();
      const v = await converge({ kind: 'revoke', assignmentId: `A-${u}`, username: u, revokedAt: new Date(real).toISOString() }, u);
      if (!v.ok) throw new Error(`revocation of ${u} not proven: ${v.problems.join('; ')}`);
      revoke.push(performance.now() - s);
    }
    const ops2 = { ...operations };
    const cpu3 = process.cpuUsage(cpu2);
    const dcCpu2 = procCpuMs(pid);
    const rss = procRssMb(pid);
    await ad.close();

    console.log(`ad: template provisioned and first DC answering LDAPS in ${fmt(firstStart / 1000, 1)} s; another DC from the template in ${fmt(secondStart / 1000, 1)} s; DC memory after the run ${fmt(rss)} MB RSS`);
    console.log(`ad: provision ${N} accounts (2 groups each, disabled before the start): ${stats(provision)} | LDAP operations per account ${perAccount(ops0, ops1, N)} | CPU per account: detailee ${fmt((cpu1.user + cpu1.system) / 1000 / N, 1)} ms, samba ${fmt((dcCpu1 - dcCpu0) / N, 1)} ms`);
    console.log(`ad: revoke ${N} accounts (disable, expire, new password, 2 groups removed, proof read): ${stats(revoke)} | LDAP operations per account ${perAccount(ops1, ops2, N)} | CPU per account: detailee ${fmt((cpu3.user + cpu3.system) / 1000 / N, 1)} ms, samba ${fmt((dcCpu2 - dcCpu1) / N, 1)} ms`);
  } finally {
    await dc.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAd();
