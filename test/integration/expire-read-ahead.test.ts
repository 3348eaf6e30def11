import { AddUserToGroupCommand, CreateAccessKeyCommand, ListAccessKeysCommand, type IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExpire } from '../../src/lifecycle/expire.js';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import { createIamTarget } from '../../src/targets/aws/index.js';
import { createLdapTarget } from '../../src/targets/ldap/index.js';
import { resolveSecret } from '../../src/config/load.js';
import type { Context } from '../../src/lifecycle/context.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { startWorld, type World } from '../helpers/world.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

/** One request to moto as an administrator would make it by hand, outside the tool. */
async function byHand<T>(fn: (iam: IAMClient) => Promise<T>): Promise<T> {
  const iam = await w.moto.iam();
  try {
    return await fn(iam);
  } finally {
    iam.destroy();
  }
}

/** A context whose targets tally the requests they send, by operation: IAM in `ops`, LDAP in `ldapOps`. */
function counting(): { ctx: Context; ops: Map<string, number>; ldapOps: Map<string, number> } {
  const ops = new Map<string, number>();
  const ldapOps = new Map<string, number>();
  const tally = (m: Map<string, number>) => (op: string) => m.set(op, (m.get(op) ?? 0) + 1);
  const ldap = w.config.targets.ldap!;
  const ctx = w.ctx({
    openTargets: async () => [
      await createLdapTarget(ldap, resolveSecret({ file: ldap.bindPasswordFile, env: ldap.bindPasswordEnv }, 'LDAP bind password'), { clock: w.clock, onCall: tally(ldapOps) }),
      await createIamTarget(w.config.targets.aws!, { clock: w.clock, onCall: tally(ops) }),
    ],
  });
  return { ctx, ops, ldapOps };
}

