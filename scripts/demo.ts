/**
 * The README's main-job command: start a local slapd and moto on free loopback ports, run the
 * whole lifecycle through the CLI, and leave the certificate in demo-output/certificates.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startMoto } from '../test/helpers/moto.js';
import { startSlapd } from '../test/helpers/slapd.js';
import { ROOT, runLifecycle } from '../test/helpers/scenario.js';

const out = resolve(process.argv[2] ?? join(ROOT, 'demo-output'));
rmSync(out, { recursive: true, force: true });
const slapd = await startSlapd();
const moto = await startMoto();
let failed = false;
try {
  await slapd.addGroup('modernization');
  await moto.createGroup('detailee-readonly');
  const steps = runLifecycle(out, {
    ldap: { url: slapd.url, bindDN: slapd.bindDN, password: slapd.password, peopleDN: slapd.peopleDN, groupsDN: slapd.groupsDN },
    awsEndpoint: moto.endpoint,
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
}
process.exitCode = failed ? 1 : 0;
