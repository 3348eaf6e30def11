import type { AwsConfig } from '../../config/schema.js';
import { InputError } from '../../errors.js';
import { prove, proofProblems } from '../proof.js';
import type { Granted, Intent, Observed } from '../model.js';
import type { Step, Target, VerifyResult } from '../target.js';
import { createIamWriter } from './apply.js';
import { GONE, errText, openIamClient, type IamClientOptions } from './client.js';
import { MANAGED_BY, REVOKED_POLICY, TAG_ASSIGNMENT, TAG_MANAGED_BY, emptyIamFacts, iamFacts, isDenied, type IamFacts } from './facts.js';
import { LISTING } from './listing.js';
import { createIamReader, observedFromFacts } from './observe.js';
import { planIam, type IamStep } from './plan.js';
import { systemClock } from '../../time/clock.js';

/**
 * The AWS IAM target: `client.ts` reaches IAM, `observe.ts` reads it, `plan.ts` decides (purely,
 * with `documents.ts` and `facts.ts`), `apply.ts` writes one step, and the proof of a revocation
 * is `prove` over a fresh read.
 */

export interface IamTargetOptions extends IamClientOptions {
  /** Dates the proof's reads; every instant this target writes comes from the intent. */
  clock?: { now(): Date };
}

export type IamTarget = Target & {
  /** HTTP requests sent to IAM so far, each retry counted (for benchmarks). */
  readonly calls: number;
};

export async function createIamTarget(config: AwsConfig, options: IamTargetOptions = {}): Promise<IamTarget> {
  const conn = await openIamClient(config, options);
  const { sdk, client, where, server, call } = conn;
  const planConfig = { path: config.path, permissionsBoundary: config.permissionsBoundary };
  const clock = options.clock ?? systemClock;
  const reader = createIamReader(conn, () => clock.now());
  const { inspect } = reader;
  const write = createIamWriter(conn, reader.tagsOf);
  const apply = (step: Step): Promise<void> => (step.target === 'aws' ? reader.write(step.params.username, () => write(step)) : write(step));

  const plan = (observed: Observed, intent: Intent): IamStep[] => planIam(observed, intent, planConfig);

  async function preflight(intent: Intent): Promise<void> {
    if (intent.kind !== 'provision' && intent.kind !== 'renew') return;
    const d = intent.desired;
    const groups = [...new Set(d.groups)];
    const policies = [...new Set([...d.policies, ...(config.permissionsBoundary ? [config.permissionsBoundary] : [])])];
    const [g, p] = await Promise.all([
      Promise.all(groups.map((GroupName) => call(`GetGroup ${GroupName}`, () => client.send(new sdk.GetGroupCommand({ GroupName, MaxItems: 1 })), GONE))),
      Promise.all(policies.map((PolicyArn) => call(`GetPolicy ${PolicyArn}`, () => client.send(new sdk.GetPolicyCommand({ PolicyArn })), GONE))),
    ]);
    const missingGroups = groups.filter((_, i) => g[i] === undefined);
    const missingPolicies = policies.filter((_, i) => p[i] === undefined);
    if (missingGroups.length + missingPolicies.length > 0) {
      const parts = [
        ...(missingGroups.length ? [`group${missingGroups.length > 1 ? 's' : ''} ${missingGroups.join(', ')}`] : []),
        ...(missingPolicies.length ? [`polic${missingPolicies.length > 1 ? 'ies' : 'y'} ${missingPolicies.join(', ')}`] : []),
      ];
      throw new InputError(`${where}: IAM ${parts.join(' and ')} not found.`, {
        code: 'aws.unknown',
        actions: ['Fix access.aws in the assignment (or targets.aws.permissionsBoundary in the config), or have the group or policy created first.'],
        details: { groups: missingGroups, policies: missingPolicies },
      });
    }
  }

  async function verify(intent: Intent): Promise<VerifyResult> {
    const granting = intent.kind === 'provision' || intent.kind === 'renew';
    const username = granting ? intent.desired.username : intent.username;
    if (intent.kind === 'revoke') {
      // Always read after the writes: a read-ahead serves plans only, never the proof.
      const readAt = clock.now().toISOString();
      const { observed, listedAt } = await reader.proofRead(username);
      const proof = prove(
        { target: 'aws', assignmentId: intent.assignmentId, username, revokedAt: intent.revokedAt, object: intent.object },
        observed,
        listedAt === undefined ? { server, readAt } : { server, readAt: listedAt, via: `${LISTING} (one listing after the writes), then ListAccessKeys and GetLoginProfile` },
      );
      return { target: 'aws', ok: proof.ok, problems: proofProblems(proof), observed, proof };
    }
    const observed = await inspect(username, 'grant');
    const f = iamFacts(observed);
    const problems: string[] = [];
    let steps: IamStep[] = [];
    try {
      steps = plan(observed, intent);
    } catch (e) {
      problems.push(errText(e));
    }
    {
      for (const s of steps) problems.push(`${s.id}: ${s.detail}`);
      if (intent.kind === 'purge' && observed.exists) problems.push(`user ${f.arn ?? username} still exists`);
      if ((intent.kind === 'provision' || intent.kind === 'renew') && observed.exists && isDenied(f)) {
        problems.push(`${REVOKED_POLICY} denies everything; detailee does not reinstate revoked users`);
      }
    }
    return { target: 'aws', ok: problems.length === 0, problems: [...new Set(problems)], observed };
  }

  function assume(granted: Granted, intent: Intent): Observed {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    const assignmentId = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.assignmentId : intent.assignmentId;
    // No credentials and no deny-all assumed: the plan then puts the deny-all first, and keys or a
    // console password added since onboarding fail the proof, which sends the revocation round again.
    const facts: IamFacts = {
      ...emptyIamFacts(),
      managed: true,
      arn: granted.object,
      tags: { [TAG_ASSIGNMENT]: assignmentId, [TAG_MANAGED_BY]: MANAGED_BY },
      notRead: ['everything: assumed from the provisioning record'],
    };
    const tidy = (xs: string[]) => [...new Set(xs)].sort();
    return observedFromFacts(username, facts, tidy(granted.groups), tidy(granted.policies));
  }

  return {
    name: 'aws',
    assume,
    server,
    preflight,
    inspect: reader.inspectFor,
    observe: (username) => inspect(username, 'full'),
    readAhead: reader.readAhead,
    listForProof: reader.listForProof,
    plan,
    apply,
    verify,
    listManaged: reader.listManaged,
    close: conn.close,
    get calls() {
      return conn.calls;
    },
  };
}
