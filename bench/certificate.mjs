// Certificate generation for an assignment with 50 FTI log entries and 50 dispositions:
// buildCertificate + signCertificate + renderMarkdown + renderPdf (dist/src/offboarding, which
// renders with the bundled PDF libraries of dist/vendor/pdf.js, as the built CLI does).
//   - in-process: median of RUNS after one warm-up, with the median of each stage;
//   - in a fresh `node` process that does it once (`node bench/certificate.mjs --once`): wall time
//     beyond process start = median wall time minus the median of `node -e 0`, and the same for
//     CPU time (user + system, as the process reports it at exit), since the machine may be shared.
// The answers are checked with checkAnswers first (a certificate is only built from checked
// answers); that step is timed and shown separately.
// Usage: node bench/run.mjs certificate
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, ROOT } from './lib.mjs';

const N = 50;
const RUNS = 9;
const FRESH_RUNS = 7;
const ASSIGNMENT = 'irs-2025-0042';
const TODAY = '2025-06-06';
const SELF = fileURLToPath(import.meta.url);

const dist = (p) => import(join(ROOT, 'dist', 'src', 'offboarding', p));

/**
 * 50 entries over the media an assignment typically collects, each with a disposition that passes
 * src/offboarding/rules.ts (patterned on test/helpers/offboarding-fixtures.ts): paper cross-cut
 * shredded, USB sticks shredded, laptop drives purged with make/model/serial, cloud buckets
 * crypto-erased, optical discs destroyed, and one in five items returned to the source.
 */
