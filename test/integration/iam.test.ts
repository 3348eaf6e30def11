import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdk from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/time/clock.js';
import type { AwsConfig } from '../../src/config/schema.js';
import { ActionError, InputError } from '../../src/errors.js';
import { revokedPolicyDocument, termPolicyDocument } from '../../src/targets/aws/documents.js';
import { REVOKED_POLICY, TERM_POLICY, iamFacts } from '../../src/targets/aws/facts.js';
import { createIamTarget, type IamTarget } from '../../src/targets/aws/index.js';
import type { Desired, Intent } from '../../src/targets/model.js';
import type { Step, Target } from '../../src/targets/target.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { makeCert } from '../helpers/pki.js';

const clock = fixedClock('2025-03-01T12:00:00Z');
const noSleep = async () => undefined;

let moto: Moto;
let admin: sdk.IAMClient;
let READ: string;
const opened: Target[] = [];

beforeAll(async () => {
  moto = await startMoto();
  admin = await moto.iam();
});

afterAll(async () => {
  admin?.destroy();
  await moto?.stop();
});

beforeEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
  await moto.reset();
  await moto.createGroup('analysts');
  await moto.createGroup('fti-readers');
  READ = await moto.createPolicy('fti-read');
});

function config(over: Partial<AwsConfig> = {}): AwsConfig {
  return { region: 'us-east-1', endpoint: moto.endpoint, path: '/detailees/', timeoutMs: 5_000, maxAttempts: 3, unsupportedOperations: [], ...over };
}

async function open(over: Partial<AwsConfig> = {}, onCall?: (op: string) => void): Promise<IamTarget> {
  const t = await createIamTarget(config(over), { clock, credentials: moto.credentials, sleep: noSleep, ...(onCall ? { onCall } : {}) });
  opened.push(t);
  return t;
}

function desired(over: Partial<Desired> = {}): Desired {
  return {
    assignmentId: 'A-2025-001',
    username: 'alovelace',
    givenName: 'Ada',
    familyName: 'Lovelace',
    email: 'ada@example.org',
    groups: ['analysts', 'fti-readers'],
    policies: [READ],
    startsAt: '2025-02-06T05:00:00.000Z',
    endsAt: '2025-06-06T04:00:00.000Z',
    ...over,
  };
}

/** What the lifecycle does: preflight, inspect, plan, apply each step. */
async function converge(t: Target, intent: Intent): Promise<Step[]> {
  await t.preflight(intent);
  const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
  const steps = t.plan(await t.inspect(username), intent);
  for (const s of steps) await t.apply(s);
  return steps;
}

async function inlineDocument(user: string, name: string): Promise<unknown> {
  const r = await admin.send(new sdk.GetUserPolicyCommand({ UserName: user, PolicyName: name }));
  return JSON.parse(decodeURIComponent(r.PolicyDocument!)) as unknown;
}

async function tags(user: string): Promise<Record<string, string>> {
  const r = await admin.send(new sdk.ListUserTagsCommand({ UserName: user }));
  return Object.fromEntries((r.Tags ?? []).map((x) => [x.Key!, x.Value!]));
}

async function userExists(user: string): Promise<boolean> {
  try {
    await admin.send(new sdk.GetUserCommand({ UserName: user }));
    return true;
  } catch (e) {
    if (e instanceof sdk.NoSuchEntityException) return false;
    throw e;
  }
}