describe('the nightly job plans from the provisioning records and proves from live reads (slapd and moto)', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `irs-2025-${String(900 + i)}`);

  it('revokes a dozen accounts without reading before the writes, and proves them from one account listing taken after all their writes plus each user\'s credentials read live: under 5 IAM requests and 1 + groups + 2 LDAP operations each', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    for (const [i, id] of ids.entries()) {
      const r = await applyOnboarding(w.ctx(), await prepareOnboarding(w.ctx(), w.signedManifest(detaileeDoc(id, `ahead${i}`)), undefined));
      expect(r.targets.every((t) => t.ok)).toBe(true);
    }
    w.clock.set('2025-06-06T05:00:00Z');
    const { ctx, ops, ldapOps } = counting();
    const r = await runExpire(ctx, { dryRun: false, concurrency: 4 });
    expect(r.failed).toEqual([]);
    expect(r.revoked.map((x) => x.id).sort()).toEqual(ids);
    expect(r.revoked.every((x) => x.complete)).toBe(true);
    // The record is the plan; the proof is one listing of the page after its writes, and each
    // user's credentials (which the listing does not show) read after the writes too.
    expect(ops.get('GetAccountAuthorizationDetails')).toBe(1);
    for (const op of ['PutUserPolicy', 'ListAccessKeys', 'GetLoginProfile']) expect(ops.get(op), op).toBe(ids.length);
    for (const op of ['GetUser', 'GetUserPolicy', 'ListGroupsForUser', 'ListAttachedUserPolicies']) expect(ops.get(op), op).toBeUndefined();
    const total = [...ops.values()].reduce((a, b) => a + b, 0);
    expect(total / ids.length).toBeLessThan(5);
    for (const id of ids) {
      const proof = ((await w.store.getAssignment(id))?.data.revocation as { proofs: { target: string; via?: string; readAt: string; ok: boolean }[] }).proofs.find((p) => p.target === 'aws');
      // Dated when the listing was asked for, which was after the writes (the job's clock is pinned).
      expect(proof).toMatchObject({ ok: true, readAt: '2025-06-06T05:00:00.000Z', via: expect.stringMatching(/^GetAccountAuthorizationDetails \(one listing after the writes\)/) });
    }
    // LDAP: one modify locks the entry and ends its term, one per group (two here) removes the
    // membership by the DN recorded at onboarding, two searches read the proof; one bind for the run.
    expect(Object.fromEntries(ldapOps)).toEqual({ bind: 1, modify: ids.length * 3, search: ids.length * 2 });
    for (const id of ids) expect((await w.store.getAssignment(id))?.data.revocation).toMatchObject({ complete: true, condition: 'proven' });
  });

  it('the next night re-proves each account from its own live read (never a listing made before), and catches and repairs an account put back in a group by hand', async () => {
    await byHand((iam) => iam.send(new AddUserToGroupCommand({ UserName: 'ahead3', GroupName: 'detailee-readonly' })));
    w.clock.set('2025-06-07T05:00:00Z');
    const { ctx, ops } = counting();
    const r = await runExpire(ctx, { dryRun: false, concurrency: 4 });
    expect(r.revoked).toEqual([]);
    expect(r.drift).toEqual([{ id: ids[3], target: 'aws', problems: ['groups: still in detailee-readonly'], fixed: true }]);
    expect(r.regressed).toEqual([{ id: ids[3], target: 'aws', object: expect.stringMatching(/user\/detailees\/ahead3$/), facts: ['groups: still in detailee-readonly'], repaired: true }]);
    expect(r.reproved).toBe(ids.length);
    expect(r.failed).toEqual([]);
    // A proof is a read made after the fact: no account-wide listing stands in for it.
    expect(ops.get('GetAccountAuthorizationDetails')).toBeUndefined();
    expect(ops.get('GetUser')).toBeGreaterThanOrEqual(ids.length);
  });

  it('a key added by hand since onboarding fails the first proof; the revocation reads, shuts it and proves it in a second round', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'irs-2025-0990';
    await applyOnboarding(w.ctx(), await prepareOnboarding(w.ctx(), w.signedManifest(detaileeDoc(id, 'handkey')), undefined));
    await byHand((iam) => iam.send(new CreateAccessKeyCommand({ UserName: 'handkey' })));
    w.clock.set('2025-06-08T05:00:00Z');
    const { ctx } = counting();
    const r = await runExpire(ctx, { dryRun: false, concurrency: 4 });
    expect(r.failed).toEqual([]);
    expect(r.revoked.find((x) => x.id === id)).toMatchObject({ complete: true });
    const journal = (await w.store.journalFor(id)).filter((j) => j.operation === 'expire' && j.target === 'aws');
    // Round one from the record, its proof naming the key; round two from a fresh read.
    expect(journal.filter((j) => j.stepId === 'aws.verify').map((j) => j.status)).toEqual(['failed', 'verified']);
    expect(journal.find((j) => j.stepId === 'aws.verify' && j.status === 'failed')?.detail).toMatch(/accessKeys: active access keys/);
    expect(journal.some((j) => j.stepId.startsWith('aws.key.deactivate:') && j.status === 'done')).toBe(true);
    const keys = await byHand((iam) => iam.send(new ListAccessKeysCommand({ UserName: 'handkey' })));
    expect(keys.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Inactive']);
  });
  it('a group added by hand to one of ten fails that proof from the listing; the revocation reads that user, takes it out and proves it from its own read, the others from the listing', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const batch = Array.from({ length: 10 }, (_, i) => `irs-2025-${String(950 + i)}`);
    for (const [i, id] of batch.entries()) await applyOnboarding(w.ctx(), await prepareOnboarding(w.ctx(), w.signedManifest(detaileeDoc(id, `listed${i}`)), undefined));
    await w.moto.createGroup('hand-added');
    await byHand((iam) => iam.send(new AddUserToGroupCommand({ UserName: 'listed4', GroupName: 'hand-added' })));
    w.clock.set('2025-06-10T05:00:00Z');
    const { ctx, ops } = counting();
    const r = await runExpire(ctx, { dryRun: false, concurrency: 4 });
    expect(r.failed).toEqual([]);
    expect(r.revoked.filter((x) => batch.includes(x.id)).every((x) => x.complete)).toBe(true);
    expect(ops.get('GetAccountAuthorizationDetails')).toBe(1);
    const awsProof = async (id: string) => ((await w.store.getAssignment(id))?.data.revocation as { proofs: { target: string; via?: string; ok: boolean }[] }).proofs.find((p) => p.target === 'aws');
    for (const [i, id] of batch.entries()) {
      const proof = await awsProof(id);
      expect(proof?.ok, id).toBe(true);
      // The second round's proof is the user's own read: its write came after the listing.
      if (i === 4) expect(proof?.via).toBeUndefined();
      else expect(proof?.via, id).toMatch(/^GetAccountAuthorizationDetails /);
    }
    const journal = (await w.store.journalFor(batch[4]!)).filter((j) => j.operation === 'expire' && j.target === 'aws');
    expect(journal.filter((j) => j.stepId === 'aws.verify').map((j) => j.status)).toEqual(['failed', 'verified']);
    expect(journal.find((j) => j.stepId === 'aws.verify' && j.status === 'failed')?.detail).toMatch(/groups: still in hand-added/);
  });
});