function fixture(ftiEntryId) {
  const kinds = [
    { media: 'paper', description: 'Printed case summaries', d: { action: 'destroyed', method: 'Destroy', technique: 'cross-cut shred 1x5 mm', tool: { name: 'Intimus 007 S', version: 'model 2019' }, destination: 'recycling facility' } },
    { media: 'usb', description: 'Encrypted USB stick with extract', d: { action: 'destroyed', method: 'Destroy', technique: 'shred', details: '2 mm particles', tool: { name: 'SEM 0202', version: '2021' }, destination: 'recycling facility' } },
    { media: 'hdd', description: 'Laptop drive of workstation', d: { action: 'destroyed', method: 'Purge', technique: 'ATA sanitize overwrite', details: 'one pass, zeros', tool: { name: 'hdparm', version: '9.65' }, destination: 'internal reuse', media: { make: 'Seagate', model: 'ST1000', serialNumber: 'ZN1A2B3C', propertyNumber: 'IRS-PROP-5521' } } },
    { media: 'cloud', description: 'S3 bucket (SSE-KMS) with extract', location: 'AWS us-east-1', d: { action: 'destroyed', method: 'Purge', technique: 'crypto-erase', details: 'KMS key scheduled for deletion', tool: { name: 'AWS KMS', version: '2025-06' }, destination: 'other', encryptedFromStart: true, keyCopiesDestroyed: true } },
    { media: 'paper', description: 'Transcripts, returned', d: { action: 'returned', receipt: 'Receipt signed by the IRS Office of Safeguards' } },
    { media: 'optical', description: 'DVD with scanned returns', d: { action: 'destroyed', method: 'Destroy', technique: 'shred', details: '2 mm particles', tool: { name: 'SEM 0202', version: '2021' }, destination: 'recycling facility' } },
  ];
  const entries = [];
  const dispositions = [];
  for (let i = 0; i < N; i++) {
    const k = kinds[i % kinds.length];
    const id = ftiEntryId(ASSIGNMENT, i + 1);
    entries.push({
      id,
      assignmentId: ASSIGNMENT,
      recordedAt: '2025-03-01T14:00:00.000Z',
      recordedBy: 'officer.kim',
      description: `${k.description}, batch ${i + 1}`,
      type: 'IRTF extract',
      taxYears: [2019 + (i % 3), 2021],
      records: 40 + i,
      media: k.media,
      location: k.location ?? 'HQ room 4-210, safe B',
      received: '2025-03-01',
    });
    const verifiedBy = k.d.action === 'destroyed' ? { verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' } } : {};
    dispositions.push({ entry: id, date: '2025-06-05', ...verifiedBy, ...k.d });
  }
  const answers = {
    performedBy: { name: 'Pat Lee', title: 'IT Specialist', organization: 'IRS IT', location: 'HQ, room 4-210', phone: '202-555-0143' },
    validatedBy: { name: 'Dana Cruz', title: 'Disclosure Manager', organization: 'IRS Privacy', location: 'HQ, room 3-100', phone: '202-555-0199' },
    dispositions,
    propertyReturned: ['badge', 'laptop', 'PIV card'],
    acknowledgement: { signedOn: '2025-06-05' },
  };
  return { entries, answers };
}

function certificateInput(entries, answers) {
  return {
    assignment: {
      id: ASSIGNMENT,
      detailee: { givenName: 'Ada', familyName: 'Byron', username: 'abyron', homeAgency: 'General Services Administration' },
      host: { agency: 'Internal Revenue Service', office: 'IT Modernization' },
      agreement: { reference: 'MOU-2025-017', sha256: 'a'.repeat(64) },
      term: { start: '2025-02-06', lastDay: '2025-06-05', endsAt: '2025-06-06T00:00:00.000-04:00' },
    },
    entries,
    answers,
    revocation: {
      revokedAt: '2025-06-06T04:00:00.000Z',
      targets: [
        { target: 'ldap', verifiedAt: '2025-06-06T04:00:05.000Z', evidence: ['pwdAccountLockedTime=000001010000Z', 'member of no groups'] },
        { target: 'aws', verifiedAt: '2025-06-06T04:00:09.000Z', evidence: ['access keys inactive', 'login profile absent', 'DenyAll attached'] },
      ],
    },
    auditHead: { seq: 4242, hash: 'b'.repeat(64) },
    issuedAt: '2025-06-06T15:00:00.000Z',
    issuer: 'officer.kim',
  };
}

/** Load the modules, check the answers, and return a function that generates the certificate once. */
async function prepare() {
  const [{ buildCertificate }, { signCertificate, generateSigningKey }, { checkAnswers }, { renderMarkdown }, { renderPdf }, { loadPdfModules }, { ftiEntryId }] = await Promise.all([
    dist('certificate.js'),
    dist('certificate-sign.js'),
    dist('rules.js'),
    dist('render-markdown.js'),
    dist('render-pdf.js'),
    dist('pdf-libraries.js'),
    dist('fti.js'),
  ]);
  // As offboarding does, ahead of the first certificate: the PDF stage is then rendering only.
  await loadPdfModules();
  const key = generateSigningKey().privatePem;
  const { entries, answers: raw } = fixture(ftiEntryId);
  const check = () => checkAnswers(raw, entries, TODAY);
  /** The four steps; stage times in ms. */
  async function generate(answers) {
    const t = [performance.now()];
    const cert = buildCertificate(certificateInput(entries, answers));
    t.push(performance.now());
    const signed = signCertificate(cert, key);
    t.push(performance.now());
    const md = await renderMarkdown(signed);
    t.push(performance.now());
    const pdf = await renderPdf(signed);
    t.push(performance.now());
    if (cert.media.length !== N || md.length === 0 || pdf.length === 0) throw new Error('certificate generation produced nothing');
    return { build: t[1] - t[0], sign: t[2] - t[1], markdown: t[3] - t[2], pdf: t[4] - t[3], total: t[4] - t[0], pdfBytes: pdf.length };
  }
  return { check, generate };
}

/** The fresh-process case: everything from module loading to the PDF, once. */
async function once() {
  const start = performance.now();
  const { check, generate } = await prepare();
  const loaded = performance.now();
  const answers = check();
  const checked = performance.now();
  const r = await generate(answers);
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({ ...r, start, load: loaded - start, check: checked - loaded, sinceStart: performance.now(), cpu: (cpu.user + cpu.system) / 1000 }));
}

/**
 * How often one renderPdf reads a font file, in a process of its own: the bundled PDF libraries
 * take fs.readFileSync when they are loaded (as the built CLI loads them), so it is replaced first.
 */
