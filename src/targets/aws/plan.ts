import { InputError } from '../../errors.js';
import type { Intent, Observed, StepDisplay } from '../model.js';
import { MANAGED_BY, REVOKED_POLICY, TAG_ASSIGNMENT, TAG_ENDS_AT, TAG_MANAGED_BY, TERM_POLICY, iamFacts, wasRevoked } from './facts.js';
import { instant, revokedPolicyDocument, sameDocument, tagTime, termPolicyDocument } from './documents.js';

/**
 * The IAM planner: a pure function of (observed user, intent, config). No client is imported
 * here; `apply.ts` turns each step into IAM calls.
 */

export interface IamPlanConfig {
  path: string;
  permissionsBoundary?: string | undefined;
}

/** The parameters of each kind of IAM step. */
interface IamStepParams {
  'aws.user.create': { username: string; path: string; tags: Record<string, string>; permissionsBoundary?: string };
  'aws.user.path': { username: string; path: string };
  'aws.boundary.put': { username: string; permissionsBoundary: string };
  'aws.user.tag': { username: string; tags: Record<string, string> };
  'aws.revoked.tag': { username: string; tags: Record<string, string> };
  /** `document` is the policy JSON exactly as it is sent. */
  'aws.term.put': { username: string; policyName: string; document: string };
  'aws.revoked.put': { username: string; policyName: string; document: string };
  'aws.group.add': { username: string; group: string };
  'aws.group.remove': { username: string; group: string };
  'aws.policy.attach': { username: string; policyArn: string };
  'aws.policy.detach': { username: string; policyArn: string };
  'aws.key.deactivate': { username: string; accessKeyId: string };
  'aws.key.delete': { username: string; accessKeyId: string };
  'aws.login-profile.delete': { username: string };
  'aws.signing-certificate.deactivate': { username: string; certificateId: string };
  'aws.signing-certificate.delete': { username: string; certificateId: string };
  'aws.ssh-key.deactivate': { username: string; sshPublicKeyId: string };
  'aws.ssh-key.delete': { username: string; sshPublicKeyId: string };
  'aws.service-credential.deactivate': { username: string; serviceSpecificCredentialId: string };
  'aws.service-credential.delete': { username: string; serviceSpecificCredentialId: string };
  'aws.mfa.deactivate': { username: string; serialNumber: string };
  'aws.mfa.delete': { username: string; serialNumber: string };
  'aws.inline.delete': { username: string; policyName: string };
  /** The user is deleted as this assignment's (null: an orphan with no assignment tag). */
  'aws.user.delete': { username: string; assignmentId: string | null };
}

type IamStepKind = keyof IamStepParams;

/** Every change the IAM target makes, one variant per kind; `id` is the kind, then `:object` where there is one. */
export type IamStep = IamStepOf<IamStepKind>;
type IamStepOf<K extends IamStepKind> = { [Q in K]: StepDisplay & { target: 'aws'; kind: Q; params: IamStepParams[Q] } }[K];

// ---------------------------------------------------------------------------------------------
// Validation

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const GROUP_NAME = /^[\w+=,.@-]{1,128}$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/[\w+=,.@/-]{1,512}$/;

function check(kind: string, value: string, re: RegExp): void {
  if (!re.test(value)) {
    throw new InputError(`The IAM ${kind} ${JSON.stringify(value)} is not valid for IAM.`, {
      code: 'aws.name',
      actions: [`Use a valid IAM ${kind}.`],
    });
  }
}

function checkDesiredTerm(startsAt: string, endsAt: string): void {
  if (instant(startsAt, 'term start') >= instant(endsAt, 'term end')) {
    throw new InputError(`The term ends (${endsAt}) at or before it starts (${startsAt}).`, { code: 'aws.term' });
  }
}

