// Certificate generation (JSON + Markdown + PDF) for 50 dispositions: in-process median, and the
// time beyond process start when a fresh node process does it once.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fmt, median, ROOT } from './lib.mjs';

const SCRIPT = `
const t0 = performance.now();
const { buildCertificate, signCertificate, generateSigningKey } = await import(${JSON.stringify(join(ROOT, 'dist/src/offboarding/certificate.js'))});
const { checkAnswers } = await import(${JSON.stringify(join(ROOT, 'dist/src/offboarding/rules.js'))});
const { renderMarkdown } = await import(${JSON.stringify(join(ROOT, 'dist/src/offboarding/render-markdown.js'))});
const { renderPdf } = await import(${JSON.stringify(join(ROOT, 'dist/src/offboarding/render-pdf.js'))});
const N = 50;
const entries = Array.from({ length: N }, (_, i) => ({
  id: 'F-' + String(i + 1).padStart(4, '0'), assignmentId: 'bench-1', recordedAt: '2025-03-01T14:00:00.000Z', recordedBy: 'officer',
  description: 'TY2021 extract batch ' + (i + 1), type: 'IRTF extract', taxYears: [2021], records: 40, media: 'paper',
  location: 'HQ room 4-210, safe B', received: '2025-03-01',
}));
const person = (name) => ({ name, title: 'Officer', organization: 'IRS', location: 'HQ', phone: '202-555-0100' });
const raw = {
  performedBy: person('Pat Lee'), validatedBy: person('Dana Cruz'),
  dispositions: entries.map((e) => ({ entry: e.id, action: 'destroyed', method: 'Destroy', technique: 'cross-cut shred 1x5 mm',
    tool: { name: 'Intimus 007S', version: '2023' }, date: '2025-06-05', verifiedBy: { name: 'Kim Ray', title: 'Security Specialist' },
    verification: 'full', destination: 'recycling facility' })),
  propertyReturned: ['badge', 'laptop'], acknowledgement: { signedOn: '2025-06-05' },
};
const key = generateSigningKey().privatePem;
async function once() {
  const answers = checkAnswers(raw, entries, '2025-06-06');
  const cert = buildCertificate({
    assignment: { id: 'bench-1', detailee: { givenName: 'Ada', familyName: 'Byron', username: 'abyron', homeAgency: 'GSA' }, host: { agency: 'IRS', office: 'IT' },
      agreement: { reference: 'MOU-1' }, term: { start: '2025-02-06', lastDay: '2025-06-05', endsAt: '2025-06-06T00:00:00-04:00' } },
    entries, answers, revocation: { revokedAt: '2025-06-06T04:00:00.000Z', targets: [{ target: 'ldap', verifiedAt: '2025-06-06T04:00:01.000Z', evidence: ['locked'] }] },
    auditHead: { seq: 10, hash: '0'.repeat(64) }, issuedAt: '2025-06-06T15:00:00.000Z', issuer: 'bench',
  });
  const signed = signCertificate(cert, key);
  const md = renderMarkdown(signed);
  const pdf = await renderPdf(signed);
  return md.length + pdf.length;
}
if (process.env.MODE === 'loop') {
  await once();
  const times = [];
  for (let i = 0; i < 9; i++) { const t = performance.now(); await once(); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median: times[4] }));
} else {
  await once();
  console.log(JSON.stringify({ total: performance.now() - t0 }));
}
`;

function run(mode) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { env: { ...process.env, MODE: mode }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { wall: Number(process.hrtime.bigint() - t) / 1e6, ...JSON.parse(r.stdout) };
}

export async function benchCertificate() {
  const loop = run('loop');
  const base = median(Array.from({ length: 7 }, () => {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    return Number(process.hrtime.bigint() - t) / 1e6;
  }));
  const fresh = median(Array.from({ length: 5 }, () => run('once').wall));
  console.log(`certificate: 50 dispositions, JSON + Markdown + PDF: ${fmt(loop.median)} ms in a warm process; ${fmt(fresh - base)} ms beyond process start in a fresh one (target <= 300)`);
}
