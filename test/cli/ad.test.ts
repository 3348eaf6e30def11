import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { bindRefusal } from '../../src/targets/ad/errors.js';
import { cli } from '../helpers/scenario.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';
import { startSambaDC, sambaSkipReason, type SambaDC } from '../helpers/samba.js';

/**
 * The built CLI with an Active Directory target (a real Samba DC): onboard, revoke with its proof,
 * and the nightly job catching a hand re-enable with exit 1 naming the target and the facts.
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
  const dn = () => `CN=adcli,${dc.usersDN}`;
  const bind = async (pw = PW) => {
    const r = await dc.bindAs(`adcli@${dc.upnSuffix}`, pw);
    return r.ok ? 'accepted' : (bindRefusal(r.error)?.data ?? r.error.message);
  };

  beforeAll(async () => {
    dc = await startSambaDC();
    await dc.addGroup('vpn-users');
    dir = tempDir('detailee-cli-ad-');
    const approver = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'approver.pub.pem'), approver.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'ad-password'), dc.adminPassword, { mode: 0o600 });
    writeFileSync(
      join(dir, 'detailee.yaml'),
      stringify({
        store: 'sqlite:detailee.db',
        timezone: 'UTC',
        trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] },
        targets: { ad: { url: dc.url, bindDN: dc.adminDN, bindPasswordFile: 'ad-password', usersDN: dc.usersDN, groupsDN: dc.groupsDN, upnSuffix: dc.upnSuffix, caCertificate: dc.caFile, mustChangePassword: false } },
        notices: { daysBefore: [] },
      }),
    );
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
    writeFileSync(`${file}.jws`, signJws(readFileSync(file), undefined, approver.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'alan.turing'));
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
});
