import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ListUserPoliciesCommand } from '@aws-sdk/client-iam';
import { verifyAudit } from '../../src/audit/audit.js';
import { loadConfig } from '../../src/config/load.js';
import { type Config } from '../../src/config/resolve.js';
import { ActionError } from '../../src/errors.js';
import type { Context } from '../../src/lifecycle/context.js';
import { exitCodeOf, runExpire } from '../../src/lifecycle/expire.js';
import { show } from '../../src/lifecycle/show.js';
import { applyOnboarding, prepareOnboarding, type OnboardResult } from '../../src/lifecycle/onboard.js';
import { revokeAssignment, revokeIntent, type RevokeResult } from '../../src/lifecycle/revoke.js';
import { openStore } from '../../src/store/open.js';
import type { AuditEventInput, Store, StoreTx } from '../../src/store/types.js';
import { closeTargets, desiredFor, openTargets } from '../../src/targets/index.js';
import type { Intent } from '../../src/targets/model.js';
import { cli } from '../helpers/scenario.js';
import { startTcpProxy, type ProxyMode, type TcpProxy } from '../helpers/tcp-proxy.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { startWorld, type World } from '../helpers/world.js';

/**
 * Faults in the middle of real work against a real slapd, moto and SQLite store: the directory
 * killed mid-run, IAM connections refused, reset and stalled, and the store refusing a write.
 * Each must end in a per-target report (or an exit-1 error), lose nothing, and converge on a
 * re-run once the fault is gone.
 */
let w: World;
let proxy: TcpProxy;
/** The world's config with IAM reached through the proxy and a short timeout. */
let proxied: Config;
const IAM_TIMEOUT_MS = 500;

beforeAll(async () => {
  w = await startWorld();
  // Longer than the client waits (with its one retry), so a stalled request is never answered.
  proxy = await startTcpProxy(w.moto.port, { holdMs: IAM_TIMEOUT_MS * 6 });
  const cfg = parse(readFileSync(join(w.dir, 'detailee.yaml'), 'utf8')) as { targets: { aws: Record<string, unknown> } };
  cfg.targets.aws = { ...cfg.targets.aws, endpoint: proxy.url, timeoutMs: IAM_TIMEOUT_MS, maxAttempts: 2 };
  writeFileSync(join(w.dir, 'proxied.yaml'), stringify(cfg));
  proxied = loadConfig(join(w.dir, 'proxied.yaml'), {}, w.dir);
});
afterAll(async () => {
  await proxy?.close();
  await w?.close();
});

function proxiedCtx(o: Partial<Context> = {}): Context {
  return w.ctx({ config: proxied, openTargets: () => openTargets(proxied, w.clock), ...o });
}

async function onboard(file: string, ctx: Context = w.ctx()): Promise<OnboardResult> {
  const prep = await prepareOnboarding(ctx, file, undefined);
  return applyOnboarding(ctx, prep);
}

/** What every target says now about the assignment, read live (not from the store). */
async function liveProblems(id: string): Promise<string[]> {
  const rec = (await w.store.getAssignment(id))!;
  const targets = await openTargets(w.config, w.clock);
  try {
    const problems: string[] = [];
    for (const t of targets) {
      const intent: Intent =
        rec.state === 'active' ? { kind: 'provision', desired: desiredFor(t.name, rec.manifest, rec.term) } : revokeIntent(rec, rec.revokedAt!);
      const v = await t.verify(intent);
      problems.push(...v.problems.map((p) => `${t.name}: ${p}`));
    }
    return problems;
  } finally {
    await closeTargets(targets);
  }
}

async function iamInlinePolicies(username: string): Promise<string[]> {
  const c = await w.moto.iam();
  try {
    return (await c.send(new ListUserPoliciesCommand({ UserName: username }))).PolicyNames ?? [];
  } finally {
    c.destroy();
  }
}

async function auditKinds(id: string): Promise<string[]> {
  return (await w.store.auditFor(id)).map((e) => e.kind);
}

async function journalOf(id: string, operation: string) {
  return (await w.store.journalFor(id)).filter((j) => j.operation === operation);
}

