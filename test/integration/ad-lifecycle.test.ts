import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import type { Config } from '../../src/config/resolve.js';
import { signJws } from '../../src/crypto/jws.js';
import type { Context } from '../../src/lifecycle/context.js';
import { exitCodeOf, runExpire } from '../../src/lifecycle/expire.js';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import { reconcile } from '../../src/lifecycle/reconcile.js';
import { revokeAssignment } from '../../src/lifecycle/revoke.js';
import { show } from '../../src/lifecycle/show.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { bindRefusal } from '../../src/targets/ad/errors.js';
import { openTargets } from '../../src/targets/index.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';
import { startSambaDC, sambaSkipReason, writeAdWorkspace, type SambaDC } from '../helpers/samba.js';
import { TestClock } from '../helpers/world.js';

/**
 * Active Directory through the lifecycle (onboard, the nightly start-day enable, revoke with its
 * stored proof, the nightly re-proof) against a real Samba DC, with the detailee trying a real bind
 * and a real kinit. detailee's clock is injected; the DC judges accountExpires by the machine's
 * clock, so terms are placed relative to the real date (yesterday, tomorrow). Nothing sleeps.
 */
const skip = sambaSkipReason();
if (skip) console.warn(`ad-lifecycle.test.ts: ${skip}`);

