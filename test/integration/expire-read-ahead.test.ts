import { AddUserToGroupCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExpire } from '../../src/lifecycle/expire.js';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import { createIamTarget } from '../../src/targets/aws/index.js';
import { openTargets } from '../../src/targets/index.js';
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

/** A context whose IAM target tallies the requests it sends, by operation. */
function counting(): { ctx: Context; ops: Map<string, number> } {
  const ops = new Map<string, number>();
  const ctx = w.ctx({
    openTargets: async () => [
      ...(await openTargets(w.config, w.clock, ['ldap'])),
      await createIamTarget(w.config.targets.aws!, { clock: w.clock, onCall: (op) => ops.set(op, (ops.get(op) ?? 0) + 1) }),
    ],
  });
  return { ctx, ops };
}

describe('the nightly job reads IAM ahead a page at a time (slapd and moto)', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `irs-2025-${String(900 + i)}`);

  it('plans a dozen revocations from one account listing, and verifies each by reading the live user back', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    for (const [i, id] of ids.entries()) {
      const r = await applyOnboarding(w.ctx(), await prepareOnboarding(w.ctx(), w.signedManifest(detaileeDoc(id, `ahead${i}`)), undefined));
      expect(r.targets.every((t) => t.ok)).toBe(true);
    }
    w.clock.set('2025-06-06T05:00:00Z');
    const { ctx, ops } = counting();
    const r = await runExpire(ctx, { dryRun: false, concurrency: 4 });
    expect(r.failed).toEqual([]);
    expect(r.revoked.map((x) => x.id).sort()).toEqual(ids);
    expect(r.revoked.every((x) => x.complete)).toBe(true);
    expect(ops.get('GetAccountAuthorizationDetails')).toBe(1);
    // One GetUser per revocation: its verification. The plan came from the listing.
    expect(ops.get('GetUser')).toBe(ids.length);
    expect(ops.get('GetUserPolicy')).toBe(ids.length);
    for (const id of ids) expect((await w.store.getAssignment(id))?.data.revocation).toMatchObject({ complete: true });
  });

  it('the next night re-proves each account from its own live read (never a listing made before), and catches and repairs an account put back in a group by hand', async () => {
    const admin = await w.moto.iam();
    try {
      await admin.send(new AddUserToGroupCommand({ UserName: 'ahead3', GroupName: 'detailee-readonly' }));
    } finally {
      admin.destroy();
    }
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
});