function refuseForeign(observed: Observed, assignmentId: string, kind: Intent['kind']): void {
  const f = iamFacts(observed);
  if (observed.assignmentId === assignmentId) return;
  // A revoke or purge may reach a managed user that lost its assignment tag (reconcile's orphans).
  if ((kind === 'revoke' || kind === 'purge') && f.managed && observed.assignmentId === undefined) return;
  const whose =
    observed.assignmentId !== undefined
      ? `belongs to assignment ${observed.assignmentId}`
      : f.managed
        ? 'is a detailee user with no assignment recorded'
        : 'has no detailee tags (it was not created by detailee)';
  throw new InputError(`The IAM user ${observed.username}${f.arn ? ` (${f.arn})` : ''} already exists and ${whose}; refusing to ${kind} it for assignment ${assignmentId}.`, {
    code: 'aws.foreign-user',
    actions: ['Choose another username, or have an AWS administrator resolve the existing user.'],
    details: { username: observed.username, arn: f.arn ?? null, recordedAssignment: observed.assignmentId ?? null },
  });
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

function sameInstant(a: string | undefined, b: string): boolean {
  return a !== undefined && !Number.isNaN(Date.parse(a)) && Date.parse(a) === Date.parse(b);
}

// ---------------------------------------------------------------------------------------------
// The planner

export function desiredTags(assignmentId: string, endsAt: string): Record<string, string> {
  return { [TAG_ASSIGNMENT]: assignmentId, [TAG_ENDS_AT]: tagTime(endsAt, 'term end'), [TAG_MANAGED_BY]: MANAGED_BY };
}

/** Builds a step whose id is derived from its kind, so the two never disagree. */
function step<K extends IamStepKind>(kind: K, object: string | undefined, action: string, detail: string, params: IamStepParams[K]): IamStepOf<K> {
  return { id: object === undefined ? kind : `${kind}:${object}`, target: 'aws', kind, action, detail, params };
}

function termStep(username: string, startsAt: string, endsAt: string): IamStep {
  const doc = termPolicyDocument(startsAt, endsAt);
  return step('aws.term.put', undefined, 'put term policy', `${TERM_POLICY}: deny all before ${startsAt} and from ${endsAt}`, {
    username,
    policyName: TERM_POLICY,
    document: JSON.stringify(doc),
  });
}

function groupRemovals(groups: string[], username: string): IamStep[] {
  return uniq(groups)
    .sort()
    .map((g) => step('aws.group.remove', g, 'remove from group', `remove ${username} from ${g}`, { username, group: g }));
}

function policyDetachments(policies: string[], username: string): IamStep[] {
  return uniq(policies)
    .sort()
    .map((arn) => step('aws.policy.detach', arn, 'detach policy', `detach ${arn} from ${username}`, { username, policyArn: arn }));
}

export function planIam(observed: Observed, intent: Intent, config: IamPlanConfig): IamStep[] {
  const f = iamFacts(observed);
  switch (intent.kind) {
    case 'provision': {
      const d = intent.desired;
      check('user name', d.username, USER_NAME);
      for (const g of d.groups) check('group name', g, GROUP_NAME);
      for (const p of d.policies) check('policy ARN', p, POLICY_ARN);
      checkDesiredTerm(d.startsAt, d.endsAt);
      const tags = desiredTags(d.assignmentId, d.endsAt);
      const steps: IamStep[] = [];
      if (!observed.exists) {
        steps.push(
          step('aws.user.create', undefined, 'create user', `create ${config.path}${d.username} for ${d.assignmentId}${config.permissionsBoundary ? ` with boundary ${config.permissionsBoundary}` : ''}`, {
            username: d.username,
            path: config.path,
            tags,
            ...(config.permissionsBoundary ? { permissionsBoundary: config.permissionsBoundary } : {}),
          }),
        );
      } else {
        refuseForeign(observed, d.assignmentId, 'provision');
        if (wasRevoked(observed)) {
          throw new InputError(`The IAM user ${d.username} was revoked${observed.revokedAt ? ` at ${observed.revokedAt}` : ''}; detailee does not reinstate a revoked user.`, {
            code: 'aws.provision.revoked',
            actions: ['A revoked detail needs a new signed assignment; purge the old user first.'],
          });
        }
        if (f.path !== undefined && f.path !== config.path) {
          // listManaged looks only under the configured path; a user elsewhere would escape reconcile.
          steps.push(step('aws.user.path', undefined, 'move user', `move ${d.username} from ${f.path} to ${config.path}`, { username: d.username, path: config.path }));
        }
        if (config.permissionsBoundary && f.boundary !== config.permissionsBoundary) {
          steps.push(
            step('aws.boundary.put', undefined, 'set permissions boundary', `boundary ${f.boundary ?? '(none)'} → ${config.permissionsBoundary}`, {
              username: d.username,
              permissionsBoundary: config.permissionsBoundary,
            }),
          );
        }
        const stale = Object.entries(tags).filter(([k, v]) => (k === TAG_ENDS_AT ? !sameInstant(f.tags[k], v) : f.tags[k] !== v));
        if (stale.length > 0) {
          steps.push(step('aws.user.tag', undefined, 'tag user', `set ${stale.map(([k, v]) => `${k}=${v}`).join(', ')}`, { username: d.username, tags }));
        }
      }
      // The term deny goes on before any group or policy, so the user never holds a permission
      // that AWS would not also cut off at the end of the term.
      if (!observed.exists || !sameDocument(f.documents[TERM_POLICY], termPolicyDocument(d.startsAt, d.endsAt))) {
        steps.push(termStep(d.username, d.startsAt, d.endsAt));
      }
      const groups = new Set(observed.groups);
      for (const g of uniq(d.groups)) {
        if (!groups.has(g)) steps.push(step('aws.group.add', g, 'add to group', `add ${d.username} to ${g}`, { username: d.username, group: g }));
      }
      const policies = new Set(observed.policies);
      for (const p of uniq(d.policies)) {
        if (!policies.has(p)) steps.push(step('aws.policy.attach', p, 'attach policy', `attach ${p} to ${d.username}`, { username: d.username, policyArn: p }));
      }
      return steps;
    }
    case 'renew': {
      const d = intent.desired;
      check('user name', d.username, USER_NAME);
      checkDesiredTerm(d.startsAt, d.endsAt);
      if (!observed.exists) {
        throw new InputError(`There is no IAM user ${d.username} to renew.`, {
          code: 'aws.renew.missing',
          actions: ['Run `detailee reconcile` to see why the user is missing.'],
        });
      }
      refuseForeign(observed, d.assignmentId, 'renew');
      if (wasRevoked(observed)) {
        throw new InputError(`The IAM user ${d.username} was revoked${observed.revokedAt ? ` at ${observed.revokedAt}` : ''}; a revoked user is not renewed.`, {
          code: 'aws.renew.revoked',
          actions: ['A revoked detail needs a new signed assignment.'],
        });
      }
      const steps: IamStep[] = [];
      if (!sameDocument(f.documents[TERM_POLICY], termPolicyDocument(d.startsAt, d.endsAt))) steps.push(termStep(d.username, d.startsAt, d.endsAt));
      const tags = desiredTags(d.assignmentId, d.endsAt);
      if (!sameInstant(f.tags[TAG_ENDS_AT], d.endsAt) || f.tags[TAG_MANAGED_BY] !== MANAGED_BY) {
        steps.push(step('aws.user.tag', undefined, 'tag user', `${TAG_ENDS_AT} ${f.tags[TAG_ENDS_AT] ?? '(none)'} → ${tags[TAG_ENDS_AT]}`, { username: d.username, tags }));
      }
      return steps;
    }
    case 'revoke': {
      check('user name', intent.username, USER_NAME);
      if (!observed.exists) return [];
      refuseForeign(observed, intent.assignmentId, 'revoke');
      const username = intent.username;
      const steps: IamStep[] = [];
      const want = revokedPolicyDocument(intent.revokedAt);
      // The deny-all goes first: on its own it stops every request, whatever happens to the
      // steps after it, and those steps are what make the revocation tidy and reversible.
      if (!sameDocument(f.documents[REVOKED_POLICY], want)) {
        steps.push(
          step('aws.revoked.put', undefined, 'put deny-all', `${REVOKED_POLICY}: deny all, and sessions issued before ${intent.revokedAt}`, {
            username,
            policyName: REVOKED_POLICY,
            document: JSON.stringify(want),
          }),
        );
      }
      for (const k of f.accessKeys.filter((c) => c.status === 'Active')) {
        steps.push(step('aws.key.deactivate', k.id, 'deactivate access key', `set ${k.id} Inactive`, { username, accessKeyId: k.id }));
      }
      if (f.loginProfile) steps.push(step('aws.login-profile.delete', undefined, 'delete login profile', `delete the console password of ${username}`, { username }));
      for (const c of f.signingCertificates.filter((x) => x.status === 'Active')) {
        steps.push(step('aws.signing-certificate.deactivate', c.id, 'deactivate signing certificate', `set ${c.id} Inactive`, { username, certificateId: c.id }));
      }
      for (const c of f.sshPublicKeys.filter((x) => x.status === 'Active')) {
        steps.push(step('aws.ssh-key.deactivate', c.id, 'deactivate SSH key', `set ${c.id} Inactive`, { username, sshPublicKeyId: c.id }));
      }
      for (const c of f.serviceSpecificCredentials.filter((x) => x.status === 'Active')) {
        steps.push(
          step('aws.service-credential.deactivate', c.id, 'deactivate service credential', `set ${c.id} Inactive`, { username, serviceSpecificCredentialId: c.id }),
        );
      }
      steps.push(...groupRemovals(observed.groups, username));
      steps.push(...policyDetachments(observed.policies, username));
      // No revocation tag: the deny-all document names the time, and one request fewer per
      // revocation is what lets the nightly job keep up (users revoked before carry the tag still).
      return steps;
    }
    case 'purge': {
      check('user name', intent.username, USER_NAME);
      if (!observed.exists) return [];
      refuseForeign(observed, intent.assignmentId, 'purge');
      const username = intent.username;
      // The order AWS documents for deleting a user (DeleteUser fails while any of these remain).
      const steps: IamStep[] = [];
      if (f.loginProfile) steps.push(step('aws.login-profile.delete', undefined, 'delete login profile', `delete the console password of ${username}`, { username }));
      for (const k of f.accessKeys) steps.push(step('aws.key.delete', k.id, 'delete access key', `delete ${k.id}`, { username, accessKeyId: k.id }));
      for (const c of f.signingCertificates) {
        steps.push(step('aws.signing-certificate.delete', c.id, 'delete signing certificate', `delete ${c.id}`, { username, certificateId: c.id }));
      }
      for (const c of f.sshPublicKeys) steps.push(step('aws.ssh-key.delete', c.id, 'delete SSH key', `delete ${c.id}`, { username, sshPublicKeyId: c.id }));
      for (const c of f.serviceSpecificCredentials) {
        steps.push(step('aws.service-credential.delete', c.id, 'delete service credential', `delete ${c.id}`, { username, serviceSpecificCredentialId: c.id }));
      }
      for (const serial of f.mfaDevices) {
        steps.push(step('aws.mfa.deactivate', serial, 'deactivate MFA device', `deactivate ${serial}`, { username, serialNumber: serial }));
        // Hardware devices belong to the agency and are only detached; virtual ones die with the user.
        if (serial.includes(':mfa/')) steps.push(step('aws.mfa.delete', serial, 'delete virtual MFA device', `delete ${serial}`, { username, serialNumber: serial }));
      }
      // detailee-revoked goes last of the inline policies: until then it still denies everything.
      const inline = uniq(f.inlinePolicies).sort((a, b) => Number(a === REVOKED_POLICY) - Number(b === REVOKED_POLICY) || a.localeCompare(b));
      for (const name of inline) steps.push(step('aws.inline.delete', name, 'delete inline policy', `delete ${name} from ${username}`, { username, policyName: name }));
      steps.push(...policyDetachments(observed.policies, username));
      steps.push(...groupRemovals(observed.groups, username));
      steps.push(step('aws.user.delete', undefined, 'delete user', `delete ${username}`, { username, assignmentId: observed.assignmentId ?? null }));
      return steps;
    }
  }
}
