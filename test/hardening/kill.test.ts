import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { JournalEntry } from '../../src/store/types.js';
import { cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import type { Moto } from '../helpers/moto.js';
import { signedExample, startCliServers } from '../helpers/servers.js';
import type { Slapd } from '../helpers/slapd.js';

/**
 * The built CLI SIGKILLed (DETAILEE_FAULT_AFTER_STEP) after every journal step of onboard,
 * revoke, renew and offboard, against a real slapd and moto. After each kill a plain re-run must
 * finish the job: exit 0, every planned step done exactly once across the killed and the resumed
 * run, the expected state, and an audit chain that still verifies. One store, one slapd and one
 * moto serve every case (each case has its own assignment id and username) to keep this fast.
 */
let slapd: Slapd;
let moto: Moto;
let dir: string;
let approverPem: string;
let storePath: string;

const ONBOARD_AT = '2025-02-05T15:00:00Z';
const REVOKE_AT = '2025-03-01T15:00:00Z';
const RENEW_AT = '2025-05-20T15:00:00Z';
const OFFBOARD_AT = '2025-03-10T15:00:00Z';

beforeAll(async () => {
  const started = await startCliServers();
  ({ slapd, moto } = started);
  dir = tempDir('detailee-kill-all-');
  const { approverKey } = prepare(dir, started.servers);
  approverPem = readFileSync(approverKey, 'utf8');
  const store = (parse(readFileSync(join(dir, 'detailee.yaml'), 'utf8')) as { store: string }).store;
  storePath = join(dir, store.replace(/^sqlite:/, ''));
  // Every offboarding here has no FTI on record, so the checklist has no dispositions.
  writeFileSync(
    join(dir, 'answers.yaml'),
    stringify({
      performedBy: { name: 'Grace Hopper', title: 'Records Officer', organization: 'IRS IT Modernization', location: 'Bldg 2, Room 114', phone: '+1 202 555 0100' },
      validatedBy: { name: 'Alan Turing', title: 'Chief Information Security Officer', organization: 'IRS', location: 'Bldg 1, Room 700', phone: '+1 202 555 0199' },
      dispositions: [],
      propertyReturned: ['badge', 'laptop'],
      acknowledgement: { signedOn: OFFBOARD_AT.slice(0, 10) },
    }),
  );
});
afterAll(async () => {
  await Promise.all([slapd?.stop(), moto?.stop()]);
});

function signedManifest(id: string, username: string): string {
  return signedExample(dir, approverPem, id, username);
}

function signedAmendment(id: string): string {
  const f = join(dir, `${id}-amendment.yaml`);
  writeFileSync(f, stringify({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment: id, renewalDays: 60, reason: 'project extended' }));
  writeFileSync(`${f}.jws`, signJws(readFileSync(f), undefined, approverPem, 'alan.turing'));
  return f;
}

/**
 * One CLI run. spawnSync blocks this process's event loop, so slapd's and moto's stderr pipes
 * (read by their helpers) are not drained meanwhile; a full pipe blocks moto's request logging
 * and with it every request. One turn of the loop after each run empties them.
 */
async function run(args: string[], now: string, env: Record<string, string> = {}): Promise<StepOutput> {
  const out = cli(dir, [...args, '--json'], now, env);
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

function expectOk(out: StepOutput, what: string): void {
  expect(out.exit, `${what}: ${JSON.stringify(out.json)} ${out.stderr}`).toBe(0);
}

/** Onboard a fresh detailee through the CLI (the setup for revoke, renew and offboard cases). */
async function onboarded(id: string, username: string): Promise<void> {
  expectOk(await run(['onboard', signedManifest(id, username), '--yes'], ONBOARD_AT), `onboard ${id}`);
}

async function journal(id: string): Promise<(JournalEntry & { id: number })[]> {
  const store = await SqliteStore.open(storePath);
  try {
    return await store.journalFor(id);
  } finally {
    await store.close();
  }
}

/**
 * The journal of `operation` for one assignment after a kill and a resume: no step is done twice
 * (neither within one run nor across the two), and together the runs did exactly the planned steps.
 */
async function expectEachStepDoneOnce(id: string, operation: string, planned: string[]): Promise<void> {
  const rows = (await journal(id)).filter((j) => j.operation === operation && j.status === 'done');
  const byRun = new Map<string, string[]>();
  for (const r of rows) byRun.set(r.runId, [...(byRun.get(r.runId) ?? []), r.stepId]);
  for (const [runId, steps] of byRun) expect(new Set(steps).size, `run ${runId} of ${id}: ${steps.join(', ')}`).toBe(steps.length);
  const done = rows.map((r) => r.stepId);
  expect(done.slice().sort(), `${operation} of ${id}`).toEqual(planned.slice().sort());
}

async function expectAuditVerifies(now: string): Promise<void> {
  expectOk(await run(['audit', 'verify'], now), 'audit verify');
}

function stepIds(out: StepOutput): string[] {
  return (out.json as { targets: { steps: { id: string; status: string }[] }[] }).targets.flatMap((t) => t.steps.filter((s) => s.status === 'done').map((s) => s.id));
}

async function stateOf(id: string, now: string): Promise<{ state: string; endsAt: string; renewalsLeft: number; revocationComplete: boolean | null }> {
  const show = await run(['show', id], now);
  expectOk(show, `show ${id}`);
  return show.json as { state: string; endsAt: string; renewalsLeft: number; revocationComplete: boolean | null };
}

function killedAfter(n: number): Record<string, string> {
  return { DETAILEE_FAULT_AFTER_STEP: String(n) };
}

/** SIGKILL, not a clean error: the fault hook must really have fired at step n. */
function expectKilled(out: StepOutput, n: number): void {
  expect(out.exit, `expected a SIGKILL after step ${n}; got ${JSON.stringify(out.json)} ${out.stderr}`).toBe(-1);
}

describe('the built CLI killed after every journal step converges on a re-run', () => {
  it('onboard', async () => {
    const probe = await run(['onboard', signedManifest('kill-onb-probe', 'konbprobe'), '--dry-run'], ONBOARD_AT);
    expectOk(probe, 'onboard --dry-run');
    const planned = (probe.json as { plan: { step: string }[] }).plan.map((p) => p.step);
    expect(planned.length).toBeGreaterThan(4);
    for (let n = 1; n <= planned.length; n++) {
      const id = `kill-onb-${n}`;
      const f = signedManifest(id, `konb${n}`);
      expectKilled(await run(['onboard', f, '--yes'], ONBOARD_AT, killedAfter(n)), n);
      const resumed = await run(['onboard', f, '--yes'], ONBOARD_AT);
      expectOk(resumed, `onboard ${id} after a kill at step ${n}`);
      expect(stepIds(resumed)).toEqual(planned.slice(n));
      expect((resumed.json as { targets: { ok: boolean }[] }).targets.every((t) => t.ok)).toBe(true);
      await expectEachStepDoneOnce(id, 'onboard', planned);
      expect((await stateOf(id, ONBOARD_AT)).state).toBe('active');
      // A third run has nothing left to do.
      const again = await run(['onboard', f, '--yes'], ONBOARD_AT);
      expectOk(again, 'onboard again');
      expect((again.json as { changed: boolean }).changed).toBe(false);
    }
    await expectAuditVerifies(ONBOARD_AT);
  });

  it('revoke', async () => {
    await onboarded('kill-rev-probe', 'krevprobe');
    const probe = await run(['revoke', 'kill-rev-probe', '--reason', 'probe', '--yes'], REVOKE_AT);
    expectOk(probe, 'revoke probe');
    const planned = stepIds(probe);
    expect(planned.length).toBeGreaterThan(3);
    for (let n = 1; n <= planned.length; n++) {
      const id = `kill-rev-${n}`;
      await onboarded(id, `krev${n}`);
      expectKilled(await run(['revoke', id, '--reason', 'left early', '--yes'], REVOKE_AT, killedAfter(n)), n);
      // The state was recorded before the first target was touched, so the store never under-reports.
      expect(await stateOf(id, REVOKE_AT)).toMatchObject({ state: 'revoked', revocationComplete: false });
      const resumed = await run(['revoke', id, '--reason', 'left early', '--yes'], REVOKE_AT);
      expectOk(resumed, `revoke ${id} after a kill at step ${n}`);
      expect(resumed.json).toMatchObject({ complete: true, state: 'revoked' });
      expect(stepIds(resumed)).toEqual(planned.slice(n));
      await expectEachStepDoneOnce(id, 'revoke', planned);
      expect(await stateOf(id, REVOKE_AT)).toMatchObject({ state: 'revoked', revocationComplete: true });
    }
    await expectAuditVerifies(REVOKE_AT);
  });

  it('renew with a signed amendment', async () => {
    await onboarded('kill-ren-probe', 'krenprobe');
    const probe = await run(['renew', 'kill-ren-probe', signedAmendment('kill-ren-probe'), '--yes'], RENEW_AT);
    expectOk(probe, 'renew probe');
    const planned = stepIds(probe);
    const endsAt = (probe.json as { term: { endsAt: string } }).term.endsAt;
    expect(endsAt).toBe('2025-08-05T00:00:00-04:00');
    expect(planned.length).toBeGreaterThan(1);
    for (let n = 1; n <= planned.length; n++) {
      const id = `kill-ren-${n}`;
      await onboarded(id, `kren${n}`);
      const am = signedAmendment(id);
      expectKilled(await run(['renew', id, am, '--yes'], RENEW_AT, killedAfter(n)), n);
      // Targets first, record last: until the re-run the store keeps the old end.
      expect(await stateOf(id, RENEW_AT)).toMatchObject({ state: 'active', endsAt: '2025-06-06T00:00:00-04:00', renewalsLeft: 1 });
      const resumed = await run(['renew', id, am, '--yes'], RENEW_AT);
      expectOk(resumed, `renew ${id} after a kill at step ${n}`);
      expect(resumed.json).toMatchObject({ changed: true, term: { endsAt } });
      expect(stepIds(resumed)).toEqual(planned.slice(n));
      await expectEachStepDoneOnce(id, 'renew', planned);
      expect(await stateOf(id, RENEW_AT)).toMatchObject({ state: 'active', endsAt, renewalsLeft: 0 });
      // The same amendment twice is one renewal.
      const again = await run(['renew', id, am, '--yes'], RENEW_AT);
      expectOk(again, 'renew again');
      expect(again.json).toMatchObject({ changed: false });
    }
    await expectAuditVerifies(RENEW_AT);
  });

  it('offboard, killed during the revocation it starts with', async () => {
    await onboarded('kill-off-probe', 'koffprobe');
    const probe = await run(['revoke', 'kill-off-probe', '--reason', 'probe', '--yes'], OFFBOARD_AT);
    expectOk(probe, 'revoke probe');
    const planned = stepIds(probe);
    const answers = join(dir, 'answers.yaml');
    for (let n = 1; n <= planned.length; n++) {
      const id = `kill-off-${n}`;
      await onboarded(id, `koff${n}`);
      expectKilled(await run(['offboard', id, '--answers', answers], OFFBOARD_AT, killedAfter(n)), n);
      expect(await stateOf(id, OFFBOARD_AT)).toMatchObject({ state: 'revoked', revocationComplete: false });
      const resumed = await run(['offboard', id, '--answers', answers], OFFBOARD_AT);
      expectOk(resumed, `offboard ${id} after a kill at step ${n}`);
      const off = resumed.json as { state: string; revocation: { targets: { target: string }[] }; certificate: { files: { json: string } } };
      expect(off.state).toBe('closed');
      expect(off.revocation.targets.map((t) => t.target).sort()).toEqual(['aws', 'ldap']);
      await expectEachStepDoneOnce(id, 'revoke', planned);
      expect(await stateOf(id, OFFBOARD_AT)).toMatchObject({ state: 'closed', revocationComplete: true });
      expectOk(await run(['certificate', 'verify', off.certificate.files.json], OFFBOARD_AT), 'certificate verify');
    }
    await expectAuditVerifies(OFFBOARD_AT);
  });
});