/** An OpenSSH ed25519 public key line, built from a fresh key (no ssh-keygen needed). */
function sshPublicKey(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} test`;
}

describe('IAM target against moto: provision', () => {
  it('creates the user with tags, term policy, groups and policies; inspect reads it all back; re-applying changes nothing', async () => {
    const t = await open();
    const intent: Intent = { kind: 'provision', desired: desired() };
    const steps = await converge(t, intent);
    expect(steps.map((s) => s.id)).toEqual(['aws.user.create', 'aws.term.put', 'aws.group.add:analysts', 'aws.group.add:fti-readers', `aws.policy.attach:${READ}`]);

    const o = await t.inspect('alovelace');
    expect(o).toMatchObject({
      target: 'aws',
      exists: true,
      assignmentId: 'A-2025-001',
      groups: ['analysts', 'fti-readers'],
      policies: [READ],
      startsAt: '2025-02-06T05:00:00.000Z',
      endsAt: '2025-06-06T04:00:00.000Z',
      revokedAt: undefined,
      // No access key, no login profile: nothing can sign in yet.
      enabled: false,
    });
    const f = iamFacts(o);
    expect(f).toMatchObject({ managed: true, path: '/detailees/', accessKeys: [], loginProfile: false, inlinePolicies: [TERM_POLICY] });
    // moto has no ListServiceSpecificCredentials; the target records the gap instead of failing.
    expect(f.unsupported).toEqual(['ListServiceSpecificCredentials']);
    expect(await tags('alovelace')).toEqual({ 'detailee:assignment': 'A-2025-001', 'detailee:ends-at': '2025-06-06T04:00:00.000Z', 'detailee:managed-by': 'detailee' });
    expect(await inlineDocument('alovelace', TERM_POLICY)).toEqual(termPolicyDocument('2025-02-06T05:00:00Z', '2025-06-06T04:00:00Z'));

    expect(t.plan(o, intent)).toEqual([]);
    expect(await t.verify(intent)).toMatchObject({ ok: true, problems: [] });
    // A crash after each write means every step may run again: still the same user.
    for (const s of steps) await t.apply(s);
    expect(await t.verify(intent)).toMatchObject({ ok: true, problems: [] });
    expect(t.plan(await t.inspect('alovelace'), intent)).toEqual([]);
  });

  it('refuses an unknown group and an unknown policy in preflight, naming them, and creates no user', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    const ghost = 'arn:aws:iam::123456789012:policy/ghost';
    const intent: Intent = { kind: 'provision', desired: desired({ groups: ['analysts', 'ghosts'], policies: [ghost] }) };
    const err = await t.preflight(intent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/group ghosts/);
    expect((err as InputError).message).toContain(ghost);
    expect((err as InputError).details).toEqual({ groups: ['ghosts'], policies: [ghost] });
    expect(seen.every((op) => op.startsWith('Get'))).toBe(true);
    expect(await userExists('alovelace')).toBe(false);
  });

  it('refuses to take over a user without detailee tags, or one of another assignment', async () => {
    const t = await open();
    await admin.send(new sdk.CreateUserCommand({ UserName: 'alovelace', Path: '/detailees/' }));
    const intent: Intent = { kind: 'provision', desired: desired() };
    await expect(t.inspect('alovelace').then((o) => t.plan(o, intent))).rejects.toThrow(/has no detailee tags/);
    await admin.send(new sdk.TagUserCommand({ UserName: 'alovelace', Tags: [{ Key: 'detailee:assignment', Value: 'B-9' }, { Key: 'detailee:managed-by', Value: 'detailee' }] }));
    const err = await t.inspect('alovelace').then((o) => t.plan(o, intent)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/belongs to assignment B-9/);
    // A create step racing with someone else's user does not adopt it either.
    const create = t.plan({ target: 'aws', username: 'alovelace', exists: false, enabled: false, groups: [], policies: [], facts: {} }, intent)[0]!;
    await expect(t.apply(create)).rejects.toThrow(ActionError);
    expect((await inlineDocument('alovelace', TERM_POLICY).catch(() => 'none'))).toBe('none');
  });

  it('cannot confirm a permissions boundary on moto (moto drops it), and verify says so', async () => {
    const boundary = await moto.createPolicy('detailee-boundary');
    const t = await open({ permissionsBoundary: boundary });
    const intent: Intent = { kind: 'provision', desired: desired() };
    await converge(t, intent);
    const v = await t.verify(intent);
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.stringMatching(/^aws\.boundary\.put: boundary \(none\) → .*detailee-boundary$/)]);
  });
});

describe('IAM target against moto: revoke', () => {
  it('disables every way in, verifies it by reading back, and plans nothing more', async () => {
    const t = await open();
    await converge(t, { kind: 'provision', desired: desired() });
    const k1 = await admin.send(new sdk.CreateAccessKeyCommand({ UserName: 'alovelace' }));
    const k2 = await admin.send(new sdk.CreateAccessKeyCommand({ UserName: 'alovelace' }));
    await admin.send(new sdk.CreateLoginProfileCommand({ UserName: 'alovelace', Password: 'Correct-Horse-9-Battery' }));
    expect((await t.inspect('alovelace')).enabled).toBe(true);

    const revokedAt = '2025-04-01T13:14:15.000Z';
    const intent: Intent = { kind: 'revoke', assignmentId: 'A-2025-001', username: 'alovelace', revokedAt };
    const before = await t.verify(intent);
    expect(before.ok).toBe(false);
    expect(before.problems).toEqual(expect.arrayContaining([expect.stringMatching(/active access keys/), expect.stringMatching(/console password present/), expect.stringMatching(/groups: still in/)]));

    const steps = await converge(t, intent);
    const keyIds = [k1.AccessKey!.AccessKeyId!, k2.AccessKey!.AccessKeyId!].sort();
    expect(steps.map((s) => s.id)).toEqual([
      'aws.revoked.put',
      ...keyIds.map((k) => `aws.key.deactivate:${k}`),
      'aws.login-profile.delete',
      'aws.group.remove:analysts',
      'aws.group.remove:fti-readers',
      `aws.policy.detach:${READ}`,
    ]);

    const v = await t.verify(intent);
    expect(v).toMatchObject({ ok: true, problems: [] });
    expect(v.observed).toMatchObject({ enabled: false, groups: [], policies: [], revokedAt });
    const keys = await admin.send(new sdk.ListAccessKeysCommand({ UserName: 'alovelace' }));
    expect(keys.AccessKeyMetadata!.map((k) => k.Status)).toEqual(['Inactive', 'Inactive']);
    await expect(admin.send(new sdk.GetLoginProfileCommand({ UserName: 'alovelace' }))).rejects.toBeInstanceOf(sdk.NoSuchEntityException);
    expect(await inlineDocument('alovelace', REVOKED_POLICY)).toEqual(revokedPolicyDocument(revokedAt));
    // The time is in the deny-all (its session cut-off), not in a tag.
    expect((await tags('alovelace'))['detailee:revoked-at']).toBeUndefined();
    // Disabled, not deleted: the user and its term policy are still there.
    expect(await userExists('alovelace')).toBe(true);
    expect(t.plan(v.observed, intent)).toEqual([]);
    // And a revoked user is not handed back out.
    await expect(t.inspect('alovelace').then((o) => t.plan(o, { kind: 'renew', desired: desired({ endsAt: '2025-10-04T04:00:00.000Z' }) }))).rejects.toThrow(
      /revoked user is not renewed/,
    );
  });

  it('verify notices a deny-all loosened by hand', async () => {
    const t = await open();
    await converge(t, { kind: 'provision', desired: desired() });
    const intent: Intent = { kind: 'revoke', assignmentId: 'A-2025-001', username: 'alovelace', revokedAt: '2025-04-01T13:14:15.000Z' };
    await converge(t, intent);
    const loose = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    await admin.send(new sdk.PutUserPolicyCommand({ UserName: 'alovelace', PolicyName: REVOKED_POLICY, PolicyDocument: JSON.stringify(loose) }));
    const v = await t.verify(intent);
    expect(v.ok).toBe(false);
    // The credential kinds a revocation does not list are covered by the deny-all alone: without it, unproven.
    expect(v.problems).toEqual([`deny: ${REVOKED_POLICY} does not hold the expected deny`, ...[
      expect.stringMatching(/^signingCertificates: .*no deny-all to cover it/),
      expect.stringMatching(/^sshPublicKeys: .*no deny-all to cover it/),
      expect.stringMatching(/^serviceSpecificCredentials: .*no deny-all to cover it/),
    ]]);
  });
});

describe('IAM target against moto: what a revocation reads', () => {
  const revokedAt = '2025-04-01T13:14:15.000Z';
  const intent: Intent = { kind: 'revoke', assignmentId: 'A-2025-001', username: 'alovelace', revokedAt };
  const count = (ops: string[]) => Object.fromEntries([...new Set(ops)].sort().map((op) => [op, ops.filter((x) => x === op).length]));
  /** A listing of fewer than ten users is not taken (each is read on its own); of ten it is one request. */
  async function expectOneListing(seen: string[], list: (usernames: string[]) => Promise<void>, names: string[]): Promise<void> {
    seen.length = 0;
    await list(names.slice(0, 9));
    expect(seen).toEqual([]);
    await list(names);
    expect(seen).toEqual(['GetAccountAuthorizationDetails']);
    seen.length = 0;
  }

  it('plans from and proves with only what it uses: no term document, inline policy names, MFA devices or the credential kinds the deny-all covers', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    await converge(t, { kind: 'provision', desired: desired() });
    await admin.send(new sdk.CreateAccessKeyCommand({ UserName: 'alovelace' }));
    await admin.send(new sdk.CreateLoginProfileCommand({ UserName: 'alovelace', Password: 'Correct-Horse-9-Battery' }));
    const full = t.plan(await t.inspect('alovelace'), intent);
    seen.length = 0;
    const observed = await t.inspect('alovelace', 'revoke');
    const reads = [...seen];
    expect(t.plan(observed, intent)).toEqual(full);
    expect(iamFacts(observed).notRead).toEqual(expect.arrayContaining(['ListUserPolicies', 'ListMFADevices', 'ListSigningCertificates', 'ListSSHPublicKeys', 'ListServiceSpecificCredentials']));
    for (const s of full) await t.apply(s);
    seen.length = 0;
    expect(await t.verify(intent)).toMatchObject({ ok: true, problems: [] });
    const proof = [...seen];
    const expected = {
      GetUser: 1,
      GetUserPolicy: 1, // detailee-revoked, by name
      ListGroupsForUser: 1,
      ListAttachedUserPolicies: 1,
      ListAccessKeys: 1,
      GetLoginProfile: 1,
    };
    expect(count(reads)).toEqual(expected);
    expect(count(proof)).toEqual(expected);
    // What the proof did not list it states as covered, never as seen.
    const covered = (await t.verify(intent)).proof!.facts.filter((f) => f.read === 'covered').map((f) => f.fact);
    expect(covered).toEqual(['signingCertificates', 'sshPublicKeys', 'serviceSpecificCredentials']);
  });

  const silent: [string, RegExp][] = [
    ['aws.revoked.put', /^deny: detailee-revoked missing$/],
    ['aws.key.deactivate', /^accessKeys: active access keys/],
    ['aws.login-profile.delete', /^loginProfile: console password present$/],
    ['aws.group.remove', /^groups: still in analysts, fti-readers$/],
    ['aws.policy.detach', /^managedPolicies: attached /],
  ];
  it.each(silent)('verification fails when %s silently did not take', async (kind, problem) => {
    const dir = mkdtempSync(join(tmpdir(), 'detailee-iam-'));
    try {
      const t = await open();
      await converge(t, { kind: 'provision', desired: desired() });
      await admin.send(new sdk.CreateAccessKeyCommand({ UserName: 'alovelace' }));
      await admin.send(new sdk.CreateLoginProfileCommand({ UserName: 'alovelace', Password: 'Correct-Horse-9-Battery' }));
      await admin.send(new sdk.UploadSSHPublicKeyCommand({ UserName: 'alovelace', SSHPublicKeyBody: sshPublicKey() }));
      const cert = await makeCert(dir, 'signing', { subject: 'CN=alovelace', keyType: 'rsa' });
      await admin.send(new sdk.UploadSigningCertificateCommand({ UserName: 'alovelace', CertificateBody: readFileSync(cert.certPath, 'utf8') }));
      const steps = t.plan(await t.inspect('alovelace', 'revoke'), intent);
      expect(steps.some((s) => s.id.split(':')[0] === kind)).toBe(true);
      // The step "succeeds" without reaching IAM, as a lost or ignored write would.
      for (const s of steps) if (s.id.split(':')[0] !== kind) await t.apply(s);
      const v = await t.verify(intent);
      expect(v.ok).toBe(false);
      // Without the deny-all, the credential kinds a revocation does not list are unproven: nothing covers them.
      const uncovered = kind === 'aws.revoked.put' ? [
        expect.stringMatching(/^signingCertificates: .*no deny-all to cover it/),
        expect.stringMatching(/^sshPublicKeys: .*no deny-all to cover it/),
        expect.stringMatching(/^serviceSpecificCredentials: .*no deny-all to cover it/),
      ] : [];
      expect(v.problems).toEqual([expect.stringMatching(problem), ...uncovered]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads many users ahead in one listing; each read-ahead serves one plan, and verification still reads the live user', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    const names = Array.from({ length: 10 }, (_, i) => `det${i}`);
    for (const [i, u] of names.entries()) await converge(t, { kind: 'provision', desired: desired({ assignmentId: `A-${i}`, username: u, groups: ['analysts'], policies: [] }) });
    await admin.send(new sdk.CreateAccessKeyCommand({ UserName: 'det0' }));
    const revoke = (i: number): Intent => ({ kind: 'revoke', assignmentId: `A-${i}`, username: names[i]!, revokedAt });

    await expectOneListing(seen, t.readAhead!, names);
    const ahead = await t.inspect('det0', 'revoke');
    expect(count(seen)).toEqual({ GetLoginProfile: 1, ListAccessKeys: 1 });
    expect(t.plan(ahead, revoke(0))).toEqual(t.plan(await t.inspect('det0'), revoke(0)));
    expect(t.plan(ahead, revoke(0)).map((s) => s.id)).toEqual(['aws.revoked.put', expect.stringMatching(/^aws\.key\.deactivate:/), 'aws.group.remove:analysts']);
    // Used once: the next read of det0 goes to IAM.
    seen.length = 0;
    await t.inspect('det0', 'revoke');
    expect(seen).toContain('GetUser');

    // A change after the read-ahead is missed by the plan, and caught by the live read-back.
    await admin.send(new sdk.AddUserToGroupCommand({ UserName: 'det1', GroupName: 'fti-readers' }));
    const stale = t.plan(await t.inspect('det1', 'revoke'), revoke(1));
    for (const s of stale) await t.apply(s);
    const v = await t.verify(revoke(1));
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual(['groups: still in fti-readers']);
  });

  it('a proof listing taken after the writes serves each user\'s next proof once, with only its credentials read per user; a change made before the listing fails that proof', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    const names = Array.from({ length: 10 }, (_, i) => `pl${i}`);
    const revoke = (i: number): Intent => ({ kind: 'revoke', assignmentId: `P-${i}`, username: names[i]!, revokedAt });
    for (const [i, u] of names.entries()) await converge(t, { kind: 'provision', desired: desired({ assignmentId: `P-${i}`, username: u, groups: ['analysts'], policies: [] }) });
    for (const i of names.keys()) await converge(t, revoke(i));
    // By hand, after the revocation's writes and before the listing.
    await admin.send(new sdk.AddUserToGroupCommand({ UserName: 'pl1', GroupName: 'fti-readers' }));

    await expectOneListing(seen, t.listForProof!, names);
    const v0 = await t.verify(revoke(0));
    expect(count(seen)).toEqual({ GetLoginProfile: 1, ListAccessKeys: 1 });
    expect(v0).toMatchObject({ ok: true, proof: { readAt: clock.now().toISOString(), via: expect.stringMatching(/^GetAccountAuthorizationDetails /) } });
    expect(v0.proof!.facts.filter((f) => f.read !== 'live').map((f) => f.fact)).toEqual(['signingCertificates', 'sshPublicKeys', 'serviceSpecificCredentials']);
    const v1 = await t.verify(revoke(1));
    expect(v1).toMatchObject({ ok: false, problems: ['groups: still in fti-readers'], proof: { via: expect.any(String) } });
    // Used once: the next proof of pl0 reads the user itself.
    seen.length = 0;
    const again = await t.verify(revoke(0));
    expect(seen).toEqual(expect.arrayContaining(['GetUser', 'ListGroupsForUser', 'ListAttachedUserPolicies', 'GetUserPolicy']));
    expect(again.ok).toBe(true);
    expect(again.proof!.via).toBeUndefined();
  });

  it('a proof listing serves no user written while it was being read, or written after it: those proofs read the user itself', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    const names = Array.from({ length: 10 }, (_, i) => `pw${i}`);
    const revoke = (i: number): Intent => ({ kind: 'revoke', assignmentId: `W-${i}`, username: names[i]!, revokedAt });
    for (const [i, u] of names.entries()) await converge(t, { kind: 'provision', desired: desired({ assignmentId: `W-${i}`, username: u, groups: ['analysts'], policies: [] }) });
    for (const i of names.keys()) if (i !== 0) await converge(t, revoke(i));
    const steps = t.plan(await t.inspect('pw0', 'revoke'), revoke(0));
    expect(steps.length).toBeGreaterThan(1);
    for (const s of steps.slice(0, -1)) await t.apply(s);
    await admin.send(new sdk.AddUserToGroupCommand({ UserName: 'pw1', GroupName: 'fti-readers' }));
    // pw0's last write is under way when the listing is asked for: the listing may not show it.
    const last = t.apply(steps[steps.length - 1]!);
    await t.listForProof!(names);
    await last;
    // pw1 is written again after the listing (its hand-added group taken away), then changed by hand.
    const again = t.plan(await t.inspect('pw1', 'revoke'), revoke(1));
    expect(again.length).toBeGreaterThan(0);
    for (const s of again) await t.apply(s);
    await admin.send(new sdk.AddUserToGroupCommand({ UserName: 'pw1', GroupName: 'fti-readers' }));

    seen.length = 0;
    const v0 = await t.verify(revoke(0));
    expect(seen).toContain('GetUser');
    expect(v0.ok).toBe(true);
    expect(v0.proof!.via).toBeUndefined();
    // Had the listing served pw1, it would have missed the group added after it.
    const v1 = await t.verify(revoke(1));
    expect(v1.proof!.via).toBeUndefined();
    expect(v1.problems).toEqual(['groups: still in fti-readers']);
    seen.length = 0;
    expect((await t.verify(revoke(2))).proof!.via).toEqual(expect.any(String));
    expect(seen).not.toContain('GetUser');
  });

  it('observe reads the live user in full and leaves a read-ahead for the plan it was made for', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    const names = Array.from({ length: 10 }, (_, i) => `obs${i}`);
    for (const [i, u] of names.entries()) await converge(t, { kind: 'provision', desired: desired({ assignmentId: `O-${i}`, username: u, groups: ['analysts'], policies: [] }) });
    await t.readAhead!(names);

    seen.length = 0;
    const o = await t.observe('obs2');
    expect(seen).toEqual(expect.arrayContaining(['GetUser', 'ListUserPolicies', 'GetUserPolicy']));
    expect(iamFacts(o).notRead).toEqual([]);
    expect(iamFacts(o).inlinePolicies).toEqual([TERM_POLICY]);
    expect(o).toEqual(await t.inspect('obs2'));

    seen.length = 0;
    await t.inspect('obs2', 'revoke');
    expect(seen).not.toContain('GetUser');
  });
});

describe('IAM target against moto: renew', () => {
  it('rewrites the term policy and the ends-at tag', async () => {
    const t = await open();
    await converge(t, { kind: 'provision', desired: desired() });
    const renew: Intent = { kind: 'renew', desired: desired({ endsAt: '2025-10-04T04:00:00.000Z' }) };
    const steps = await converge(t, renew);
    expect(steps.map((s) => s.id)).toEqual(['aws.term.put', 'aws.user.tag']);
    expect(await inlineDocument('alovelace', TERM_POLICY)).toEqual(termPolicyDocument('2025-02-06T05:00:00Z', '2025-10-04T04:00:00Z'));
    expect((await tags('alovelace'))['detailee:ends-at']).toBe('2025-10-04T04:00:00.000Z');
    expect(await t.verify(renew)).toMatchObject({ ok: true, problems: [] });
    expect((await t.inspect('alovelace')).endsAt).toBe('2025-10-04T04:00:00.000Z');
  });
});

describe('IAM target against moto: listManaged', () => {
  it('lists only users under the path that carry the managed-by tag, fully observed', async () => {
    const t = await open();
    await converge(t, { kind: 'provision', desired: desired() });
    await converge(t, { kind: 'provision', desired: desired({ assignmentId: 'A-2025-002', username: 'bbabbage', groups: [], policies: [] }) });
    // Same path, not ours; ours by tag but elsewhere; neither is listed.
    await admin.send(new sdk.CreateUserCommand({ UserName: 'contractor', Path: '/detailees/' }));
    await admin.send(new sdk.CreateUserCommand({ UserName: 'elsewhere', Path: '/staff/', Tags: [{ Key: 'detailee:managed-by', Value: 'detailee' }] }));
    const list = await t.listManaged();
    expect(list.map((o) => [o.username, o.assignmentId])).toEqual([
      ['alovelace', 'A-2025-001'],
      ['bbabbage', 'A-2025-002'],
    ]);
    expect(list[0]).toMatchObject({ exists: true, groups: ['analysts', 'fti-readers'], policies: [READ], endsAt: '2025-06-06T04:00:00.000Z' });
  });
});

describe('IAM target against moto: purge', () => {
  it('deletes in the documented order (recorded from the requests sent) and the user is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'detailee-iam-'));
    try {
      const seen: string[] = [];
      const t = await open({}, (op) => seen.push(op));
      await converge(t, { kind: 'provision', desired: desired() });
      await admin.send(new sdk.CreateAccessKeyCommand({ UserName: 'alovelace' }));
      await admin.send(new sdk.CreateLoginProfileCommand({ UserName: 'alovelace', Password: 'Correct-Horse-9-Battery' }));
      const cert = await makeCert(dir, 'signing', { subject: 'CN=alovelace', keyType: 'rsa' });
      await admin.send(new sdk.UploadSigningCertificateCommand({ UserName: 'alovelace', CertificateBody: readFileSync(cert.certPath, 'utf8') }));
      await admin.send(new sdk.UploadSSHPublicKeyCommand({ UserName: 'alovelace', SSHPublicKeyBody: sshPublicKey() }));
      const mfa = await admin.send(new sdk.CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'alovelace' }));
      const serial = mfa.VirtualMFADevice!.SerialNumber!;
      await admin.send(new sdk.EnableMFADeviceCommand({ UserName: 'alovelace', SerialNumber: serial, AuthenticationCode1: '123456', AuthenticationCode2: '234567' }));
      await admin.send(new sdk.PutUserPolicyCommand({ UserName: 'alovelace', PolicyName: 'extra', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }] }) }));
      // Purge normally follows a revocation; here the groups and policy are still attached, to see their place in the order.
      const intent: Intent = { kind: 'purge', assignmentId: 'A-2025-001', username: 'alovelace' };
      const steps = t.plan(await t.inspect('alovelace'), intent);
      seen.length = 0;
      for (const s of steps) await t.apply(s);
      expect(seen).toEqual([
        'DeleteLoginProfile',
        'DeleteAccessKey',
        'DeleteSigningCertificate',
        'DeleteSSHPublicKey',
        // No service-specific credential: moto cannot create or list them.
        'DeactivateMFADevice',
        'DeleteVirtualMFADevice',
        'DeleteUserPolicy', // detailee-term
        'DeleteUserPolicy', // extra
        'DetachUserPolicy',
        'RemoveUserFromGroup',
        'RemoveUserFromGroup',
        'DeleteUser',
      ]);
      expect(steps.filter((s) => s.id.startsWith('aws.inline.delete:')).map((s) => s.id)).toEqual(['aws.inline.delete:detailee-term', 'aws.inline.delete:extra']);
      expect(await userExists('alovelace')).toBe(false);
      const virtual = await admin.send(new sdk.ListVirtualMFADevicesCommand({}));
      expect(virtual.VirtualMFADevices ?? []).toEqual([]);
      expect(await t.verify(intent)).toMatchObject({ ok: true, problems: [] });
      // Applying the purge again after a crash is harmless: every delete finds nothing.
      for (const s of steps) await t.apply(s);
      expect(t.plan(await t.inspect('alovelace'), intent)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IAM target: calls', () => {
  it('counts every request sent', async () => {
    const seen: string[] = [];
    const t = await open({}, (op) => seen.push(op));
    await t.inspect('nobody');
    expect(seen).toEqual(['GetUser']);
    expect(t.calls).toBe(1);
  });
});

/**
 * moto cannot throttle or hit a quota, so these tests answer IAM's wire protocol from a small local
 * HTTP server (a fake IAM endpoint) scripted per request; the real SDK stack runs against it.
 */
describe('IAM target retries (fake IAM HTTP endpoint: moto cannot throttle or hit quotas)', () => {
  let server: Server;
  let endpoint: string;
  let script: ((action: string) => { status: number; body: string } | 'hang')[] = [];
  let requests: string[] = [];

  const errorBody = (code: string, message: string) =>
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`;
  const noSuchUser = (action: string) => ({ status: 404, body: errorBody('NoSuchEntity', `${action}: no such user`) });

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        const action = new URLSearchParams(body).get('Action') ?? '?';
        requests.push(action);
        const next = script.shift() ?? noSuchUser;
        const answer = next(action);
        if (answer === 'hang') return;
        res.writeHead(answer.status, { 'content-type': 'text/xml' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  beforeEach(() => {
    script = [];
    requests = [];
  });

  async function fakeTarget(sleeps: number[], over: Partial<AwsConfig> = {}): Promise<IamTarget> {
    const t = await createIamTarget(
      { region: 'us-east-1', endpoint, path: '/detailees/', timeoutMs: 5_000, maxAttempts: 4, unsupportedOperations: [], ...over },
      { clock, credentials: moto.credentials, sleep: async (ms) => void sleeps.push(ms) },
    );
    opened.push(t);
    return t;
  }

  const createStep = (): Step => ({
    id: 'aws.user.create',
    target: 'aws',
    kind: 'aws.user.create',
    action: 'create user',
    detail: '',
    params: { username: 'alovelace', path: '/detailees/', tags: { 'detailee:assignment': 'A-1' } },
  });

  it('sends LimitExceeded (a quota) exactly once and reports it as an ActionError with target, operation and code', async () => {
    const sleeps: number[] = [];
    const t = await fakeTarget(sleeps);
    script = [() => ({ status: 409, body: errorBody('LimitExceeded', 'Cannot exceed quota for UsersPerAccount: 5000') })];
    const err = await t.apply(createStep()).catch((e: unknown) => e);
    expect(requests).toEqual(['CreateUser']);
    expect(sleeps).toEqual([]);
    expect(err).toBeInstanceOf(ActionError);
    expect((err as ActionError).exit).toBe(1);
    expect((err as ActionError).message).toMatch(/AWS IAM.*CreateUser alovelace failed \(LimitExceeded\)/);
    expect((err as ActionError).details).toEqual({ target: 'aws', operation: 'CreateUser alovelace', awsCode: 'LimitExceeded' });
  });

  it('retries Throttling with backoff through the injected sleep, then succeeds', async () => {
    const sleeps: number[] = [];
    const t = await fakeTarget(sleeps);
    const throttled = () => ({ status: 400, body: errorBody('Throttling', 'Rate exceeded') });
    script = [throttled, throttled];
    const o = await t.inspect('alovelace');
    expect(o.exists).toBe(false);
    expect(requests).toEqual(['GetUser', 'GetUser', 'GetUser']);
    expect(sleeps).toHaveLength(2);
    expect(t.calls).toBe(3);
  });

  it('gives up on Throttling after maxAttempts requests', async () => {
    const sleeps: number[] = [];
    const t = await fakeTarget(sleeps, { maxAttempts: 3 });
    const throttled = () => ({ status: 400, body: errorBody('Throttling', 'Rate exceeded') });
    script = [throttled, throttled, throttled];
    const err = await t.inspect('alovelace').catch((e: unknown) => e);
    expect(requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect((err as ActionError).details).toMatchObject({ awsCode: 'Throttling', operation: 'GetUser alovelace' });
  });

  it('does not retry a client error such as AccessDenied', async () => {
    const t = await fakeTarget([]);
    script = [() => ({ status: 403, body: errorBody('AccessDenied', 'not authorized to perform iam:GetUser') })];
    const err = await t.inspect('alovelace').catch((e: unknown) => e);
    expect(requests).toEqual(['GetUser']);
    expect((err as ActionError).details).toMatchObject({ awsCode: 'AccessDenied' });
  });

  it('times out a request that never answers, after timeoutMs', async () => {
    const t = await fakeTarget([], { timeoutMs: 200, maxAttempts: 1 });
    script = [() => 'hang'];
    const started = Date.now();
    const err = await t.inspect('alovelace').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(requests).toEqual(['GetUser']);
  });
});