function statuses(r: { steps: { status: string }[] } | undefined): string[] {
  return (r?.steps ?? []).map((s) => s.status);
}

async function expectAuditChainOk(): Promise<void> {
  const v = await verifyAudit(w.store);
  expect(v.ok, JSON.stringify(v)).toBe(true);
}

const LDAP_DOWN = /^LDAP ldap:\/\/127\.0\.0\.1:\d+: .+ failed: .+/s;

describe('the directory server killed in the middle of a run', () => {
  it('onboarding: LDAP fails from the step after the kill, IAM is still provisioned, and a re-run after the restart finishes', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'flt-ldap-onb';
    const f = w.signedManifest(detaileeDoc(id, 'fldaponb'));
    const ctx = w.ctx({ afterStep: (n) => n === 2 && w.slapd.kill() });
    const prep = await prepareOnboarding(ctx, f, undefined);
    const ldapSteps = prep.plans.find((p) => p.target.name === 'ldap')!.steps.map((s) => s.id);
    const awsSteps = prep.plans.find((p) => p.target.name === 'aws')!.steps.map((s) => s.id);
    expect(ldapSteps.length).toBe(4);
    let r: OnboardResult;
    try {
      r = await applyOnboarding(ctx, prep);
    } finally {
      await w.slapd.restart();
    }

    const ldap = r.targets.find((t) => t.target === 'ldap');
    const aws = r.targets.find((t) => t.target === 'aws');
    expect(ldap).toMatchObject({ ok: false, error: expect.stringMatching(LDAP_DOWN) });
    expect(statuses(ldap)).toEqual(['done', 'done', 'failed', 'pending']);
    expect(aws).toMatchObject({ ok: true, verify: { ok: true } });
    expect(statuses(aws)).toEqual(awsSteps.map(() => 'done'));
    expect(r.message).toMatch(/did not complete; run the same command again/);
    // The command turns a failed target into exit 1.
    expect(r.targets.some((t) => !t.ok)).toBe(true);

    const journal = await journalOf(id, 'onboard');
    expect(journal.filter((j) => j.status === 'done').map((j) => j.stepId)).toEqual([...ldapSteps.slice(0, 2), ...awsSteps]);
    expect(journal.filter((j) => j.status === 'failed')).toEqual([expect.objectContaining({ stepId: ldapSteps[2], error: expect.stringMatching(LDAP_DOWN) })]);
    expect(await auditKinds(id)).toEqual(['assignment.onboarding', 'step.applied', 'step.applied', 'step.failed', ...awsSteps.map(() => 'step.applied'), 'assignment.onboarding-failed']);
    expect((await w.store.getAssignment(id))?.data.provisioned).toBe(false);
    expect(await show(w.store, id, w.clock.now())).toMatchObject({ state: 'active', provisioned: false, display: 'onboarding incomplete', nextAction: expect.stringMatching(/run `detailee onboard` with the same manifest again/) });

    const again = await onboard(f);
    expect(again.targets.map((t) => [t.target, t.ok, t.steps.map((s) => s.id)])).toEqual([
      ['ldap', true, ldapSteps.slice(2)],
      ['aws', true, []],
    ]);
    expect((await w.store.getAssignment(id))?.data.provisioned).toBe(true);
    expect(await show(w.store, id, w.clock.now())).toMatchObject({ provisioned: true, display: 'scheduled' });
    expect(await liveProblems(id)).toEqual([]);
    await expectAuditChainOk();
  });

  it('revocation: the rest of LDAP is reported pending, IAM is still revoked, and a re-run after the restart completes it', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'flt-ldap-rev';
    await onboard(w.signedManifest(detaileeDoc(id, 'fldaprev')));
    w.clock.set('2025-03-01T15:00:00Z');
    const ctx = w.ctx({ afterStep: (n) => n === 1 && w.slapd.kill() });
    let r: RevokeResult;
    try {
      r = await revokeAssignment(ctx, id, { reason: 'left early', finalState: 'revoked' });
    } finally {
      await w.slapd.restart();
    }

    expect(r.complete).toBe(false);
    expect(r.message).toMatch(/^Revocation of flt-ldap-rev is INCOMPLETE: ldap: LDAP .* Run the command again/s);
    const ldap = r.targets.find((t) => t.target === 'ldap');
    expect(ldap).toMatchObject({ ok: false, error: expect.stringMatching(LDAP_DOWN) });
    expect(statuses(ldap).slice(0, 2)).toEqual(['done', 'failed']);
    expect(r.targets.find((t) => t.target === 'aws')).toMatchObject({ ok: true, verify: { ok: true } });
    expect(await iamInlinePolicies('fldaprev')).toContain('detailee-revoked');

    const rec = await w.store.getAssignment(id);
    expect(rec?.state).toBe('revoked');
    expect(rec?.data.revocation).toMatchObject({ complete: false, targets: [expect.objectContaining({ target: 'aws' })] });
    const kinds = await auditKinds(id);
    expect(kinds.slice(kinds.indexOf('assignment.revoking'))).toEqual(expect.arrayContaining(['step.failed', 'revocation.incomplete']));
    // The steps left undone are on record with the incomplete revocation, for the re-run and for people.
    const incomplete = (await w.store.auditFor(id)).find((e) => e.kind === 'revocation.incomplete')!;
    expect((incomplete.details as { targets: { target: string; pending: string[] }[] }).targets).toEqual(
      expect.arrayContaining([{ target: 'ldap', ok: false, error: expect.any(String), pending: ldap!.steps.slice(1).map((s) => s.id) }]),
    );
    expect((await journalOf(id, 'revoke')).filter((j) => j.status === 'failed')).toEqual([expect.objectContaining({ target: 'ldap' })]);

    const again = await revokeAssignment(w.ctx(), id, { reason: 'left early', finalState: 'revoked' });
    expect(again.complete).toBe(true);
    expect(again.targets.find((t) => t.target === 'aws')?.steps).toEqual([]);
    expect(again.targets.find((t) => t.target === 'ldap')?.steps.map((s) => s.id)).toEqual(ldap!.steps.slice(1).map((s) => s.id));
    expect((await w.store.getAssignment(id))?.data.revocation).toMatchObject({ complete: true });
    expect(await liveProblems(id)).toEqual([]);
    await expectAuditChainOk();
  });

  it('the nightly job: slapd killed after the first of three revocations\' writes, the others still revoke IAM, no LDAP proof passes unread; the next night finishes them', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const ids = ['flt-exp-1', 'flt-exp-2', 'flt-exp-3'];
    // Ten days from 02-06: the last day is 02-15, the end 02-16 00:00 New York.
    for (const [i, id] of ids.entries()) await onboard(w.signedManifest(detaileeDoc(id, `fexp${i + 1}`, { term: { start: '2025-02-06', days: 10, timezone: 'America/New_York' } })));
    w.clock.set('2025-02-17T06:00:00Z');
    const probe = await revokeAssignment(w.ctx(), ids[0]!, { reason: 'end of term', finalState: 'expired', dryRun: true });
    const perRevocation = probe.plan.length;
    expect(perRevocation).toBeGreaterThan(3);
    let applied = 0;
    const ctx = w.ctx({ afterStep: () => ++applied === perRevocation && w.slapd.kill() });
    let night: Awaited<ReturnType<typeof runExpire>>;
    try {
      night = await runExpire(ctx, { dryRun: false, concurrency: 1 });
    } finally {
      await w.slapd.restart();
    }

    // The nightly job writes a page before it reads any proof back: the first assignment's LDAP
    // writes took, but its proof finds slapd gone, so it is no more proven than the others.
    expect(exitCodeOf(night)).toBe(1);
    const revoked = night.revoked.filter((x) => ids.includes(x.id));
    expect(revoked.map((x) => [x.id, x.complete])).toEqual([
      ['flt-exp-1', false],
      ['flt-exp-2', false],
      ['flt-exp-3', false],
    ]);
    for (const x of revoked) {
      expect(x.targets).toEqual([
        { target: 'ldap', ok: false, error: expect.stringMatching(/LDAP ldap:\/\/127\.0\.0\.1:\d+: .+ failed/) },
        { target: 'aws', ok: true, error: undefined },
      ]);
      expect(night.failed).toEqual(expect.arrayContaining([expect.objectContaining({ id: x.id, target: 'ldap', stage: 'revoke' })]));
    }
    for (const [i, id] of ids.entries()) {
      expect((await w.store.getAssignment(id))?.state).toBe('expired');
      expect(await iamInlinePolicies(`fexp${i + 1}`)).toContain('detailee-revoked');
    }
    expect(await auditKinds('flt-exp-1')).not.toContain('revocation.verified');
    for (const id of ids) expect(await auditKinds(id)).toEqual(expect.arrayContaining(['assignment.expiring', 'revocation.incomplete']));
    for (const id of ids.slice(1)) expect(await auditKinds(id)).toContain('step.failed');

    w.clock.set('2025-02-18T06:00:00Z');
    const next = await runExpire(w.ctx(), { dryRun: false, concurrency: 1 });
    expect(next.failed).toEqual([]);
    // Finished as revocations (not merely repaired as drift), so the record says when each was verified.
    expect(next.revoked.filter((x) => ids.includes(x.id)).map((x) => [x.id, x.complete])).toEqual([
      ['flt-exp-1', true],
      ['flt-exp-2', true],
      ['flt-exp-3', true],
    ]);
    expect(exitCodeOf(next)).toBe(0);
    for (const id of ids) {
      expect(await liveProblems(id), id).toEqual([]);
      expect((await w.store.getAssignment(id))?.data.revocation, id).toMatchObject({ complete: true });
    }
    await expectAuditChainOk();
  });
});