async function fontReads() {
  const orig = fs.readFileSync;
  const byFile = {};
  let total = 0;
  fs.readFileSync = function (path, ...rest) {
    if (typeof path === 'string' && /\.(ttf|otf|afm)$/i.test(path)) {
      const name = path.split('/').pop();
      byFile[name] = (byFile[name] ?? 0) + 1;
      total++;
    }
    return orig.call(this, path, ...rest);
  };
  syncBuiltinESMExports(); // the packages import readFileSync by name: update that binding too
  const { check, generate } = await prepare();
  await generate(check());
  console.log(JSON.stringify({ total, byFile }));
}

function wall(args, env = {}) {
  const t = process.hrtime.bigint();
  const e = { ...process.env, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT, env: e });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

export async function benchCertificate() {
  // In-process.
  const { check, generate } = await prepare();
  await generate(check()); // warm-up
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const answers = check();
    const checkMs = performance.now() - t;
    runs.push({ check: checkMs, ...(await generate(answers)) });
  }
  const m = (k) => median(runs.map((r) => r[k]));
  console.log(
    `certificate: ${N} FTI entries / ${N} dispositions, build + sign + Markdown + PDF in a warm process: median ${fmt(m('total'))} ms of ${RUNS} ` +
      `(build ${fmt(m('build'))}, sign ${fmt(m('sign'))}, Markdown ${fmt(m('markdown'))}, PDF ${fmt(m('pdf'))} ms; PDF ${fmt(runs[0].pdfBytes / 1024)} KiB); checkAnswers ${fmt(m('check'))} ms`,
  );

  // Diagnosis: how often one renderPdf reads a font file (pdfkit reads fonts with fs.readFileSync).
  // A font opened once per document would be 2 reads (regular, bold).
  const reads = JSON.parse(wall([SELF, '--font-reads']).stdout);
  console.log(`certificate: one PDF reads font files ${reads.total} times (${Object.entries(reads.byFile).map(([f, c]) => `${f} ${c}`).join(', ')}); each read is followed by a full fontkit parse`);

  // Fresh process, once; minus the cost of starting node at all. Once without and once with
  // Node's module compile cache (bin/run.js enables it, so the CLI has it from its second run).
  const base = median(Array.from({ length: FRESH_RUNS }, () => wall(['-e', '0']).ms));
  // Its CPU time from runs of their own, so the wall figure's baseline stays `node -e 0` exactly.
  const baseCpu = median(Array.from({ length: FRESH_RUNS }, () => Number(wall(['-e', 'const u = process.cpuUsage(); console.log((u.user + u.system) / 1000)']).stdout)));
  const cache = mkdtempSync(join(tmpdir(), 'detailee-bench-ccache-'));
  try {
    for (const [label, env] of [['no compile cache', { NODE_COMPILE_CACHE: undefined }], ['compile cache', { NODE_COMPILE_CACHE: cache }]]) {
      wall([SELF, '--once'], env); // warm the file cache (and fill the compile cache)
      const fresh = Array.from({ length: FRESH_RUNS }, () => {
        const r = wall([SELF, '--once'], env);
        return { ms: r.ms, ...JSON.parse(r.stdout) };
      });
      const fm = (k) => median(fresh.map((r) => r[k]));
      console.log(
        `certificate: fresh \`node\` process (${label}), once: ${fmt(fm('ms'))} ms wall - node -e 0 ${fmt(base)} ms = ${fmt(fm('ms') - base)} ms beyond process start (target <= 300 ms); ` +
          `CPU ${fmt(fm('cpu'))} - ${fmt(baseCpu)} ms = ${fmt(fm('cpu') - baseCpu)} ms beyond start; ` +
          `inside it: node start ${fmt(fm('start'))} ms, module loading (the PDF libraries included) ${fmt(fm('load'))}, answer check ${fmt(fm('check'))}, build ${fmt(fm('build'))}, sign ${fmt(fm('sign'))}, Markdown ${fmt(fm('markdown'))}, PDF rendering ${fmt(fm('pdf'))} ms`,
      );
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

if (process.argv[1] === SELF && process.argv.includes('--once')) await once();
if (process.argv[1] === SELF && process.argv.includes('--font-reads')) await fontReads();
