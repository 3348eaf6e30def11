import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change } from 'ldapts';
import { DeleteUserPolicyCommand, GetUserCommand, ListGroupsForUserCommand, ListUserPoliciesCommand } from '@aws-sdk/client-iam';
import { verifyAudit } from '../../src/audit/audit.js';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import { revokeAssignment } from '../../src/lifecycle/revoke.js';
import { exitCodeOf, runExpire, LOCK_NAME } from '../../src/lifecycle/expire.js';
import { loadConfig } from '../../src/config/load.js';
import { renewAssignment } from '../../src/lifecycle/renew.js';
import { reconcile, type ReconcileReport } from '../../src/lifecycle/reconcile.js';
import type { Context } from '../../src/lifecycle/context.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { closedPort, startSmtpSink } from '../helpers/smtp.js';
import { startWorld, TestClock, type World } from '../helpers/world.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

async function onboard(file: string, ctx: Context = w.ctx()) {
  const prep = await prepareOnboarding(ctx, file, undefined);
  return applyOnboarding(ctx, prep);
}

async function ldapEntry(username: string): Promise<Record<string, unknown> | undefined> {
  return w.slapd.admin(async (c) => {
    const r = await c.search(w.slapd.peopleDN, { filter: `(uid=${username})`, attributes: ['*', '+'] });
    return r.searchEntries[0];
  });
}

async function ldapGroupsOf(username: string): Promise<string[]> {
  return w.slapd.admin(async (c) => {
    const r = await c.search(w.slapd.groupsDN, { filter: `(member=uid=${username},${w.slapd.peopleDN})`, attributes: ['cn'] });
    return r.searchEntries.map((e) => String(e.cn)).sort();
  });
}

async function iam() {
  return w.moto.iam();
}

