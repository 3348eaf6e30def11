/**
 * The README's main-job command: start a local slapd and moto on free loopback ports (and, where
 * Samba is installed and may bind its ports, an Active Directory DC on a loopback address of its
 * own), run the whole lifecycle through the CLI, and leave the certificate in
 * demo-output/certificates.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startMoto } from '../test/helpers/moto.js';
import { adServers, sambaInstalled, startSambaDC, type SambaDC } from '../test/helpers/samba.js';
import { startSlapd } from '../test/helpers/slapd.js';
import { ROOT, runLifecycle } from '../test/helpers/scenario.js';

const out = resolve(process.argv[2] ?? join(ROOT, 'demo-output'));
rmSync(out, { recursive: true, force: true });
const slapd = await startSlapd();
const moto = await startMoto();
let noAd = process.env.DETAILEE_DEMO_AD === '0' ? 'DETAILEE_DEMO_AD=0' : sambaInstalled() ? undefined : 'Samba is not installed (scripts/demo.sh installs it when run as root)';
let dc: SambaDC | undefined;
let failed = false;
try {
  await slapd.addGroup('modernization');
  await moto.createGroup('detailee-readonly');
  if (noAd === undefined) {
    try {
      dc = await startSambaDC();
      await dc.addGroup('modernization');
    } catch (e) {
      // Samba binds the LDAP ports 389/636: without root (or CAP_NET_BIND_SERVICE) it cannot.
      await dc?.stop();
      dc = undefined;
      noAd = `the DC did not start: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  console.log(dc ? `Active Directory leg: a Samba DC at ${dc.url}` : `Active Directory leg skipped: ${noAd}`);
  const steps = runLifecycle(out, {
    ldap: { url: slapd.url, bindDN: slapd.bindDN, password: slapd.password, peopleDN: slapd.peopleDN, groupsDN: slapd.groupsDN },
    awsEndpoint: moto.endpoint,
    ...(dc ? { ad: adServers(dc, ['modernization']) } : {}),
  });
  for (const s of steps) {
    const ok = s.exit === 0;
    failed ||= !ok;
    console.log(`${ok ? 'ok  ' : 'FAIL'} [exit ${s.exit}] ${s.now}  detailee ${s.args.filter((a) => !a.startsWith('/')).join(' ')}`);
    if (!ok) console.log(`     ${s.stderr.trim() || JSON.stringify(s.json)}`);
  }
  console.log(`\nCertificate (JSON, Markdown, PDF): ${join(out, 'certificates')}`);
  console.log(`Notices: ${join(out, 'outbox')}    Store: ${join(out, 'detailee.db')}`);
} finally {
  await slapd.stop();
  await moto.stop();
  await dc?.stop();
}
process.exitCode = failed ? 1 : 0;