const DAY = 86_400_000;
const HOUR = 3_600_000;
const PW = 'Tst-first-Passw0rd!';
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe.skipIf(skip !== undefined)('Active Directory in the lifecycle, against a real Samba DC', () => {
  let dc: SambaDC;
  let dir: string;
  let config: Config;
  let store: SqliteStore;
  let sign: (doc: Record<string, unknown>, name: string) => string;
  const real = Date.now();
  const clock = new TestClock(real);
  const ctx = (o: Partial<Context> = {}): Context => ({ config, store, clock, actor: 'officer', openTargets: () => openTargets(config, clock), ...o });

  /** A v1 manifest with access.ad only, in UTC so the term's midnights are plain instants. */
  const doc = (id: string, username: string, start: string, days: number) =>
    manifest({
      id,
      detailee: { givenName: 'Ada', familyName: 'Byron', email: `${username}@gsa.example.gov`, username, homeAgency: 'GSA' },
      term: { start, days, timezone: 'UTC', renewals: { max: 1, days: 30 } },
      access: { ad: { groups: ['vpn-users'] } },
      prerequisites: { backgroundInvestigation: { tier: 'Tier 2', adjudicated: dateOf(real - 40 * DAY) }, disclosureTraining: dateOf(real - 40 * DAY), confidentialityAgreement: dateOf(real - 40 * DAY) },
    });
  async function onboard(id: string, username: string, start: string, days: number) {
    const c = ctx();
    return applyOnboarding(c, await prepareOnboarding(c, sign(doc(id, username, start, days), `${id}.yaml`), undefined));
  }
  const dnOf = (u: string) => `CN=${u},${dc.usersDN}`;
  const upn = (u: string) => `${u}@${dc.upnSuffix}`;
  async function helpDeskPassword(u: string, password = PW): Promise<void> {
    await dc.admin((c) => c.modify(dnOf(u), new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] as unknown as string[] }) })));
  }
  async function refused(u: string, pw = PW): Promise<string> {
    const r = await dc.bindAs(upn(u), pw);
    return r.ok ? 'accepted' : (bindRefusal(r.error)?.data ?? r.error.message);
  }
  const kinit = (u: string, pw = PW) => dc.kinit(`${u}@${dc.realm}`, pw);

  beforeAll(async () => {
    dc = await startSambaDC();
    await dc.addGroup('vpn-users');
    dir = tempDir('detailee-ad-');
    const approverPem = writeAdWorkspace(dir, dc);
    config = loadConfig(join(dir, 'detailee.yaml'), {}, dir);
    store = await SqliteStore.open(join(dir, 'detailee.db'));
    sign = (d, name) => {
      const f = writeManifest(dir, d, name);
      writeFileSync(`${f}.jws`, signJws(readFileSync(f), undefined, approverPem, 'alan.turing'));
      return f;
    };
  }, 400_000);
  afterAll(async () => {
    await store?.close();
    await dc?.stop();
  });

  it('onboards before the start: recorded on ad, disabled, so the DC refuses the bind (533) and kinit', async () => {
    clock.set(new Date(real).toISOString());
    const r = await onboard('ad-2026-0001', 'adstart', dateOf(real + DAY), 30);
    expect(r.targets).toEqual([expect.objectContaining({ target: 'ad', ok: true, object: dnOf('adstart') })]);
    const rec = await store.getAssignment('ad-2026-0001');
    expect(rec?.data.targets).toEqual([expect.objectContaining({ target: 'ad', object: dnOf('adstart'), groups: ['vpn-users'], groupObjects: { 'vpn-users': `CN=vpn-users,${dc.groupsDN}` } })]);
    await helpDeskPassword('adstart');
    expect(await refused('adstart')).toBe('533');
    expect(kinit('adstart').output).toMatch(/credentials have been revoked/i);
    // The nightly job before the start leaves it alone.
    const night = await runExpire(ctx(), { dryRun: false, concurrency: 2 });
    expect(night.enabled).toEqual([]);
    expect(exitCodeOf(night)).toBe(0);
    expect(await refused('adstart')).toBe('533');
  });

  it('the nightly job on the start day enables it and proves it; then the bind and kinit work, and the next night does nothing', async () => {
    const rec = await store.getAssignment('ad-2026-0001');
    clock.set(new Date(Date.parse(rec!.term.startsAt) + HOUR).toISOString());
    const dry = await runExpire(ctx(), { dryRun: true, concurrency: 1 });
    expect(dry.enabled).toEqual([{ id: 'ad-2026-0001', target: 'ad', enabled: false }]);
    expect(await refused('adstart')).toBe('533');
    const night = await runExpire(ctx(), { dryRun: false, concurrency: 2 });
    expect(night.enabled).toEqual([{ id: 'ad-2026-0001', target: 'ad', enabled: true }]);
    expect(night.failed).toEqual([]);
    expect(exitCodeOf(night)).toBe(0);
    expect(await refused('adstart')).toBe('accepted');
    expect(kinit('adstart').ok).toBe(true);
    const after = await store.getAssignment('ad-2026-0001');
    expect(after?.data.targets).toEqual([expect.objectContaining({ target: 'ad', enabledAt: clock.now().toISOString() })]);
    expect((await store.auditFor('ad-2026-0001')).map((e) => e.kind)).toContain('account.enabled');
    clock.set(new Date(clock.now().getTime() + DAY).toISOString());
    expect((await runExpire(ctx(), { dryRun: false, concurrency: 2 })).enabled).toEqual([]);
  });

  it('is refused after the end by the DC itself (701), with no nightly job after onboarding', async () => {
    // Onboarded five days ago (by detailee's clock) for a term that ended at 00:00 UTC today.
    clock.set(new Date(real - 5 * DAY).toISOString());
    const r = await onboard('ad-2026-0002', 'adended', dateOf(real - 10 * DAY), 10);
    expect(r.targets.every((t) => t.ok)).toBe(true);
    await helpDeskPassword('adended');
    expect(await refused('adended')).toBe('701');
    expect(kinit('adended').output).toMatch(/credentials have been revoked/i);
  });

  it('revokes inside the term: the proof (flag, expiry, no group) is stored and shown; the bind and kinit are refused', async () => {
    clock.set(new Date(real).toISOString());
    expect((await onboard('ad-2026-0003', 'adrevoke', dateOf(real - DAY), 30)).targets.every((t) => t.ok)).toBe(true);
    await helpDeskPassword('adrevoke');
    expect(await refused('adrevoke')).toBe('accepted');
    expect(kinit('adrevoke').ok).toBe(true);

    clock.set(new Date(real + 60_000).toISOString());
    const r = await revokeAssignment(ctx(), 'ad-2026-0003', { reason: 'ended early', finalState: 'revoked' });
    expect(r.complete).toBe(true);
    const event = (await store.auditFor('ad-2026-0003')).find((e) => e.kind === 'revocation.verified');
    const proofs = event?.details.proofs as { target: string; object: string; server: string; ok: boolean; facts: { fact: string; ok: boolean; read: string }[] }[];
    expect(proofs.map((p) => [p.target, p.object, p.server, p.ok])).toEqual([['ad', dnOf('adrevoke'), dc.url, true]]);
    expect(proofs[0]!.facts.map((f) => f.fact)).toEqual(['identity', 'assignment', 'disabled', 'expiry', 'groups']);
    expect(proofs[0]!.facts.every((f) => f.ok && f.read === 'live')).toBe(true);
    const shown = await show(store, 'ad-2026-0003', clock.now());
    expect(JSON.stringify(shown)).toMatch(/ACCOUNTDISABLE/);
    // The password was replaced (52e); one reset by hand meets a disabled account (533).
    expect(await refused('adrevoke')).toBe('52e');
    expect(kinit('adrevoke').ok).toBe(false);
    await helpDeskPassword('adrevoke', 'Tst-helpdesk-Res3t!');
    expect(await refused('adrevoke', 'Tst-helpdesk-Res3t!')).toBe('533');
    expect(kinit('adrevoke', 'Tst-helpdesk-Res3t!').output).toMatch(/credentials have been revoked/i);
  });

  it('the nightly re-proof catches a hand re-enable, a re-added group and an expiry pushed out: exit 1, naming the target and facts', async () => {
    const dn = dnOf('adrevoke');
    const replace = (type: string, value: string) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
    await dc.admin(async (c) => {
      await c.modify(dn, [replace('userAccountControl', '512'), replace('accountExpires', '0')]);
      await c.modify(`CN=vpn-users,${dc.groupsDN}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
    });
    expect(await refused('adrevoke', 'Tst-helpdesk-Res3t!')).toBe('accepted');
    clock.set(new Date(real + HOUR).toISOString());
    const night = await runExpire(ctx(), { dryRun: false, concurrency: 2 });
    expect(exitCodeOf(night)).toBe(1);
    const reg = night.regressed.find((x) => x.id === 'ad-2026-0003');
    expect(reg).toMatchObject({ target: 'ad', object: dn, repaired: true });
    expect(reg!.facts).toEqual([
      'disabled: userAccountControl 512 (NORMAL_ACCOUNT)',
      expect.stringMatching(/^expiry: accountExpires never is not at or before/),
      `groups: still in CN=vpn-users,${dc.groupsDN}`,
    ]);
    // Repaired by revoking again: the password a hand reset gave is gone, the account shut.
    expect(await refused('adrevoke', 'Tst-helpdesk-Res3t!')).toBe('52e');
    expect((await store.auditFor('ad-2026-0003')).map((e) => e.kind)).toContain('revocation.regressed');
  });

  it('a recorded AD target the config no longer has is unproven, never verified', async () => {
    clock.set(new Date(real).toISOString());
    const noAd = { ...config, targets: {} } as Config;
    const r = await revokeAssignment(ctx({ config: noAd, openTargets: () => openTargets(noAd, clock) }), 'ad-2026-0001', { reason: 'ended early', finalState: 'revoked' });
    expect(r.complete).toBe(false);
    expect(r.targets).toEqual([expect.objectContaining({ target: 'ad', ok: false, error: expect.stringMatching(/no targets\.ad: unproven/) })]);
    // With the config back, the revocation completes and is proven.
    const again = await runExpire(ctx(), { dryRun: false, concurrency: 2 });
    expect(again.revoked.find((x) => x.id === 'ad-2026-0001')).toMatchObject({ complete: true });
    expect(await refused('adstart')).toBe('52e');
  });

  it('a DC that does not answer: the targets still open, the AD revocation is unproven (exit 1, named), and completes once it answers', async () => {
    clock.set(new Date(real).toISOString());
    expect((await onboard('ad-2026-0005', 'addown', dateOf(real - DAY), 30)).targets.every((t) => t.ok)).toBe(true);
    const down = { ...config, targets: { ad: { ...config.targets.ad!, url: 'ldaps://127.0.0.1:1' } } } as Config;
    const opened = await openTargets(down, clock);
    expect(opened.map((t) => t.name)).toEqual(['ad']);
    await Promise.all(opened.map((t) => t.close()));
    const r = await revokeAssignment(ctx({ config: down, openTargets: () => openTargets(down, clock) }), 'ad-2026-0005', { reason: 'ended early', finalState: 'revoked' });
    expect(r.complete).toBe(false);
    expect(r.targets).toEqual([expect.objectContaining({ target: 'ad', ok: false, error: expect.stringMatching(/the domain controller did not answer \(ECONNREFUSED\)/) })]);
    expect((await store.getAssignment('ad-2026-0005'))?.data.revocation).toMatchObject({ complete: false, condition: 'incomplete' });
    const night = await runExpire(ctx(), { dryRun: false, concurrency: 2 });
    expect(night.revoked.find((x) => x.id === 'ad-2026-0005')).toMatchObject({ complete: true });
  });

  it('doctor checks targets.ad: the bind over the pinned TLS, and that usersDN and groupsDN exist', async () => {
    const adCheck = async (over: Partial<NonNullable<Config['targets']['ad']>>) => {
      const c = { ...config, targets: { ad: { ...config.targets.ad!, ...over } } } as Config;
      return (await runDoctor(c, { now: clock.now() })).checks.find((x) => x.id === 'ad')!;
    };
    expect(await adCheck({})).toMatchObject({ status: 'pass', detail: expect.stringMatching(/over LDAPS, DC certificate checked against .*; usersDN and groupsDN exist/) });
    expect(await adCheck({ usersDN: `OU=Nowhere,${dc.baseDN}` })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/usersDN OU=Nowhere,.* does not exist/), fix: expect.stringMatching(/targets\.ad\.usersDN/) });
    writeFileSync(join(dir, 'wrong-password'), 'not-the-password');
    expect(await adCheck({ bindPasswordFile: join(dir, 'wrong-password') })).toMatchObject({ status: 'fail', detail: expect.stringMatching(/wrong password .*\(data 52e\)/), fix: expect.stringMatching(/targets\.ad\.bindDN/) });
    // The password itself is never in what doctor prints.
    expect(JSON.stringify(await runDoctor(config, { now: clock.now() }))).not.toContain(dc.adminPassword);
  });

  it('reconcile finds drift on an active AD account and marked accounts no assignment owns, and --fix converges them', async () => {
    clock.set(new Date(real).toISOString());
    expect((await onboard('ad-2026-0004', 'adrecon', dateOf(real - DAY), 30)).targets.every((t) => t.ok)).toBe(true);
    const dn = dnOf('adrecon');
    await dc.addGroup('Hand Group');
    const replace = (type: string, value: string) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
    await dc.admin(async (c) => {
      await c.modify(dn, [replace('accountExpires', '9223372036854775807')]);
      await c.modify(`CN=Hand Group,${dc.groupsDN}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
      // A marked, enabled account whose assignment is not in the store.
      await c.add(dnOf('adghost'), { objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: 'adghost', sAMAccountName: 'adghost', employeeType: 'detailee', description: 'detailee:ad-ghost-1', unicodePwd: Buffer.from(`"${PW}"`, 'utf16le') as unknown as string, userAccountControl: '512' });
    });
    expect(await refused('adghost')).toBe('accepted');
    const r = await reconcile(ctx(), { fix: true });
    const drift = r.report.drift.find((d) => d.id === 'ad-2026-0004');
    expect(drift).toMatchObject({ target: 'ad', fixable: true });
    expect(drift!.problems).toEqual([expect.stringMatching(/^ad\.expiry\.set: accountExpires never → /), expect.stringMatching(/group Hand Group was added outside detailee/)]);
    expect(r.report.orphans).toEqual([expect.objectContaining({ target: 'ad', username: 'adghost', assignmentId: 'ad-ghost-1' })]);
    await r.apply();
    expect(drift!.fixed).toBe(true);
    expect(r.report.orphans[0]!.fixed).toBe(true);
    expect(await refused('adghost')).toBe('52e');
    const again = await reconcile(ctx(), { fix: false });
    expect(again.report.drift.find((d) => d.id === 'ad-2026-0004')!.problems).toEqual([expect.stringMatching(/group Hand Group was added outside detailee/)]);
  });
});