describe('onboard, revoke, renew, expire, reconcile against slapd and moto', () => {
  it('onboards on both targets with the term enforced by each, and a second run does nothing', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const f = w.signedManifest(detaileeDoc('irs-2025-0001', 'abyron'));
    const r = await onboard(f);
    expect(r.targets.map((t) => [t.target, t.ok])).toEqual([
      ['ldap', true],
      ['aws', true],
    ]);
    const e = await ldapEntry('abyron');
    expect(e?.pwdStartTime).toBe('20250206050000Z');
    expect(e?.pwdEndTime).toBe('20250606040000Z');
    expect(e?.description).toBe('detailee:irs-2025-0001');
    expect(await ldapGroupsOf('abyron')).toEqual(['analysts', 'modernization']);
    const client = await iam();
    const u = await client.send(new GetUserCommand({ UserName: 'abyron' }));
    expect(u.User?.Path).toBe('/detailees/');
    expect(u.User?.Tags).toEqual(expect.arrayContaining([{ Key: 'detailee:ends-at', Value: '2025-06-06T04:00:00.000Z' }]));
    expect((await client.send(new ListUserPoliciesCommand({ UserName: 'abyron' }))).PolicyNames).toContain('detailee-term');
    const again = await onboard(f);
    expect(again.changed).toBe(false);
    expect((await w.store.getAssignment('irs-2025-0001'))?.state).toBe('active');
  });

  it('refuses an ended term and an unknown group before writing anything', async () => {
    w.clock.set('2025-07-01T15:00:00Z');
    await expect(onboard(w.signedManifest(detaileeDoc('irs-2025-0002', 'late')))).rejects.toMatchObject({ exit: 2, code: 'onboard.ended' });
    w.clock.set('2025-02-05T15:00:00Z');
    const bad = w.signedManifest(detaileeDoc('irs-2025-0003', 'nogroup', { access: { ldap: { groups: ['no-such-group'] }, aws: { groups: [], policies: [] } } }));
    await expect(onboard(bad)).rejects.toMatchObject({ exit: 2 });
    expect(await ldapEntry('nogroup')).toBeUndefined();
    expect(await w.store.getAssignment('irs-2025-0003')).toBeUndefined();
  });

  it('converges after a crash at every step, with no duplicate and a journal that shows it', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    // Count the steps of a full onboarding first.
    const probe = await prepareOnboarding(w.ctx(), w.signedManifest(detaileeDoc('irs-2025-0100', 'crash0')), undefined);
    const total = probe.rows.length;
    for (const t of probe.targets) await t.close();
    expect(total).toBeGreaterThan(5);
    class Crash extends Error {}
    for (let n = 1; n <= total; n++) {
      const id = `irs-2025-01${String(n).padStart(2, '0')}`;
      const user = `crash${n}`;
      const f = w.signedManifest(detaileeDoc(id, user), `${id}.yaml`);
      const crashing = w.ctx({
        afterStep: (count) => {
          if (count === n) throw new Crash(`killed after step ${n}`);
        },
      });
      await expect(onboard(f, crashing)).rejects.toBeInstanceOf(Crash);
      const r = await onboard(f);
      expect(r.targets.every((t) => t.ok)).toBe(true);
      expect(r.targets.flatMap((t) => t.steps).length).toBe(total - n);
      expect(await ldapGroupsOf(user)).toEqual(['analysts', 'modernization']);
      const groups = await (await iam()).send(new ListGroupsForUserCommand({ UserName: user }));
      expect(groups.Groups?.map((g) => g.GroupName)).toEqual(['detailee-readonly']);
      const journal = await w.store.journalFor(id);
      const done = journal.filter((j) => j.status === 'done').map((j) => j.stepId);
      expect(new Set(done).size).toBe(done.length);
      expect(done.length).toBe(total);
      expect(journal.filter((j) => j.status === 'started').length).toBe(total);
      expect((await w.store.getAssignment(id))?.data.provisioned).toBe(true);
    }
    expect((await verifyAudit(w.store)).ok).toBe(true);
  });

  it('revokes on every target; with the directory down it reports per target, exits 1, and a re-run finishes', async () => {
    w.clock.set('2025-03-01T15:00:00Z');
    await onboard(w.signedManifest(detaileeDoc('irs-2025-0200', 'revokee')));
    w.slapd.kill();
    let r;
    try {
      r = await revokeAssignment(w.ctx(), 'irs-2025-0200', { reason: 'left early', finalState: 'revoked' });
    } catch (e) {
      // Opening the LDAP target itself may fail while it is down; that is an exit-1 failure too.
      expect((e as { exit?: number }).exit).toBe(1);
    } finally {
      await w.slapd.restart();
    }
    if (r) {
      expect(r.complete).toBe(false);
      expect(r.targets.find((t) => t.target === 'ldap')?.ok).toBe(false);
    }
    const again = await revokeAssignment(w.ctx(), 'irs-2025-0200', { reason: 'left early', finalState: 'revoked' });
    expect(again.targets.map((t) => [t.target, t.ok, t.error])).toEqual([
      ['ldap', true, undefined],
      ['aws', true, undefined],
    ]);
    expect(again.complete).toBe(true);
    expect((await ldapEntry('revokee'))?.pwdAccountLockedTime).toBe('000001010000Z');
    expect(await ldapGroupsOf('revokee')).toEqual([]);
    const pol = await (await iam()).send(new ListUserPoliciesCommand({ UserName: 'revokee' }));
    expect(pol.PolicyNames).toContain('detailee-revoked');
    const rec = await w.store.getAssignment('irs-2025-0200');
    expect(rec?.state).toBe('revoked');
    expect((rec?.data.revocation as { complete: boolean }).complete).toBe(true);
  });

  it('renews in place on every target, within renewals.max, and never after the end', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    await onboard(w.signedManifest(detaileeDoc('irs-2025-0300', 'renewee')));
    const am = (days: number, name: string) =>
      w.signedDoc({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment: 'irs-2025-0300', renewalDays: days, reason: `extended ${name}` }, name);
    w.clock.set('2025-05-20T15:00:00Z');
    const r = await renewAssignment(w.ctx(), 'irs-2025-0300', am(60, 'a1.yaml'), undefined);
    expect(r.term.endsAt).toBe('2025-08-05T00:00:00-04:00');
    expect((await ldapEntry('renewee'))?.pwdEndTime).toBe('20250805040000Z');
    const u = await (await iam()).send(new GetUserCommand({ UserName: 'renewee' }));
    expect(u.User?.Tags).toEqual(expect.arrayContaining([{ Key: 'detailee:ends-at', Value: '2025-08-05T04:00:00.000Z' }]));
    await expect(renewAssignment(w.ctx(), 'irs-2025-0300', am(30, 'a2.yaml'), undefined)).rejects.toMatchObject({ exit: 2, code: 'renew.limit' });
    const again = await renewAssignment(w.ctx(), 'irs-2025-0300', join(w.dir, 'a1.yaml'), undefined);
    expect(again.changed).toBe(false);
  });

  it('refuses a renewal longer than the manifest allows, and one after the end, changing nothing', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const term = { start: '2025-02-06', days: 120, timezone: 'America/New_York', renewals: { max: 2, days: 30 } };
    await onboard(w.signedManifest(detaileeDoc('irs-2025-0301', 'renewee2', { term })));
    const am = (days: number, name: string) =>
      w.signedDoc({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment: 'irs-2025-0301', renewalDays: days, reason: `extended ${name}` }, name);
    const before = await w.store.auditHead();
    w.clock.set('2025-05-20T15:00:00Z');
    await expect(renewAssignment(w.ctx(), 'irs-2025-0301', am(31, 'p1.yaml'), undefined)).rejects.toMatchObject({
      exit: 2,
      code: 'renew.period',
      message: expect.stringMatching(/asks for 31 days; .* at most 30 days \(term\.renewals\.days\)/),
    });
    expect(await w.store.auditHead()).toEqual(before);
    expect((await ldapEntry('renewee2'))?.pwdEndTime).toBe('20250606040000Z');
    // Past the end (2025-06-06T00:00 New York), even a valid period is refused: a lapsed detail needs a new assignment.
    w.clock.set('2025-06-06T04:00:00Z');
    await expect(renewAssignment(w.ctx(), 'irs-2025-0301', am(30, 'p2.yaml'), undefined)).rejects.toMatchObject({ exit: 2, code: 'renew.lapsed' });
    expect(await w.store.auditHead()).toEqual(before);
    expect((await w.store.getAssignment('irs-2025-0301'))?.term.endsAt).toBe('2025-06-06T00:00:00-04:00');
  });

  it('the nightly job relays notices by SMTP: with the relay down it exits 1 and retries the next night from the same file, once', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    await onboard(w.signedManifest(detaileeDoc('smtp-1', 'mailed', { term: { start: '2025-02-06', days: 40, timezone: 'America/New_York' } })));
    const sink = await startSmtpSink();
    try {
      const withRelay = (port: number) => {
        const cfg = parse(readFileSync(join(w.dir, 'detailee.yaml'), 'utf8')) as { notices: Record<string, unknown> };
        cfg.notices = { ...cfg.notices, outbox: 'outbox-smtp', smtp: { host: '127.0.0.1', port, secure: false } };
        const f = join(w.dir, `smtp-${port}.yaml`);
        writeFileSync(f, stringify(cfg));
        return loadConfig(f, {}, w.dir);
      };
      const ours = (r: { notices: { id: string; delivery: string }[] }) => r.notices.filter((n) => n.id === 'smtp-1');
      // 40 days from 02-06 end 03-18 00:00 New York; the 30-day notice opens 02-16.
      w.clock.set('2025-02-16T06:00:00Z');
      const down = await runExpire(w.ctx({ config: withRelay(await closedPort()) }), { dryRun: false, concurrency: 2 });
      expect(ours(down).map((n) => n.delivery)).toEqual(['failed']);
      expect(down.failed).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'smtp-1', stage: 'notice', error: expect.stringMatching(/SMTP: .*retried next run/) })]));
      expect(exitCodeOf(down)).toBe(1);

      w.clock.set('2025-02-17T06:00:00Z');
      const up = await runExpire(w.ctx({ config: withRelay(sink.port) }), { dryRun: false, concurrency: 2 });
      expect(ours(up).map((n) => n.delivery)).toEqual(['sent']);
      const files = readdirSync(join(w.dir, 'outbox-smtp')).filter((f) => f.includes('smtp-1'));
      expect(files).toHaveLength(1);
      const got = sink.messages().filter((m) => m.raw.toString('utf8').includes('smtp-1'));
      expect(got).toHaveLength(1);
      expect(got[0]!.raw.equals(readFileSync(join(w.dir, 'outbox-smtp', files[0]!)))).toBe(true);
      expect(got[0]!.to).toEqual(['mailed@gsa.example.gov', 'grace.hopper@irs.example.gov', 'alan.turing@irs.example.gov']);

      // Sent is sent: the same night again relays nothing.
      const third = await runExpire(w.ctx({ config: withRelay(sink.port) }), { dryRun: false, concurrency: 2 });
      expect(ours(third)).toEqual([]);
      expect(sink.messages().filter((m) => m.raw.toString('utf8').includes('smtp-1'))).toHaveLength(1);
    } finally {
      await sink.stop();
    }
  });

  it('a long nightly run renews its lock as it goes, so the next run cannot take over a live one', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const ids = ['lock-1', 'lock-2', 'lock-3'];
    for (const [i, id] of ids.entries()) await onboard(w.signedManifest(detaileeDoc(id, `locker${i + 1}`, { term: { start: '2025-02-06', days: 10, timezone: 'America/New_York' } })));
    const head = (await w.store.auditHead())?.seq ?? 0;
    const start = Date.parse('2025-02-17T06:00:00Z');
    const clockA = new TestClock(start);
    const hour = 3_600_000;
    let second: Promise<unknown> | undefined;
    // Each revocation takes an hour and a half of the injected clock; when the second is done the
    // next night's run starts, three hours after this one, past the lock's two-hour life.
    const a = runExpire(w.ctx({ clock: clockA }), {
      dryRun: false,
      concurrency: 1,
      onProgress: (stage, done) => {
        if (stage !== 'revoke') return;
        clockA.set(new Date(start + done * 1.5 * hour).toISOString());
        if (done === 2) {
          second = runExpire(w.ctx({ clock: new TestClock(start + 3 * hour) }), { dryRun: false, concurrency: 1 });
          second.catch(() => undefined);
        }
      },
    });
    const report = await a;
    expect(report.revoked.filter((r) => ids.includes(r.id)).map((r) => [r.id, r.complete])).toEqual(ids.map((id) => [id, true]));
    expect(report.lock.takenOver).toBeNull();
    await expect(second).rejects.toMatchObject({ exit: 4, code: 'expire.locked' });
    expect((await w.store.readAudit(head, 100_000)).map((e) => e.kind)).not.toContain('lock.taken-over');
  });

  it('the nightly job: notices once, revocation at the end, lock, drift repaired', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    await onboard(w.signedManifest(detaileeDoc('irs-2025-0400', 'nightly', { term: { start: '2025-02-06', days: 40, timezone: 'America/New_York' } })));
    // 40 days from 02-06: last day 03-17, end 03-18 00:00 EDT. The 30-day notice opens 02-16.
    w.clock.set('2025-02-16T06:00:00Z');
    const n1 = await runExpire(w.ctx(), { dryRun: false, concurrency: 4 });
    expect(n1.notices.filter((n) => n.id === 'irs-2025-0400').map((n) => n.key)).toEqual(['pre-expiry:2025-03-18T00:00:00-04:00:30']);
    const n2 = await runExpire(w.ctx(), { dryRun: false, concurrency: 4 });
    expect(n2.notices.filter((n) => n.id === 'irs-2025-0400')).toEqual([]);
    expect(readdirSync(join(w.dir, 'outbox')).filter((f) => f.includes('irs-2025-0400')).length).toBe(1);

    // Another holder's live lock: exit 4.
    await w.store.acquireLock(LOCK_NAME, 'other-host:1', w.clock.now(), 60_000);
    await expect(runExpire(w.ctx(), { dryRun: false, concurrency: 4 })).rejects.toMatchObject({ exit: 4 });
    await w.store.releaseLock(LOCK_NAME, 'other-host:1');

    // The night after the last day (missing the exact midnight does not matter): expired.
    w.clock.set('2025-03-19T06:00:00Z');
    const dry = await runExpire(w.ctx(), { dryRun: true, concurrency: 4 });
    expect(dry.revoked.map((r) => r.id)).toContain('irs-2025-0400');
    expect((await w.store.getAssignment('irs-2025-0400'))?.state).toBe('active');
    const run = await runExpire(w.ctx(), { dryRun: false, concurrency: 4 });
    expect(run.revoked.find((r) => r.id === 'irs-2025-0400')).toMatchObject({ complete: true });
    expect((await w.store.getAssignment('irs-2025-0400'))?.state).toBe('expired');
    expect(await w.store.getMeta('expire.heartbeat')).toMatchObject({ at: '2025-03-19T06:00:00.000Z' });

    // Someone re-enables the account by hand: the next run reports drift and re-revokes.
    await w.slapd.admin((c) => c.modify(`uid=nightly,${w.slapd.peopleDN}`, [new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime' }) })]));
    w.clock.set('2025-03-20T06:00:00Z');
    const next = await runExpire(w.ctx(), { dryRun: false, concurrency: 4 });
    expect(next.drift.find((d) => d.id === 'irs-2025-0400')).toMatchObject({ target: 'ldap', fixed: true });
    expect((await ldapEntry('nightly'))?.pwdAccountLockedTime).toBe('000001010000Z');
  });

  it('reconcile finds an orphan account and disables it with fix', async () => {
    w.clock.set('2025-03-20T06:00:00Z');
    await w.slapd.admin((c) =>
      c.add(`uid=ghost,${w.slapd.peopleDN}`, {
        objectClass: ['inetOrgPerson'],
        uid: 'ghost',
        cn: 'Ghost User',
        sn: 'User',
        employeeType: 'detailee',
        description: 'detailee:irs-1999-0001',
      }),
    );
    const { report } = await reconcile(w.ctx(), { fix: false });
    expect(report.orphans).toEqual(expect.arrayContaining([expect.objectContaining({ target: 'ldap', username: 'ghost', assignmentId: 'irs-1999-0001' })]));
    const fixing = await reconcile(w.ctx(), { fix: true });
    const after = await fixing.apply();
    expect(after.orphans.find((o) => o.username === 'ghost')?.fixed).toBe(true);
    expect((await ldapEntry('ghost'))?.pwdAccountLockedTime).toBe('000001010000Z');
  });

  it('reconcile reports drift of every kind and missing accounts; --fix converges what it may and leaves hand-added groups reported', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    for (const [id, user] of [['drift-1', 'drifter1'], ['drift-2', 'drifter2'], ['drift-3', 'drifter3']] as const) await onboard(w.signedManifest(detaileeDoc(id, user, { access: { ldap: { groups: ['modernization'] }, aws: { groups: ['detailee-readonly'], policies: [] } } })));
    w.clock.set('2025-03-01T15:00:00Z');
    await revokeAssignment(w.ctx(), 'drift-2', { reason: 'left early', finalState: 'revoked' });
    // By hand, behind detailee's back:
    const client = await iam();
    await client.send(new DeleteUserPolicyCommand({ UserName: 'drifter1', PolicyName: 'detailee-term' }));
    await w.slapd.admin((c) => c.modify(`cn=analysts,${w.slapd.groupsDN}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [`uid=drifter1,${w.slapd.peopleDN}`] }) })));
    await w.slapd.admin((c) => c.modify(`uid=drifter2,${w.slapd.peopleDN}`, new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) })));
    await w.slapd.admin((c) => c.del(`uid=drifter3,${w.slapd.peopleDN}`));

    const mine = (r: ReconcileReport) => ({
      drift: r.drift.filter((d) => d.id.startsWith('drift-')),
      missing: r.missing.filter((m) => m.id.startsWith('drift-')),
    });
    const { report } = await reconcile(w.ctx(), { fix: false });
    const found = mine(report);
    expect(found.missing).toEqual([{ id: 'drift-3', target: 'ldap', username: 'drifter3' }]);
    const byKey = Object.fromEntries(found.drift.map((d) => [`${d.id}/${d.target}`, d]));
    expect(byKey['drift-1/aws']?.problems.join('\n')).toMatch(/detailee-term/);
    expect(byKey['drift-1/ldap']?.problems.join('\n')).toMatch(/group analysts was added outside detailee/);
    expect(byKey['drift-2/ldap']?.problems.join('\n')).toMatch(/lock|pwdAccountLockedTime/i);
    expect(Object.values(byKey).every((d) => !d.fixed)).toBe(true);

    const fixing = await reconcile(w.ctx(), { fix: true });
    const after = mine(await fixing.apply());
    const fixed = Object.fromEntries(after.drift.map((d) => [`${d.id}/${d.target}`, d.fixed]));
    expect(fixed['drift-1/aws']).toBe(true);
    expect(fixed['drift-2/ldap']).toBe(true);
    // Hand-added groups on an active account are a human's call: reported, not removed.
    expect(fixed['drift-1/ldap']).toBe(false);
    expect((await ldapEntry('drifter2'))?.pwdAccountLockedTime).toBe('000001010000Z');
    expect((await client.send(new ListUserPoliciesCommand({ UserName: 'drifter1' }))).PolicyNames).toContain('detailee-term');
    const again = mine((await reconcile(w.ctx(), { fix: false })).report);
    expect(again.drift.map((d) => `${d.id}/${d.target}`)).toEqual(['drift-1/ldap']);
  });
});
