import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { bindRefusal } from '../../src/targets/ad/errors.js';
import { fromFileTime } from '../../src/targets/ad/filetime.js';
import { cli, runLifecycle } from '../helpers/scenario.js';
import { startCliServers } from '../helpers/servers.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';
import { adServers, startSambaDC, sambaSkipReason, writeAdWorkspace, type SambaDC } from '../helpers/samba.js';

/**
 * The built CLI with an Active Directory target (a real Samba DC): onboard, revoke with its proof,
 * the nightly job catching a hand re-enable with exit 1 naming the target and the facts, and a
 * renewal by signed amendment moving accountExpires on the DC.
 * DETAILEE_NOW pins detailee's clock; the term is placed relative to the real date because the DC
 * judges accountExpires by the machine's clock.
 */
const skip = sambaSkipReason();
if (skip) console.warn(`cli/ad.test.ts: ${skip}`);

const real = Date.now();
const at = (offsetMs: number) => new Date(real + offsetMs).toISOString();
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const PW = 'Tst-first-Passw0rd!';
const ID = 'adcli-2026-0001';

describe.skipIf(skip !== undefined)('detailee with targets.ad (built CLI, real Samba DC)', () => {
  let dc: SambaDC;
  let dir: string;
  let file: string;
  let approverPem: string;
  const dn = (user = 'adcli') => `CN=${user},${dc.usersDN}`;
  const bind = async (pw = PW, user = 'adcli') => {
    const r = await dc.bindAs(`${user}@${dc.upnSuffix}`, pw);
    return r.ok ? 'accepted' : (bindRefusal(r.error)?.data ?? r.error.message);
  };

  beforeAll(async () => {
    dc = await startSambaDC();
    await dc.addGroup('vpn-users');
    dir = tempDir('detailee-cli-ad-');
    approverPem = writeAdWorkspace(dir, dc);
    const past = dateOf(real - 40 * 86_400_000);
    file = writeManifest(
      dir,
      manifest({
        id: ID,
        detailee: { givenName: 'Ada', familyName: 'Byron', email: 'adcli@gsa.example.gov', username: 'adcli', homeAgency: 'GSA' },
        term: { start: dateOf(real - 86_400_000), days: 30, timezone: 'UTC', renewals: { max: 1, days: 30 } },
        access: { ad: { groups: ['vpn-users'] } },
        prerequisites: { backgroundInvestigation: { tier: 'Tier 2', adjudicated: past }, disclosureTraining: past, confidentialityAgreement: past },
      }),
      `${ID}.yaml`,
    );
    writeFileSync(`${file}.jws`, signJws(readFileSync(file), undefined, approverPem, 'alan.turing'));
  }, 400_000);
  afterAll(async () => {
    await dc?.stop();
  });

  it('onboards on AD and revokes with a proof stored and shown; the bind works, then is refused', async () => {
    const on = cli(dir, ['onboard', file, '--yes', '--json'], at(0));
    expect(on.exit, on.stderr).toBe(0);
    expect((on.json as { targets: { target: string; ok: boolean; object: string }[] }).targets).toEqual([expect.objectContaining({ target: 'ad', ok: true, object: dn() })]);
    await dc.admin((c) => c.modify(dn(), new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${PW}"`, 'utf16le')] as unknown as string[] }) })));
    expect(await bind()).toBe('accepted');

    const rv = cli(dir, ['revoke', ID, '--reason', 'ended early', '--yes', '--json'], at(60_000));
    expect(rv.exit, rv.stderr).toBe(0);
    expect(rv.json).toMatchObject({ complete: true, targets: [{ target: 'ad', ok: true }] });
    expect(await bind()).toBe('52e');

    const sh = cli(dir, ['show', ID, '--json'], at(120_000));
    expect(sh.exit, sh.stderr).toBe(0);
    expect(JSON.stringify(sh.json)).toMatch(/ad CN=adcli,[^"]* read [^"]* from ldaps:\/\/127\.0\.0\.\d+: [^"]*userAccountControl 514 \(ACCOUNTDISABLE, NORMAL_ACCOUNT\); accountExpires [^"]*; no groups"/);
  });

  it('the nightly job: a hand re-enable is exit 1 naming ad, the object and the facts, and is repaired', async () => {
    await dc.admin((c) =>
      c.modify(dn(), [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${PW}"`, 'utf16le')] as unknown as string[] }) }),
      ]),
    );
    expect(await bind()).toBe('accepted');
    const night = cli(dir, ['expire', '--json'], at(3_600_000));
    expect(night.exit, night.stderr).toBe(1);
    expect((night.json as { regressed: unknown[] }).regressed).toEqual([
      { id: ID, target: 'ad', object: dn(), facts: ['disabled: userAccountControl 512 (NORMAL_ACCOUNT)'], repaired: true },
    ]);
    expect(await bind()).toBe('52e');
    // Proven again the next night: exit 0.
    const next = cli(dir, ['expire', '--json'], at(3_600_000 + 86_400_000));
    expect(next.exit, next.stderr).toBe(0);
  });

  it('renews by signed amendment: accountExpires moves on the DC, and an account it refused after the end (701) binds again', async () => {
    const id = 'adcli-2026-0002';
    const past = dateOf(real - 40 * 86_400_000);
    // A 30-day term that ended in the last day by the DC's clock; detailee's clock is pinned to
    // days before that end, when the detail was still running.
    const f = writeManifest(
      dir,
      manifest({
        id,
        detailee: { givenName: 'Grace', familyName: 'Hopper', email: 'adrenew@gsa.example.gov', username: 'adrenew', homeAgency: 'GSA' },
        term: { start: dateOf(real - 31 * 86_400_000), days: 30, timezone: 'UTC', renewals: { max: 1, days: 30 } },
        access: { ad: { groups: ['vpn-users'] } },
        prerequisites: { backgroundInvestigation: { tier: 'Tier 2', adjudicated: past }, disclosureTraining: past, confidentialityAgreement: past },
      }),
      `${id}.yaml`,
    );
    writeFileSync(`${f}.jws`, signJws(readFileSync(f), undefined, approverPem, 'alan.turing'));
    const on = cli(dir, ['onboard', f, '--yes', '--json'], at(-5 * 86_400_000));
    expect(on.exit, on.stderr).toBe(0);
    await dc.admin((c) => c.modify(dn('adrenew'), new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${PW}"`, 'utf16le')] as unknown as string[] }) })));
    const endsAt = async () => {
      const r = await dc.admin((c) => c.search(dn('adrenew'), { scope: 'base', attributes: ['accountExpires'] }));
      return Date.parse(fromFileTime(BigInt(String(r.searchEntries[0]!.accountExpires))));
    };
    const before = (cli(dir, ['show', id, '--json'], at(-5 * 86_400_000)).json as { endsAt: string }).endsAt;
    expect(Date.parse(before)).toBeLessThan(real);
    expect(await endsAt()).toBe(Date.parse(before));
    expect(await bind(PW, 'adrenew')).toBe('701');

    const am = join(dir, `${id}-amendment.yaml`);
    writeFileSync(am, stringify({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment: id, renewalDays: 30, reason: 'extended by the host office' }));
    writeFileSync(`${am}.jws`, signJws(readFileSync(am), undefined, approverPem, 'alan.turing'));
    const rn = cli(dir, ['renew', id, am, '--yes', '--json'], at(-3 * 86_400_000));
    expect(rn.exit, rn.stderr).toBe(0);
    const after = (rn.json as { term: { endsAt: string } }).term.endsAt;
    expect(Date.parse(after) - Date.parse(before)).toBe(30 * 86_400_000);
    expect(rn.json).toMatchObject({ changed: true, targets: [expect.objectContaining({ target: 'ad', ok: true })] });
    expect(await endsAt()).toBe(Date.parse(after));
    expect(await bind(PW, 'adrenew')).toBe('accepted');
    // The same amendment again extends nothing.
    const again = cli(dir, ['renew', id, am, '--yes', '--json'], at(-3 * 86_400_000 + 60_000));
    expect(again.exit, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ changed: false });
    expect(await endsAt()).toBe(Date.parse(after));
  });

  it("the demo's lifecycle with an AD leg: onboarded on ldap, aws and ad, enabled on the start day, revoked on all three, a certificate that verifies", async () => {
    const servers = await startCliServers();
    try {
      await dc.addGroup('modernization');
      const d = tempDir('detailee-cli-ad-demo-');
      const steps = runLifecycle(d, {
        ...servers.servers,
        ad: adServers(dc, ['modernization']),
      });
      expect(steps.map((s) => [s.step, s.exit, s.exit === 0 ? '' : s.stderr])).toEqual(steps.map((s) => [s.step, 0, '']));
      const step = (prefix: string, nth = 0) => steps.filter((s) => s.args.join(' ').startsWith(prefix))[nth]!;
      expect((step('onboard').json as { targets: { target: string; ok: boolean }[] }).targets.map((t) => [t.target, t.ok])).toEqual([
        ['ldap', true],
        ['aws', true],
        ['ad', true],
      ]);
      // Onboarded the day before the start: the first nightly run after it enables the account.
      expect((step('expire', 0).json as { enabled: unknown[] }).enabled).toEqual([{ id: 'irs-2025-0042', target: 'ad', enabled: true }]);
      expect((step('expire', 1).json as { revoked: { complete: boolean; targets: { target: string; ok: boolean }[] }[] }).revoked).toEqual([
        expect.objectContaining({ complete: true, targets: [expect.objectContaining({ target: 'ldap', ok: true }), expect.objectContaining({ target: 'aws', ok: true }), expect.objectContaining({ target: 'ad', ok: true })] }),
      ]);
      expect(step('certificate verify').json).toMatchObject({ valid: true, format: 'pdf' });
      // On the DC itself: disabled, in no group.
      const entry = (await dc.admin((c) => c.search(dn('abyron'), { scope: 'base', attributes: ['userAccountControl', 'memberOf'] }))).searchEntries[0]!;
      expect(Number(entry.userAccountControl) & 2).toBe(2);
      expect(entry.memberOf ?? []).toEqual([]);
    } finally {
      await servers.stop();
    }
  });
});