describe('IAM connections refused, reset and stalled past the timeout', () => {
  const expected: Record<Exclude<ProxyMode, 'pass'>, RegExp> = {
    refuse: /\(ECONNREFUSED\): connect ECONNREFUSED/,
    // The SDK files a reset under TimeoutError (so it is retried); the errno still says what happened.
    reset: /: read ECONNRESET$/,
    delay: /\(TimeoutError\): .*exceeded the configured 500 ms requestTimeout/,
  };
  const AWS_FAILED = /^AWS IAM at http:\/\/127\.0\.0\.1:\d+: \w+ .*failed \(/;

  for (const mode of ['refuse', 'reset', 'delay'] as const) {
    it(`${mode}: onboarding reports aws failed with the cause, LDAP is done, and a re-run converges once IAM answers`, async () => {
      w.clock.set('2025-02-05T15:00:00Z');
      const id = `flt-iam-onb-${mode}`;
      const user = `fonb${mode}`;
      const f = w.signedManifest(detaileeDoc(id, user));
      let ldapCount = 0;
      const ctx = proxiedCtx({ afterStep: (n) => n === ldapCount && void proxy.setMode(mode) });
      const prep = await prepareOnboarding(ctx, f, undefined);
      ldapCount = prep.plans.find((p) => p.target.name === 'ldap')!.steps.length;
      const awsSteps = prep.plans.find((p) => p.target.name === 'aws')!.steps.map((s) => s.id);
      let r: OnboardResult;
      const started = Date.now();
      try {
        r = await applyOnboarding(ctx, prep);
      } finally {
        await proxy.setMode('pass');
      }
      // Bounded: two attempts of at most the timeout each, not the SDK's default minutes.
      expect(Date.now() - started).toBeLessThan(20 * IAM_TIMEOUT_MS);

      expect(r.targets.find((t) => t.target === 'ldap')).toMatchObject({ ok: true, verify: { ok: true } });
      const aws = r.targets.find((t) => t.target === 'aws');
      expect(aws?.ok).toBe(false);
      expect(aws?.error).toMatch(AWS_FAILED);
      expect(aws?.error).toMatch(expected[mode]);
      expect(aws?.error).toContain(proxy.url);
      expect(statuses(aws)).toEqual(['failed', ...awsSteps.slice(1).map(() => 'pending')]);
      expect((await journalOf(id, 'onboard')).filter((j) => j.status === 'failed')).toEqual([expect.objectContaining({ stepId: awsSteps[0], target: 'aws' })]);
      expect(await auditKinds(id)).toEqual(expect.arrayContaining(['step.failed', 'assignment.onboarding-failed']));

      const again = await onboard(f, proxiedCtx());
      expect(again.targets.map((t) => [t.target, t.ok, t.steps.length])).toEqual([
        ['ldap', true, 0],
        ['aws', true, awsSteps.length],
      ]);
      expect(await liveProblems(id)).toEqual([]);
      await expectAuditChainOk();
    });

    it(`${mode}: revocation with IAM unreachable from the start still revokes LDAP, reports aws, and a re-run completes it`, async () => {
      w.clock.set('2025-02-05T15:00:00Z');
      const id = `flt-iam-rev-${mode}`;
      const user = `frev${mode}`;
      await onboard(w.signedManifest(detaileeDoc(id, user)));
      w.clock.set('2025-03-01T15:00:00Z');
      await proxy.setMode(mode);
      let r: RevokeResult;
      try {
        r = await revokeAssignment(proxiedCtx(), id, { reason: 'left early', finalState: 'revoked' });
      } finally {
        await proxy.setMode('pass');
      }

      expect(r.complete).toBe(false);
      expect(r.targets.find((t) => t.target === 'ldap')).toMatchObject({ ok: true, verify: { ok: true } });
      const aws = r.targets.find((t) => t.target === 'aws');
      expect(aws?.ok).toBe(false);
      // A first revocation writes from the onboarding record before it reads: the write is what fails.
      expect(aws?.error).toMatch(/^AWS IAM at \S+: PutUserPolicy \S+ detailee-revoked failed/);
      expect(aws?.error).toMatch(expected[mode]);
      expect(aws?.error).toContain(proxy.url);
      expect(r.message).toMatch(/INCOMPLETE: aws: /);
      expect((await w.store.getAssignment(id))?.state).toBe('revoked');
      expect((await journalOf(id, 'revoke')).filter((j) => j.status === 'failed')).toEqual([expect.objectContaining({ stepId: 'aws.revoked.put', target: 'aws' })]);
      expect(await auditKinds(id)).toEqual(expect.arrayContaining(['assignment.revoking', 'step.failed', 'revocation.incomplete']));
      expect(await iamInlinePolicies(user)).not.toContain('detailee-revoked');

      const again = await revokeAssignment(proxiedCtx(), id, { reason: 'left early', finalState: 'revoked' });
      expect(again.complete).toBe(true);
      expect(again.targets.find((t) => t.target === 'ldap')?.steps).toEqual([]);
      expect(await iamInlinePolicies(user)).toContain('detailee-revoked');
      expect(await liveProblems(id)).toEqual([]);
      await expectAuditChainOk();
    });
  }
});

/**
 * A store whose audit appends fail on demand, to stand for a disk that refuses the write. Only
 * the append inside a transaction fails, so the real transaction rolls back around it.
 */
function failingAuditStore(store: Store, fails: (e: AuditEventInput) => boolean): Store {
  const wrapTx = (tx: StoreTx): StoreTx => ({
    ...tx,
    appendAudit: async (e) => {
      if (fails(e)) {
        throw new ActionError('The store could not be written: attempt to write a readonly database (injected). Nothing was changed.', { code: 'store.write' });
      }
      return tx.appendAudit(e);
    },
  });
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') return <T>(fn: (tx: StoreTx) => Promise<T>) => target.transaction((tx) => fn(wrapTx(tx)));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('the store refuses an audit append (fault injected: the real disk cannot be made to fail as root)', () => {
  it('onboarding: the record and its event are both absent, no account is made, exit 1; a later run converges', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'flt-store-onb';
    const f = w.signedManifest(detaileeDoc(id, 'fstoreonb'));
    const ctx = w.ctx({ store: failingAuditStore(w.store, (e) => e.kind === 'assignment.onboarding') });
    await expect(onboard(f, ctx)).rejects.toMatchObject({ exit: 1, code: 'store.write' });
    expect(await w.store.getAssignment(id)).toBeUndefined();
    expect(await w.store.auditFor(id)).toEqual([]);
    expect(await w.store.journalFor(id)).toEqual([]);
    const r = await onboard(f);
    expect(r.targets.every((t) => t.ok)).toBe(true);
    expect(await liveProblems(id)).toEqual([]);
    await expectAuditChainOk();
  });

  it('revocation: the state change and its event are both absent, nothing is revoked, exit 1; a later run converges', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'flt-store-rev';
    await onboard(w.signedManifest(detaileeDoc(id, 'fstorerev')));
    w.clock.set('2025-03-01T15:00:00Z');
    const before = await w.store.auditHead();
    const ctx = w.ctx({ store: failingAuditStore(w.store, (e) => e.kind === 'assignment.revoking') });
    await expect(revokeAssignment(ctx, id, { reason: 'left early', finalState: 'revoked' })).rejects.toMatchObject({ exit: 1, code: 'store.write' });
    const rec = await w.store.getAssignment(id);
    expect(rec?.state).toBe('active');
    expect(rec?.revokedAt).toBeUndefined();
    expect(await w.store.auditHead()).toEqual(before);
    expect(await journalOf(id, 'revoke')).toEqual([]);
    // The accounts are as onboarded: no target was touched before the intent was on record.
    expect(await liveProblems(id)).toEqual([]);
    const r = await revokeAssignment(w.ctx(), id, { reason: 'left early', finalState: 'revoked' });
    expect(r.complete).toBe(true);
    expect(await liveProblems(id)).toEqual([]);
    await expectAuditChainOk();
  });

  it("a step's record: its 'done' row and its event roll back together, the 'started' row remains, exit 1; a re-run does not repeat the step", async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'flt-store-step';
    const f = w.signedManifest(detaileeDoc(id, 'fstorestep'));
    const ctx = w.ctx({ store: failingAuditStore(w.store, (e) => e.kind === 'step.applied') });
    const prep = await prepareOnboarding(ctx, f, undefined);
    const first = prep.rows[0]!.step;
    await expect(applyOnboarding(ctx, prep)).rejects.toMatchObject({ exit: 1, code: 'store.write' });
    const journal = await journalOf(id, 'onboard');
    expect(journal.map((j) => [j.stepId, j.status])).toEqual([[first, 'started']]);
    expect(await auditKinds(id)).toEqual(['assignment.onboarding']);
    const r = await onboard(f);
    expect(r.targets.every((t) => t.ok)).toBe(true);
    expect(r.targets.flatMap((t) => t.steps.map((s) => s.id))).toEqual(prep.rows.slice(1).map((x) => x.step));
    expect(await liveProblems(id)).toEqual([]);
    await expectAuditChainOk();
  });
});

