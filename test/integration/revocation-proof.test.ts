import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { AddUserToGroupCommand, GetUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DetaileeError } from '../../src/errors.js';
import type { Config } from '../../src/config/resolve.js';
import type { Context } from '../../src/lifecycle/context.js';
import { exitCodeOf, runExpire } from '../../src/lifecycle/expire.js';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import { revokeAssignment } from '../../src/lifecycle/revoke.js';
import { show } from '../../src/lifecycle/show.js';
import { status } from '../../src/lifecycle/status.js';
import { offboard } from '../../src/offboarding/offboard.js';
import { openTargets } from '../../src/targets/index.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { startWorld, type World } from '../helpers/world.js';

/**
 * What "proven" means, against a real slapd and moto: proofs come from live reads of the targets
 * recorded at onboarding, never from the config of the day, and a revoked account changed by hand
 * later is found by the nightly job.
 */
let w: World;
let answers: string;
beforeAll(async () => {
  w = await startWorld();
  answers = join(w.dir, 'no-fti-answers.yaml');
  writeFileSync(
    answers,
    stringify({
      performedBy: { name: 'Grace Hopper', title: 'Records Officer', organization: 'IRS', location: 'Bldg 2', phone: '+1 202 555 0100' },
      validatedBy: { name: 'Alan Turing', title: 'CISO', organization: 'IRS', location: 'Bldg 1', phone: '+1 202 555 0199' },
      dispositions: [],
      propertyReturned: ['badge'],
      acknowledgement: { signedOn: '2025-03-01' },
    }),
  );
});
afterAll(async () => {
  await w?.close();
});

async function onboard(id: string, username: string, ctx: Context = w.ctx()) {
  const prep = await prepareOnboarding(ctx, w.signedManifest(detaileeDoc(id, username)), undefined);
  return applyOnboarding(ctx, prep);
}

/** The world's context with a config whose targets are `targets`. */
function ctxWith(targets: Config['targets']): Context {
  const config = { ...w.config, targets };
  return w.ctx({ config, openTargets: () => openTargets(config, w.clock) });
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; exit: number; message: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DetaileeError);
  const d = e as DetaileeError;
  return { code: d.code, exit: d.exit, message: d.message };
}

