/**
 * The whole lifecycle, driven through the built CLI exactly as an officer would: used by the
 * README's demo command and by the end-to-end test. Every step pins DETAILEE_NOW, so the story
 * (a 120-day detail from 2025-02-06) replays the same way on any day.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/** The package root, whether this runs from test/helpers/ (tests) or dist/test/helpers/ (the demo). */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) || !readFileSync(join(d, 'package.json'), 'utf8').includes('"name": "detailee"')) {
    const up = resolve(d, '..');
    if (up === d) throw new Error('cannot find the detailee package root');
    d = up;
  }
  return d;
})();
const RUN = join(ROOT, 'bin', 'run.js');

export interface Servers {
  ldap: { url: string; bindDN: string; password: string; peopleDN: string; groupsDN: string };
  awsEndpoint: string;
  /** An Active Directory DC (Samba) as a third target: the detailee gets `groups` there too. */
  ad?: { url: string; bindDN: string; password: string; usersDN: string; groupsDN: string; upnSuffix: string; caCertificate: string; groups: string[] };
}

export interface StepOutput {
  step: string;
  args: string[];
  now: string;
  exit: number;
  json: unknown;
  stderr: string;
}

let jsonCheck: ((args: readonly string[], json: unknown) => void) | undefined;
/** The test suite checks every `--json` output cli() sees against its schema (test/helpers/json-check-setup.ts). */
export function setJsonOutputCheck(check: typeof jsonCheck): void {
  jsonCheck = check;
}

export function cli(dir: string, args: string[], now: string, extraEnv: Record<string, string> = {}): StepOutput {
  const r = spawnSync(process.execPath, [RUN, ...args], {
    cwd: dir,
    env: {
      ...process.env,
      DETAILEE_CONFIG: join(dir, 'detailee.yaml'),
      DETAILEE_NOW: now,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      // The fast status start keeps its validated config here: inside the run's folder, not $HOME.
      XDG_CACHE_HOME: join(dir, '.cache'),
      ...extraEnv,
    },
    encoding: 'utf8',
    input: '',
  });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = r.stdout;
  }
  jsonCheck?.(args, json);
  return { step: args.slice(0, 2).join(' '), args, now, exit: r.status ?? -1, json, stderr: r.stderr };
}

/** Config, demo keys and the signed example manifest in `dir`, pointed at the given servers. */
export function prepare(dir: string, servers: Servers): { manifest: string; answers: string; approverKey: string } {
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const init = cli(dir, ['init', '--dir', dir, '--timezone', 'America/New_York', '--force', '--json'], '2025-02-01T14:00:00Z');
  if (init.exit !== 0) throw new Error(`init failed: ${init.stderr}`);
  const approver = generateKeyPairSync('ed25519');
  const approverKey = join(dir, 'keys', 'alan.turing.pem');
  writeFileSync(approverKey, approver.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'keys', 'alan.turing.pub.pem'), approver.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'secrets', 'ldap'), `${servers.ldap.password}\n`, { mode: 0o600 });
  const ad = servers.ad;
  if (ad) writeFileSync(join(dir, 'secrets', 'ad'), `${ad.password}\n`, { mode: 0o600 });
  const cfgPath = join(dir, 'detailee.yaml');
  const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  cfg.trust = { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'keys/alan.turing.pub.pem' }], caCertificates: [], crls: [], requiredRoles: ['approver'] };
  cfg.targets = {
    ldap: {
      url: servers.ldap.url,
      bindDN: servers.ldap.bindDN,
      bindPasswordFile: 'secrets/ldap',
      peopleDN: servers.ldap.peopleDN,
      groupsDN: servers.ldap.groupsDN,
    },
    aws: { region: 'us-east-1', endpoint: servers.awsEndpoint, path: '/detailees/' },
    ...(ad
      ? { ad: { url: ad.url, bindDN: ad.bindDN, bindPasswordFile: 'secrets/ad', usersDN: ad.usersDN, groupsDN: ad.groupsDN, upnSuffix: ad.upnSuffix, caCertificate: ad.caCertificate } }
      : {}),
  };
  writeFileSync(cfgPath, stringify(cfg));
  const manifest = join(dir, 'assignment.yaml');
  const example = readFileSync(join(ROOT, 'examples', 'assignment.yaml'), 'utf8');
  if (ad) {
    const doc = parse(example) as { access: Record<string, unknown> };
    doc.access.ad = { groups: ad.groups };
    writeFileSync(manifest, stringify(doc));
  } else {
    writeFileSync(manifest, example);
  }
  const answers = join(dir, 'answers.yaml');
  writeFileSync(answers, readFileSync(join(ROOT, 'examples', 'answers.yaml')));
  return { manifest, answers, approverKey };
}

/** verify → onboard → fti record → expire → offboard → certificate verify. */
export function runLifecycle(dir: string, servers: Servers): StepOutput[] {
  const { manifest, answers, approverKey } = prepare(dir, servers);
  const steps: StepOutput[] = [];
  const run = (args: string[], now: string) => {
    const out = cli(dir, [...args, '--json'], now);
    steps.push(out);
    return out;
  };
  run(['assignment', 'sign', manifest, '--key', approverKey, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z');
  run(['assignment', 'verify', manifest], '2025-02-03T15:05:00Z');
  run(['onboard', manifest, '--yes'], '2025-02-05T15:00:00Z');
  run(['fti', 'record', 'irs-2025-0042', '--description', 'TY2021 anonymized extract batch 7', '--type', 'return transcripts', '--tax-years', '2021', '--records', '250', '--media', 'paper', '--location', 'Bldg 2, Room 114, safe 3', '--received', '2025-03-03'], '2025-03-03T16:00:00Z');
  run(['fti', 'record', 'irs-2025-0042', '--description', 'TY2019-2021 sample extract', '--type', 'return information', '--tax-years', '2019-2021', '--records', '1200', '--media', 'ssd', '--location', 'laptop IRS-LT-0042', '--received', '2025-04-01'], '2025-04-01T16:00:00Z');
  run(['expire'], '2025-05-07T06:00:00Z'); // 30-day notice
  run(['expire'], '2025-06-06T06:00:00Z'); // the night after the last day: revoked
  run(['status'], '2025-06-06T12:00:00Z');
  run(['offboard', 'irs-2025-0042', '--answers', answers], '2025-06-10T14:00:00Z');
  run(['audit', 'verify'], '2025-06-10T14:05:00Z');
  const off = steps[steps.length - 2]!.json as { certificate?: { files: { pdf: string; json: string } } };
  if (off.certificate) {
    run(['certificate', 'verify', off.certificate.files.pdf, '--key', join(dir, 'keys', 'certificate-signing.pub.pem')], '2025-06-10T14:10:00Z');
  }
  return steps;
}
