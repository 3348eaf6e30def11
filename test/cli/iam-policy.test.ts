import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IAMClient, AttachUserPolicyCommand, CreateAccessKeyCommand, CreateGroupCommand, CreatePolicyCommand, CreateUserCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ROOT, cli, type StepOutput } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { startMoto, type Moto } from '../helpers/moto.js';
import { signedExample } from '../helpers/servers.js';

/**
 * docs/iam-policy.json is enough, and each action in it is needed: moto enforces IAM here
 * (INITIAL_NO_AUTH_ACTION_COUNT), and the built CLI onboards and revokes with the keys of a user
 * holding only that policy. moto checks actions but sees every user operation's resource as "*",
 * so the policy's resource ARNs are widened to "*" for it: this proves the action list, not the
 * resource scoping, which only real IAM can.
 */
let moto: Moto;
let admin: IAMClient;
let dir: string;
let approverPem: string;
type Keys = { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
const operators: Record<'full' | 'noRemoveFromGroup' | 'noAuthDetails', Keys> = {} as never;
/** Requests moto serves before it enforces: the three that make the administrator below. */
const SETUP_REQUESTS = 3;

function policyDocument(without: string[] = []): string {
  const doc = JSON.parse(readFileSync(join(ROOT, 'docs', 'iam-policy.json'), 'utf8')) as { Statement: { Action: string[]; Resource: string }[] };
  for (const st of doc.Statement) {
    st.Action = st.Action.filter((a) => !without.includes(a));
    st.Resource = '*';
  }
  doc.Statement = doc.Statement.filter((st) => st.Action.length > 0);
  return JSON.stringify(doc);
}

async function operator(name: string, without: string[]): Promise<Keys> {
  const policy = await admin.send(new CreatePolicyCommand({ PolicyName: `${name}-policy`, PolicyDocument: policyDocument(without) }));
  await admin.send(new CreateUserCommand({ UserName: name }));
  await admin.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: policy.Policy!.Arn! }));
  const key = (await admin.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { AWS_ACCESS_KEY_ID: key.AccessKeyId!, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey! };
}

beforeAll(async () => {
  moto = await startMoto({ enforceIamAfter: SETUP_REQUESTS });
  const open = await moto.iam();
  await open.send(new CreateUserCommand({ UserName: 'fixture-admin' }));
  await open.send(new PutUserPolicyCommand({ UserName: 'fixture-admin', PolicyName: 'all', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) }));
  const key = (await open.send(new CreateAccessKeyCommand({ UserName: 'fixture-admin' }))).AccessKey!;
  open.destroy();
  admin = new IAMClient({ region: moto.region, endpoint: moto.endpoint, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }, maxAttempts: 1 });
  await admin.send(new CreateGroupCommand({ GroupName: 'detailee-readonly' }));
  operators.full = await operator('detailee-operator', []);
  operators.noRemoveFromGroup = await operator('detailee-operator-2', ['iam:RemoveUserFromGroup']);
  operators.noAuthDetails = await operator('detailee-operator-3', ['iam:GetAccountAuthorizationDetails']);

  dir = tempDir('detailee-iam-policy-');
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const init = cli(dir, ['init', '--dir', dir, '--timezone', 'America/New_York', '--force', '--json'], '2025-02-01T14:00:00Z');
  expect(init.exit, init.stderr).toBe(0);
  const approver = generateKeyPairSync('ed25519');
  approverPem = approver.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'keys', 'alan.turing.pub.pem'), approver.publicKey.export({ type: 'spki', format: 'pem' }));
  const cfgPath = join(dir, 'detailee.yaml');
  const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  cfg.trust = { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'keys/alan.turing.pub.pem' }], requiredRoles: ['approver'] };
  cfg.targets = { aws: { region: 'us-east-1', endpoint: moto.endpoint, path: '/detailees/', maxAttempts: 1, unsupportedOperations: ['ListServiceSpecificCredentials'] } };
  writeFileSync(cfgPath, stringify(cfg));
});
afterAll(async () => {
  admin?.destroy();
  await moto?.stop();
});

async function run(args: string[], keys: Keys, now = '2025-02-05T15:00:00Z', env: Record<string, string> = {}): Promise<StepOutput> {
  const out = cli(dir, args, now, { ...keys, ...env });
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

type DoctorJson = { ok: boolean; checks: { id: string; status: string; detail: string; fix?: string }[] };
const awsCheck = (out: StepOutput) => (out.json as DoctorJson).checks.find((c) => c.id === 'aws')!;

describe('docs/iam-policy.json against moto enforcing IAM', () => {
  it('a user holding only the policy: doctor passes, onboard and revoke complete', async () => {
    const doctor = await run(['doctor', '--json'], operators.full, undefined, { DETAILEE_NOW: '' });
    expect(awsCheck(doctor)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/as arn:aws:iam::123456789012:user\/detailee-operator at /) });
    expect(doctor.exit, JSON.stringify(doctor.json)).toBe(0);
    const f = signedExample(dir, approverPem, 'pol-1', 'pol1');
    const on = await run(['onboard', f, '--yes', '--json'], operators.full);
    expect(on.exit, JSON.stringify(on.json)).toBe(0);
    const rev = await run(['revoke', 'pol-1', '--reason', 'left early', '--yes', '--json'], operators.full, '2025-03-01T15:00:00Z');
    expect(rev.exit, JSON.stringify(rev.json)).toBe(0);
    expect(rev.json).toMatchObject({ complete: true, state: 'revoked' });
  });

  it('credentials moto does not know: doctor ✗ AWS with the credentials fix (enforcement is on)', async () => {
    const doctor = await run(['doctor', '--json'], { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }, undefined, { DETAILEE_NOW: '' });
    expect(doctor.exit).toBe(1);
    expect(awsCheck(doctor)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/InvalidClientTokenId/), fix: expect.stringMatching(/Provide AWS credentials/) });
  });

  it('without iam:RemoveUserFromGroup, onboarding works but the revocation fails (exit 1, AccessDenied)', async () => {
    const f = signedExample(dir, approverPem, 'pol-2', 'pol2');
    expect((await run(['onboard', f, '--yes', '--json'], operators.noRemoveFromGroup)).exit).toBe(0);
    const rev = await run(['revoke', 'pol-2', '--reason', 'left early', '--yes', '--json'], operators.noRemoveFromGroup, '2025-03-01T15:00:00Z');
    expect(rev.exit).toBe(1);
    expect(rev.json).toMatchObject({ complete: false });
    expect(JSON.stringify(rev.json)).toMatch(/RemoveUserFromGroup pol2 detailee-readonly failed \(AccessDenied\): User: arn:aws:iam::123456789012:user\/detailee-operator-2 is not authorized to perform: iam:RemoveUserFromGroup/);
  });

  it('without iam:GetAccountAuthorizationDetails, doctor ✗ AWS names the refused read', async () => {
    const doctor = await run(['doctor', '--json'], operators.noAuthDetails, undefined, { DETAILEE_NOW: '' });
    expect(doctor.exit).toBe(1);
    expect(awsCheck(doctor)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/GetAccountAuthorizationDetails refused \(AccessDenied\)/), fix: expect.stringMatching(/docs\/iam-policy\.json/) });
  });
});
