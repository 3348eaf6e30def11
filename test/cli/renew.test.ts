import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { ROOT, cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { signedExample, startCliServers, type CliServers } from '../helpers/servers.js';
import { onTerminal } from '../helpers/terminal.js';

/** Amendments through the built CLI: `assignment verify` of an amendment, and renew's plan, prompt rule, --dry-run and --yes, against real slapd and moto. */
let s: CliServers;
let dir: string;
let approverPem: string;
const ONBOARDED = '2025-02-05T15:00:00Z';
const LATER = '2025-05-20T15:00:00Z';

interface Preview {
  source: string;
  current: { lastDay: string; endsAt: string };
  renewed: { lastDay: string; endsAt: string; days: number };
  renewalsUsed: number;
  renewalsMax: number;
  renewalsLeft: number;
  alreadyApplied: boolean;
  problems: string[];
}
interface AmendmentResult {
  kind: string;
  assignment: string;
  valid: boolean;
  renewalDays: number;
  renewal: Preview | null;
}

beforeAll(async () => {
  s = await startCliServers();
  dir = tempDir('detailee-renew-');
  approverPem = readFileSync(prepare(dir, s.servers).approverKey, 'utf8');
});
afterAll(async () => {
  await s?.stop();
});

async function run(args: string[], now = LATER, env: Record<string, string> = {}): Promise<StepOutput> {
  const out = cli(dir, args, now, env);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

function amendment(name: string, assignment: string, renewalDays: number, sign = true): string {
  const f = join(dir, name);
  writeFileSync(f, stringify({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment, renewalDays, reason: `extension ${name}` }));
  if (sign) writeFileSync(`${f}.jws`, signJws(readFileSync(f), undefined, approverPem, 'alan.turing'));
  return f;
}

async function onboarded(id: string, username: string): Promise<string> {
  const f = signedExample(dir, approverPem, id, username);
  const out = await run(['onboard', f, '--yes', '--json'], ONBOARDED);
  expect(out.exit, out.stderr).toBe(0);
  return f;
}

/** The end as each target and the store hold it, and how many audit events there are. */
async function endsEverywhere(id: string, username: string): Promise<{ ldap: unknown; aws: unknown; store: unknown; renewalsLeft: number; events: number }> {
  const entry = await s.slapd.admin((c) => c.search(`uid=${username},${s.slapd.peopleDN}`, { scope: 'base', attributes: ['pwdEndTime'] }));
  const iam = await s.moto.iam();
  try {
    const u = await iam.send(new GetUserCommand({ UserName: username }));
    const show = (await run(['show', id, '--json'])).json as { endsAt: string; renewalsLeft: number };
    const events = String((await run(['audit', 'export'])).json).trim().split('\n').length;
    return { ldap: entry.searchEntries[0]?.pwdEndTime, aws: u.User?.Tags?.find((t) => t.Key === 'detailee:ends-at')?.Value, store: show.endsAt, renewalsLeft: show.renewalsLeft, events };
  } finally {
    iam.destroy();
  }
}

describe('assignment verify with an amendment', () => {
  it('shows the new end and the renewals left from the store, in text and JSON, exit 0', async () => {
    await onboarded('am-v-1', 'amv1');
    const f = amendment('am-v-1.yaml', 'am-v-1', 60);
    const human = await run(['assignment', 'verify', f]);
    expect(human.exit, human.stderr).toBe(0);
    expect(String(human.json)).toMatch(/Amendment of am-v-1 \(\+60 days\): signatures VALID/);
    expect(String(human.json)).toMatch(/new end: last day 2025-08-04 \(was 2025-06-05\); access ends 2025-08-05T00:00:00-04:00; renewals left 0 of 1 \(from the store\)/);
    const json = await run(['assignment', 'verify', f, '--json']);
    expect(json.exit).toBe(0);
    expect(json.json).toMatchObject({
      kind: 'Amendment',
      assignment: 'am-v-1',
      valid: true,
      renewalDays: 60,
      renewal: {
        source: 'store',
        current: { lastDay: '2025-06-05', endsAt: '2025-06-06T00:00:00-04:00' },
        renewed: { lastDay: '2025-08-04', endsAt: '2025-08-05T00:00:00-04:00', days: 180 },
        renewalsUsed: 0,
        renewalsMax: 1,
        renewalsLeft: 0,
        alreadyApplied: false,
        problems: [],
      },
    });
  });

  it('an amendment signed by nobody trusted: exit 3, NOT VALID', async () => {
    const f = amendment('am-unsigned.yaml', 'am-v-1', 30, false);
    writeFileSync(`${f}.jws`, readFileSync(join(dir, 'am-v-1.yaml.jws')));
    const out = await run(['assignment', 'verify', f, '--json']);
    expect(out.exit).toBe(3);
    expect(out.json).toMatchObject({ kind: 'Amendment', valid: false });
  });

  it('an assignment the store does not hold: no renewal without --assignment; with it, the new end from the manifest', async () => {
    const manifest = signedExample(dir, approverPem, 'am-new-1', 'amnew1');
    const f = amendment('am-new-1-a.yaml', 'am-new-1', 120);
    const bare = await run(['assignment', 'verify', f, '--json']);
    expect(bare.exit).toBe(0);
    expect((bare.json as AmendmentResult).renewal).toBeNull();
    const withManifest = await run(['assignment', 'verify', f, '--assignment', manifest, '--json']);
    expect(withManifest.exit).toBe(0);
    expect((withManifest.json as AmendmentResult).renewal).toMatchObject({ source: 'manifest', renewed: { lastDay: '2025-10-03', days: 240 }, renewalsLeft: 0 });
  });

  it('a renewal renew would refuse (the term has lapsed): exit 2, the reason named', async () => {
    const f = amendment('am-v-late.yaml', 'am-v-1', 120);
    const out = await run(['assignment', 'verify', f, '--json'], '2025-06-06T04:00:00Z');
    expect(out.exit).toBe(2);
    expect((out.json as AmendmentResult).renewal!.problems).toEqual([expect.stringMatching(/the term ended at 2025-06-06T00:00:00-04:00; a lapsed detail cannot be renewed/)]);
  });

  it('the example amendment verifies with the example config and the example assignment', async () => {
    const ex = (n: string) => join(ROOT, 'examples', n);
    const out = await run(['assignment', 'verify', ex('amendment.yaml'), '--assignment', ex('assignment.yaml'), '--config', ex('detailee.yaml'), '--json'], '2025-03-01T12:00:00Z');
    expect(out.exit, out.stderr).toBe(0);
    expect(out.json).toMatchObject({
      kind: 'Amendment',
      assignment: 'irs-2025-0042',
      valid: true,
      renewalDays: 60,
      renewal: { source: 'manifest', renewed: { lastDay: '2025-08-04' }, renewalsLeft: 0, problems: [] },
    });
    // Verifying reads an existing store only; the example config's store is never created.
    expect(existsSync(ex('example.db'))).toBe(false);
  });
});

describe('renew', () => {
  it('--dry-run shows the plan and the new end and changes nothing in the store or on the targets', async () => {
    await onboarded('rn-dry-1', 'rndry1');
    const f = amendment('rn-dry-1.yaml', 'rn-dry-1', 60);
    const before = await endsEverywhere('rn-dry-1', 'rndry1');
    const human = await run(['renew', 'rn-dry-1', f, '--dry-run']);
    expect(human.exit, human.stderr).toBe(0);
    expect(String(human.json)).toMatch(/TARGET\s+STEP\s+DETAIL/);
    expect(String(human.json)).toMatch(/^ldap\s+/m);
    expect(String(human.json)).toMatch(/^aws\s+/m);
    expect(String(human.json)).toMatch(/Dry run: rn-dry-1 would have its last day on 2025-08-04 \(access ends 2025-08-05T00:00:00-04:00\), 0 renewal\(s\) left; nothing was changed\./);
    const json = await run(['renew', 'rn-dry-1', f, '--dry-run', '--json']);
    expect(json.json).toMatchObject({ dryRun: true, changed: false, term: { lastDay: '2025-08-04' }, renewalsLeft: 0, targets: [] });
    expect((json.json as { plan: unknown[] }).plan.length).toBeGreaterThan(0);
    expect(await endsEverywhere('rn-dry-1', 'rndry1')).toEqual(before);
  });

  it('without a terminal and without --yes: exit 2 naming --yes, nothing changed', async () => {
    await onboarded('rn-tty-1', 'rntty1');
    const f = amendment('rn-tty-1.yaml', 'rn-tty-1', 60);
    const before = await endsEverywhere('rn-tty-1', 'rntty1');
    const out = await run(['renew', 'rn-tty-1', f, '--json']);
    expect(out.exit).toBe(2);
    expect(out.json).toMatchObject({ error: { code: 'confirm.no-tty', actions: [expect.stringMatching(/--yes/)] } });
    const human = await run(['renew', 'rn-tty-1', f]);
    expect(human.exit).toBe(2);
    expect(human.stderr).toMatch(/no terminal to ask on, and --yes was not given/);
    expect(await endsEverywhere('rn-tty-1', 'rntty1')).toEqual(before);
  });

  it('on a terminal: the plan, then the question; "n" changes nothing, "y" applies', async () => {
    await onboarded('rn-ask-1', 'rnask1');
    const f = amendment('rn-ask-1.yaml', 'rn-ask-1', 60);
    const before = await endsEverywhere('rn-ask-1', 'rnask1');
    const env = { DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: LATER, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', XDG_CACHE_HOME: join(dir, '.cache') };
    const question = /Renew rn-ask-1: last day 2025-08-04, access ends 2025-08-05T00:00:00-04:00\?/;
    const no = await onTerminal(dir, ['renew', 'rn-ask-1', f], env, question, 'n');
    expect(no.exit, no.screen).toBe(0);
    expect(no.screen).toMatch(/TARGET\s+STEP\s+DETAIL[\s\S]*Renew rn-ask-1/);
    expect(no.screen).toMatch(/Not confirmed: nothing was changed\./);
    expect(await endsEverywhere('rn-ask-1', 'rnask1')).toEqual(before);
    const yes = await onTerminal(dir, ['renew', 'rn-ask-1', f], env, question, 'y');
    expect(yes.exit, yes.screen).toBe(0);
    expect(yes.screen).toMatch(/Renewed rn-ask-1: last day now 2025-08-04/);
    expect(await endsEverywhere('rn-ask-1', 'rnask1')).toMatchObject({ ldap: '20250805040000Z', store: '2025-08-05T00:00:00-04:00' });
  });

  it('--yes applies on every target and in the store; the amendment then verifies as already applied', async () => {
    await onboarded('rn-yes-1', 'rnyes1');
    const f = amendment('rn-yes-1.yaml', 'rn-yes-1', 60);
    const out = await run(['renew', 'rn-yes-1', f, '--yes', '--json']);
    expect(out.exit, out.stderr).toBe(0);
    expect(out.json).toMatchObject({ changed: true, dryRun: false, renewalsUsed: 1, renewalsLeft: 0, term: { lastDay: '2025-08-04', endsAt: '2025-08-05T00:00:00-04:00' } });
    const after = await endsEverywhere('rn-yes-1', 'rnyes1');
    expect(after).toMatchObject({ ldap: '20250805040000Z', aws: '2025-08-05T04:00:00.000Z', store: '2025-08-05T00:00:00-04:00' });
    const verify = await run(['assignment', 'verify', f, '--json']);
    expect(verify.exit).toBe(0);
    expect((verify.json as AmendmentResult).renewal).toMatchObject({ alreadyApplied: true, renewalsUsed: 1, renewalsLeft: 0, current: { lastDay: '2025-08-04' } });
    // A second amendment: no renewals left, so verify says renew would refuse it (exit 2).
    const second = await run(['assignment', 'verify', amendment('rn-yes-1-b.yaml', 'rn-yes-1', 30), '--json']);
    expect(second.exit).toBe(2);
    expect((second.json as AmendmentResult).renewal!.problems).toEqual(['1 of 1 renewal(s) allowed by the manifest are used']);
  });
});