describe('revocation proven against the recorded targets', () => {
  it('records the targets and objects at onboarding, and stores each proof (facts, time, server) with the revocation event', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    expect((await onboard('prf-2025-0001', 'prfone')).targets.every((t) => t.ok)).toBe(true);
    const rec = await w.store.getAssignment('prf-2025-0001');
    expect(rec?.data.targets).toEqual([
      expect.objectContaining({ target: 'ldap', object: `uid=prfone,${w.slapd.peopleDN}`, groups: ['modernization', 'analysts'] }),
      expect.objectContaining({ target: 'aws', object: expect.stringMatching(/^arn:aws:iam::\d{12}:user\/detailees\/prfone$/), groups: ['detailee-readonly'] }),
    ]);
    w.clock.set('2025-03-01T12:00:00Z');
    const r = await revokeAssignment(w.ctx(), 'prf-2025-0001', { reason: 'ended early', finalState: 'revoked' });
    expect(r.complete).toBe(true);
    const event = (await w.store.auditFor('prf-2025-0001')).find((e) => e.kind === 'revocation.verified');
    const proofs = event?.details.proofs as { target: string; server: string; readAt: string; ok: boolean; facts: { fact: string; read: string }[] }[];
    expect(proofs.map((p) => [p.target, p.ok, p.server, p.readAt])).toEqual([
      ['ldap', true, w.slapd.url.replace(/\/$/, ''), '2025-03-01T12:00:00.000Z'],
      ['aws', true, w.moto.endpoint, '2025-03-01T12:00:00.000Z'],
    ]);
    expect(proofs[1]!.facts.map((f) => f.fact)).toEqual(expect.arrayContaining(['deny', 'accessKeys', 'loginProfile', 'groups', 'managedPolicies']));
    // moto cannot list service-specific credentials: the proof says the deny-all covers them.
    expect(proofs[1]!.facts.find((f) => f.fact === 'serviceSpecificCredentials')?.read).toBe('covered');
    const s = await show(w.store, 'prf-2025-0001', w.clock.now());
    expect(s.revocation?.condition).toBe('proven');
    expect(s.revocation?.proven.map((p) => p.summary).join('\n')).toMatch(/aws arn:aws:iam::\d+:user\/detailees\/prfone read 2025-03-01T12:00:00.000Z from http/);
    expect(s.targets.map((t) => t.object)).toEqual([`uid=prfone,${w.slapd.peopleDN}`, expect.stringMatching(/user\/detailees\/prfone$/)]);
  });

  it('a target taken out of the config after onboarding is unproven: revoke exits 1 naming it, offboard changes nothing and issues nothing', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    await onboard('prf-2025-0002', 'prftwo');
    const ldapOnly = ctxWith({ ldap: w.config.targets.ldap });
    w.clock.set('2025-03-01T12:00:00Z');
    const r = await revokeAssignment(ldapOnly, 'prf-2025-0002', { reason: 'ended early', finalState: 'revoked' });
    expect(r.complete).toBe(false);
    expect(r.targets.find((t) => t.target === 'aws')).toMatchObject({ ok: false, error: expect.stringMatching(/config has no targets\.aws: unproven/) });
    expect(r.message).toMatch(/INCOMPLETE: aws: /);
    // The IAM user was not touched, and nothing claims it was.
    const iam = await w.moto.iam();
    await expect(iam.send(new GetUserPolicyCommand({ UserName: 'prftwo', PolicyName: 'detailee-revoked' }))).rejects.toThrow();
    expect((await status(w.store, w.clock.now())).assignments.find((a) => a.id === 'prf-2025-0002')?.display).toBe('revoked, revocation not proven');

    const before = await w.store.getAssignment('prf-2025-0002');
    const events = (await w.store.auditFor('prf-2025-0002')).length;
    const refused = await codeOf(offboard(ldapOnly, 'prf-2025-0002', { answersFile: answers }));
    expect(refused).toMatchObject({ code: 'offboard.unproven', exit: 1 });
    expect(refused.message).toMatch(/provisioned on aws, which the config does not name/);
    expect(await w.store.getAssignment('prf-2025-0002')).toEqual(before);
    expect((await w.store.auditFor('prf-2025-0002')).length).toBe(events);
    expect(await w.store.getCertificate('prf-2025-0002')).toBeUndefined();

    // With the target back, the same commands finish: proven on both, then the certificate.
    expect((await revokeAssignment(w.ctx(), 'prf-2025-0002', { reason: 'ended early', finalState: 'revoked' })).complete).toBe(true);
    const done = await offboard(w.ctx(), 'prf-2025-0002', { answersFile: answers });
    expect(done.state).toBe('closed');
    expect(done.revocation.targets.map((t) => t.target)).toEqual(['ldap', 'aws']);
    const cert = (JSON.parse(readFileSync(done.certificate.files.json, 'utf8')) as { certificate: { revocationProof: { target: string; summary: string }[] } }).certificate;
    expect(cert.revocationProof.map((p) => p.target)).toEqual(['ldap', 'aws']);
    expect(cert.revocationProof[0]!.summary).toMatch(/pwdAccountLockedTime 000001010000Z/);
    expect(done.revocation.targets[1]!.evidence[0]).toMatch(/^aws arn:aws:iam::\d+:user\/detailees\/prftwo read 2025-03-01T12:00:00.000Z from http:\/\/127\.0\.0\.1:\d+: .*detailee-revoked denies all/);
  });

  it('a config with no targets onboards nothing (exit 2), so nothing can later be "verified against nothing"', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const none = ctxWith({});
    const e = await codeOf(prepareOnboarding(none, w.signedManifest(detaileeDoc('prf-2025-0003', 'prfthree')), undefined));
    expect(e).toMatchObject({ code: 'onboard.no-targets', exit: 2 });
    expect(await w.store.getAssignment('prf-2025-0003')).toBeUndefined();
  });

  it('an assignment recorded before targets were recorded falls back to its journal; with neither it is an error, not a success', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    await onboard('prf-2025-0004', 'prffour');
    await w.store.transaction(async (tx) => {
      const cur = (await tx.getAssignment('prf-2025-0004'))!;
      const { targets: _gone, ...data } = cur.data;
      await tx.updateAssignment({ ...cur, data }, cur.version);
    });
    w.clock.set('2025-03-01T12:00:00Z');
    const r = await revokeAssignment(w.ctx(), 'prf-2025-0004', { reason: 'ended early', finalState: 'revoked' });
    expect(r.complete).toBe(true);
    expect(r.targets.map((t) => t.target)).toEqual(['ldap', 'aws']);

    // An assignment with no recorded targets and no journal: refused, naming why.
    await w.store.transaction(async (tx) => {
      const cur = (await tx.getAssignment('prf-2025-0001'))!;
      await tx.insertAssignment({ ...cur, id: 'prf-2025-0005', username: 'prffive', state: 'active', revokedAt: undefined, version: 1, data: { provisioned: true } });
    });
    const e = await codeOf(revokeAssignment(w.ctx(), 'prf-2025-0005', { reason: 'x', finalState: 'revoked' }));
    expect(e).toMatchObject({ code: 'targets.unrecorded', exit: 1 });
    expect((await w.store.getAssignment('prf-2025-0005'))?.state).toBe('active');
  });

  it('a closed assignment whose accounts are re-enabled by hand is caught by the nightly re-proof: exit 1, object and fact named, audited, repaired, shown', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    await onboard('prf-2025-0006', 'prfsix');
    w.clock.set('2025-03-01T12:00:00Z');
    expect((await offboard(w.ctx(), 'prf-2025-0006', { answersFile: answers })).state).toBe('closed');

    w.clock.set('2025-03-02T06:00:00Z');
    const quiet = await runExpire(w.ctx(), { dryRun: false, concurrency: 2 });
    expect(quiet.regressed).toEqual([]);
    expect(quiet.reproved).toBeGreaterThanOrEqual(1);

    // Someone unlocks the directory entry and puts the IAM user back in a group.
    await w.slapd.admin((c) => c.modify(`uid=prfsix,${w.slapd.peopleDN}`, [new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) })]));
    await (await w.moto.iam()).send(new AddUserToGroupCommand({ UserName: 'prfsix', GroupName: 'detailee-readonly' }));

    w.clock.set('2025-03-03T06:00:00Z');
    const night = await runExpire(w.ctx(), { dryRun: false, concurrency: 2 });
    expect(exitCodeOf(night)).toBe(1);
    const mine = night.regressed.filter((r) => r.id === 'prf-2025-0006');
    expect(mine.map((r) => [r.target, r.object])).toEqual([
      ['ldap', `uid=prfsix,${w.slapd.peopleDN}`],
      ['aws', expect.stringMatching(/user\/detailees\/prfsix$/)],
    ]);
    expect(mine[0]!.facts).toEqual(['lock: pwdAccountLockedTime absent']);
    expect(mine[1]!.facts).toEqual(['groups: still in detailee-readonly']);
    expect(mine.every((r) => r.repaired)).toBe(true);
    const events = (await w.store.auditFor('prf-2025-0006')).filter((e) => e.kind === 'revocation.regressed');
    expect(events.map((e) => e.details.target)).toEqual(['ldap', 'aws']);
    const row = (await status(w.store, w.clock.now())).assignments.find((a) => a.id === 'prf-2025-0006');
    expect(row?.display).toBe('closed, REGRESSED');
    expect(row?.nextAction).toMatch(/detailee show prf-2025-0006/);

    // Repaired that night: the next night proves it again and finds nothing new.
    w.clock.set('2025-03-04T06:00:00Z');
    const after = await runExpire(w.ctx(), { dryRun: false, concurrency: 2 });
    expect(after.regressed.filter((r) => r.id === 'prf-2025-0006')).toEqual([]);
  });
});