describe('a store path that cannot be created', () => {
  it('a directory under a regular file: a clear error naming the path, exit 1 or 2, in-process and through the CLI', async () => {
    writeFileSync(join(w.dir, 'not-a-dir'), 'a regular file\n');
    const url = `sqlite:${join(w.dir, 'not-a-dir', 'store', 'detailee.db')}`;
    const err = await openStore(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ exit: expect.any(Number), message: expect.stringContaining(join(w.dir, 'not-a-dir')) });
    expect([1, 2]).toContain((err as { exit: number }).exit);

    const cfg = parse(readFileSync(join(w.dir, 'detailee.yaml'), 'utf8')) as Record<string, unknown>;
    cfg.store = 'sqlite:not-a-dir/store/detailee.db';
    writeFileSync(join(w.dir, 'bad-store.yaml'), stringify(cfg));
    const out = cli(w.dir, ['status', '--json'], '2025-02-05T15:00:00Z', { DETAILEE_CONFIG: join(w.dir, 'bad-store.yaml') });
    // spawnSync held the event loop: let the servers' log pipes drain before anything else runs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect([1, 2]).toContain(out.exit);
    const body = (out.json as { error: { message: string; code: string; actions: string[] } }).error;
    expect(body.message).toContain(join(w.dir, 'not-a-dir'));
    expect(body.code).toMatch(/^store\./);
    expect(body.actions.length).toBeGreaterThan(0);
  });
});
