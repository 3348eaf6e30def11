import type * as IamSdk from '@aws-sdk/client-iam';
import type { IAMClient, IAMClientConfig } from '@aws-sdk/client-iam';
import type { AwsConfig } from '../config/schema.js';
import { ActionError, DetaileeError, InputError } from '../errors.js';
import {
  MANAGED_BY,
  REVOKED_POLICY,
  TAG_ASSIGNMENT,
  TAG_ENDS_AT,
  TAG_MANAGED_BY,
  TAG_REVOKED_AT,
  TERM_POLICY,
  iamFacts,
  isDenied,
  isEnabled,
  planIam,
  termFromDocument,
  type IamCredential,
  type IamFacts,
  type IamStep,
} from './iam-plan.js';
import { prove, proofProblems } from './proof.js';
import type { Intent, Observed, Step, Target, VerifyResult } from './target.js';

type Sdk = typeof IamSdk;

export interface IamTargetOptions {
  /** Dates the proof's reads; every instant this target writes comes from the intent. */
  clock?: { now(): Date };
  /** Explicit credentials (tests, emulators); otherwise the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Backoff sleeps go through here, so retry tests never wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Told the operation name of every HTTP request as it is sent, retries included. */
  onCall?: (operation: string) => void;
}

export type IamTarget = Target & {
  /** HTTP requests sent to IAM so far, each retry counted (for benchmarks). */
  readonly calls: number;
};

/** Fewer users than this due at once are read one by one rather than by an account-wide listing. */
const READ_AHEAD_MIN = 10;
/** Bounded fan-out for per-user reads in listManaged. */
const LOOKUP_CONCURRENCY = 8;
/** A runaway Marker loop must end: 1000 pages is far beyond any real IAM listing. */
const MAX_PAGES = 1000;
const BACKOFF_BASE_MS = 100;
const THROTTLE_BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 20_000;

interface SdkErrorLike {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

/** The AWS error code (e.g. `NoSuchEntity`, `Throttling`) or, for a transport failure, its errno. */
export function awsErrorCode(e: unknown): string {
  const x = (e ?? {}) as SdkErrorLike;
  if (typeof x.Code === 'string' && x.Code !== '') return x.Code;
  if (typeof x.name === 'string' && x.name !== '' && x.name !== 'Error') return x.name.replace(/Exception$/, '');
  if (typeof x.code === 'string') return x.code;
  const status = x.$metadata?.httpStatusCode;
  return status === undefined ? 'Unknown' : `HTTP${status}`;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

interface RetryTokenLike {
  getRetryCount(): number;
  getRetryDelay(): number;
  getRetryCost(): number | undefined;
}

function token(retryCount: number): RetryTokenLike {
  // The delay is slept inside the strategy (through the injectable sleep), so the SDK adds none.
  return { getRetryCount: () => retryCount, getRetryDelay: () => 0, getRetryCost: () => undefined };
}

/**
 * Retries throttling and transient failures with full-jitter exponential backoff. IAM's
 * LimitExceeded is a quota (too many users, keys, policies), not a rate: the SDK's classifier
 * files it under throttling, and retrying would only delay the same refusal, so it is final here.
 */
export function createRetryStrategy(o: {
  maxAttempts: number;
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
  /** An emulator answering HTML for an operation it lacks; retrying cannot help. */
  isUnimplemented?: (e: unknown) => boolean;
}): NonNullable<IAMClientConfig['retryStrategy']> {
  const random = o.random ?? Math.random;
  return {
    mode: 'standard',
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: RetryTokenLike, info: { error?: unknown; errorType: string }) => {
      const code = awsErrorCode(info.error);
      const quota = code === 'LimitExceeded';
      const retryable = (info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT') && !quota && !(o.isUnimplemented?.(info.error) ?? false);
      const done = previous.getRetryCount() + 1;
      if (!retryable || done >= o.maxAttempts) throw info.error ?? new Error('not retryable');
      const base = info.errorType === 'THROTTLING' ? THROTTLE_BACKOFF_BASE_MS : BACKOFF_BASE_MS;
      await o.sleep(Math.floor(random() * Math.min(BACKOFF_CAP_MS, base * 2 ** previous.getRetryCount())));
      return token(done);
    },
    recordSuccess: () => undefined,
  };
}

/** Reached only if a kind is added to IamStep without a case in `apply`: the compiler refuses that. */
function unknownStep(step: never): never {
  throw new InputError(`The AWS target does not know step ${(step as { id?: unknown }).id}.`, { code: 'aws.step' });
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function createIamTarget(config: AwsConfig, options: IamTargetOptions = {}): Promise<IamTarget> {
  const where = `AWS IAM${config.endpoint ? ` at ${config.endpoint}` : ''}`;
  const server = config.endpoint ?? `iam (${config.region})`;
  const planConfig = { path: config.path, permissionsBoundary: config.permissionsBoundary };

  /**
   * moto answers an operation it does not implement with an HTML 500 page. Real IAM never sends
   * HTML, so this is only honoured against a configured (emulator) endpoint.
   */
  const isUnimplemented = (e: unknown): boolean => {
    if (config.endpoint === undefined) return false;
    const r = (e as SdkErrorLike | undefined)?.$response;
    const status = r?.statusCode ?? (e as SdkErrorLike | undefined)?.$metadata?.httpStatusCode ?? 0;
    return status >= 500 && /text\/html/i.test(r?.headers?.['content-type'] ?? '');
  };

  const sdk: Sdk = await import('@aws-sdk/client-iam');
  const client: IAMClient = new sdk.IAMClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: config.maxAttempts,
    retryStrategy: createRetryStrategy({ maxAttempts: config.maxAttempts, sleep: options.sleep ?? defaultSleep, isUnimplemented }),
    // Without throwOnRequestTimeout this SDK only logs a breached requestTimeout and keeps waiting.
    requestHandler: { requestTimeout: config.timeoutMs, connectionTimeout: config.timeoutMs, throwOnRequestTimeout: true },
  });
  let calls = 0;
  let closed = false;
  const GONE = ['NoSuchEntity'];
  // Low priority in finalizeRequest runs inside the retry loop: once per request on the wire.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls++;
      options.onCall?.(String(context.commandName ?? 'unknown').replace(/Command$/, ''));
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'detaileeCallObserver' },
  );

  /**
   * One IAM call. Codes in `ok` are an answer, not a failure (NoSuchEntity on a delete means
   * done); anything else becomes an ActionError naming the target, operation and AWS code.
   */
  async function call<T>(operation: string, fn: () => Promise<T>, ok: string[] = []): Promise<T | undefined> {
    if (closed) throw new ActionError(`${where}: the target was closed.`, { code: 'aws.closed' });
    try {
      return await fn();
    } catch (e) {
      if (e instanceof DetaileeError) throw e;
      const code = awsErrorCode(e);
      if (ok.includes(code)) return undefined;
      throw new ActionError(`${where}: ${operation} failed (${code}): ${errText(e)}`, {
        code: 'aws.operation',
        actions:
          code === 'LimitExceeded'
            ? ['An IAM quota is exhausted; have an AWS administrator raise it or clean up, then run the command again.']
            : ['Check the AWS credentials, permissions and network, then run the command again.'],
        details: { target: 'aws', operation, awsCode: code },
        cause: e,
      });
    }
  }

  async function must<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return (await call(operation, fn)) as T;
  }

  /** Every page of a Marker-paginated listing. */
  async function collect<O extends { IsTruncated?: boolean | undefined; Marker?: string | undefined }, T>(
    operation: string,
    page: (marker: string | undefined) => Promise<O>,
    pick: (o: O) => T[] | undefined,
    ok: string[] = [],
  ): Promise<T[] | undefined> {
    const out: T[] = [];
    let marker: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const r = await call(operation, () => page(marker), ok);
      if (r === undefined) return undefined;
      out.push(...(pick(r) ?? []));
      if (!r.IsTruncated || !r.Marker) return out;
      marker = r.Marker;
    }
    throw new ActionError(`${where}: ${operation} returned more than ${MAX_PAGES} pages.`, { code: 'aws.pagination', details: { target: 'aws', operation } });
  }

  /** Listings of credentials some emulators lack: recorded as unsupported instead of failing. */
  async function optionalList<T>(name: string, unsupported: string[], fn: () => Promise<T[] | undefined>): Promise<T[]> {
    // Declared gaps are not asked at all: moto can stall a connection on the operations it lacks.
    if ((config.unsupportedOperations as readonly string[] | undefined)?.includes(name)) {
      unsupported.push(name);
      return [];
    }
    try {
      return (await fn()) ?? [];
    } catch (e) {
      if (e instanceof ActionError && isUnimplemented(e.cause)) {
        unsupported.push(name);
        return [];
      }
      throw e;
    }
  }

  function decodeDocument(raw: string | undefined): unknown {
    if (raw === undefined) return undefined;
    // IAM returns policy documents URL-encoded (RFC 3986).
    for (const text of [safeDecode(raw), raw]) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // Try the other form.
      }
    }
    return raw;
  }

  const tidy = (xs: string[] | undefined): string[] => [...new Set((xs ?? []).filter((x) => x !== ''))].sort();

  const creds = (items: { id: string | undefined; status: string | undefined }[]): IamCredential[] =>
    items
      .filter((c): c is { id: string; status: string | undefined } => c.id !== undefined)
      .map((c) => ({ id: c.id, status: c.status ?? 'Unknown' }))
      // Sorted, so the same account always yields the same plan.
      .sort((a, b) => a.id.localeCompare(b.id));

  type Credentials = Pick<IamFacts, 'accessKeys' | 'loginProfile' | 'signingCertificates' | 'sshPublicKeys' | 'serviceSpecificCredentials' | 'mfaDevices'>;

  /**
   * Every credential of the user: keys, console password, certificates, SSH keys, service
   * credentials and, with `mfa`, MFA devices. Undefined when a listing says the user is gone
   * (only asked for with `gone`, when nothing else established that the user exists).
   */
  async function credentialsOf(username: string, unsupported: string[], o: { mfa: boolean; gone?: string[] }): Promise<Credentials | undefined> {
    const U = { UserName: username };
    const gone = o.gone ?? [];
    let missing = false;
    const list = async <T>(p: Promise<T[] | undefined>): Promise<T[]> => {
      const r = await p;
      if (r === undefined) missing = true;
      return r ?? [];
    };
    const [keys, profile, certs, ssh, service, mfa] = await Promise.all([
      list(
        collect(`ListAccessKeys ${username}`, (Marker) => client.send(new sdk.ListAccessKeysCommand({ ...U, Marker })), (r) => r.AccessKeyMetadata?.map((k) => ({ id: k.AccessKeyId, status: k.Status })), gone),
      ),
      call(`GetLoginProfile ${username}`, () => client.send(new sdk.GetLoginProfileCommand(U)), ['NoSuchEntity']),
      optionalList('ListSigningCertificates', unsupported, () =>
        list(
          collect(`ListSigningCertificates ${username}`, (Marker) => client.send(new sdk.ListSigningCertificatesCommand({ ...U, Marker })), (r) =>
            r.Certificates?.map((c) => ({ id: c.CertificateId, status: c.Status })),
          gone),
        ),
      ),
      optionalList('ListSSHPublicKeys', unsupported, () =>
        list(
          collect(`ListSSHPublicKeys ${username}`, (Marker) => client.send(new sdk.ListSSHPublicKeysCommand({ ...U, Marker })), (r) =>
            r.SSHPublicKeys?.map((c) => ({ id: c.SSHPublicKeyId, status: c.Status })),
          gone),
        ),
      ),
      optionalList('ListServiceSpecificCredentials', unsupported, () =>
        list(
          collect(`ListServiceSpecificCredentials ${username}`, (Marker) => client.send(new sdk.ListServiceSpecificCredentialsCommand({ ...U, Marker })), (r) =>
            r.ServiceSpecificCredentials?.map((c) => ({ id: c.ServiceSpecificCredentialId, status: c.Status })),
          gone),
        ),
      ),
      o.mfa
        ? optionalList('ListMFADevices', unsupported, () =>
            list(collect(`ListMFADevices ${username}`, (Marker) => client.send(new sdk.ListMFADevicesCommand({ ...U, Marker })), (r) => r.MFADevices?.map((d) => d.SerialNumber ?? ''), gone)),
          )
        : Promise.resolve([]),
    ]);
    if (missing) return undefined;
    return {
      accessKeys: creds(keys),
      loginProfile: profile !== undefined,
      signingCertificates: creds(certs),
      sshPublicKeys: creds(ssh),
      serviceSpecificCredentials: creds(service),
      mfaDevices: mfa.filter((x) => x !== '').sort(),
    };
  }

  const NO_CREDENTIALS: Credentials = { accessKeys: [], loginProfile: false, signingCertificates: [], sshPublicKeys: [], serviceSpecificCredentials: [], mfaDevices: [] };

  /** One detailee inline policy's document, or undefined when the user has no such policy. */
  async function inlineDocument(username: string, name: string): Promise<unknown> {
    const r = await call(`GetUserPolicy ${username} ${name}`, () => client.send(new sdk.GetUserPolicyCommand({ UserName: username, PolicyName: name })), ['NoSuchEntity']);
    return r ? (decodeDocument(r.PolicyDocument) ?? null) : undefined;
  }

  /**
   * What a read covers. `full`: everything IAM holds for the user (reconcile, and any caller that
   * names no intent). `grant`: the read-back of a provisioning or renewal, which neither plans nor
   * promises anything about credentials, so it skips their listings. `revoke`: what a revocation
   * plans from and proves — credentials, groups, managed policies, tags and the detailee-revoked
   * document, asked for by name; not the other inline policies' names, the term document or the
   * MFA devices, which neither the revocation plan nor its verification looks at.
   */
  type Scope = 'full' | 'grant' | 'revoke';

  async function inspect(username: string, scope: Scope, knownTags?: Record<string, string>): Promise<Observed> {
    const U = { UserName: username };
    const got = await call(`GetUser ${username}`, () => client.send(new sdk.GetUserCommand(U)), ['NoSuchEntity']);
    const user = got?.User;
    if (!user) return observe(username, undefined);
    const unsupported: string[] = [];
    const revoking = scope === 'revoke';
    const [tags, groups, policies, inline, revokedDoc, credentials] = await Promise.all([
      // GetUser carries the tags; ListUserTags only when it did not (some emulators omit them).
      knownTags !== undefined
        ? Promise.resolve(knownTags)
        : user.Tags !== undefined
          ? Promise.resolve(Object.fromEntries(user.Tags.map((t) => [t.Key ?? '', t.Value ?? ''])))
          : tagsOf(username),
      collect(`ListGroupsForUser ${username}`, (Marker) => client.send(new sdk.ListGroupsForUserCommand({ ...U, Marker })), (r) => r.Groups?.map((g) => g.GroupName ?? '')),
      collect(`ListAttachedUserPolicies ${username}`, (Marker) => client.send(new sdk.ListAttachedUserPoliciesCommand({ ...U, Marker })), (r) =>
        r.AttachedPolicies?.map((p) => p.PolicyArn ?? ''),
      ),
      revoking ? Promise.resolve(undefined) : collect(`ListUserPolicies ${username}`, (Marker) => client.send(new sdk.ListUserPoliciesCommand({ ...U, Marker })), (r) => r.PolicyNames),
      revoking ? inlineDocument(username, REVOKED_POLICY) : Promise.resolve(undefined),
      scope === 'grant' ? Promise.resolve(NO_CREDENTIALS) : credentialsOf(username, unsupported, { mfa: !revoking }),
    ]);
    const documents: Record<string, unknown> = {};
    let inlinePolicies: string[];
    if (revoking) {
      inlinePolicies = revokedDoc === undefined ? [] : [REVOKED_POLICY];
      if (revokedDoc !== undefined) documents[REVOKED_POLICY] = revokedDoc;
    } else {
      inlinePolicies = [...new Set(inline ?? [])].sort();
      await Promise.all(
        [TERM_POLICY, REVOKED_POLICY]
          .filter((n) => inlinePolicies.includes(n))
          .map(async (name) => {
            const doc = await inlineDocument(username, name);
            if (doc !== undefined) documents[name] = doc;
          }),
      );
    }
    const facts: IamFacts = {
      managed: tags[TAG_MANAGED_BY] === MANAGED_BY,
      path: user.Path,
      arn: user.Arn,
      boundary: user.PermissionsBoundary?.PermissionsBoundaryArn,
      tags,
      ...(credentials ?? NO_CREDENTIALS),
      inlinePolicies,
      documents,
      unsupported,
      notRead: revoking ? ['ListUserPolicies', `GetUserPolicy ${TERM_POLICY}`, 'ListMFADevices'] : scope === 'grant' ? ['credentials'] : [],
    };
    return observe(username, facts, tidy(groups), tidy(policies));
  }

  /** A user as an account-wide listing reported it: everything a revocation plans from but the credentials. */
  type AheadUser = Omit<IamFacts, keyof Credentials | 'managed' | 'unsupported' | 'notRead'> & { groups: string[]; policies: string[] };
  const ahead = new Map<string, AheadUser>();

  /**
   * One account-wide listing (GetAccountAuthorizationDetails) instead of four or five requests per
   * user for what a revocation plans from. Each entry serves the next revocation plan for its user
   * once; verification always reads the live user.
   */
  async function readAhead(usernames: readonly string[]): Promise<void> {
    ahead.clear();
    // The listing covers the whole account: for a handful of users, reading each is cheaper.
    if (new Set(usernames).size < READ_AHEAD_MIN) return;
    const want = new Set(usernames);
    let users: IamSdk.UserDetail[] | undefined;
    try {
      users = await collect(
        'GetAccountAuthorizationDetails',
        (Marker) => client.send(new sdk.GetAccountAuthorizationDetailsCommand({ Filter: ['User'], Marker, MaxItems: 1000 })),
        (r) => r.UserDetailList?.filter((u) => u.UserName !== undefined && want.has(u.UserName)),
      );
    } catch (e) {
      // Not allowed to list (or an emulator without it): each user is read on its own, as without a read-ahead.
      if (e instanceof ActionError) return;
      throw e;
    }
    for (const u of users ?? []) {
      // The tags say whose user it is; a listing that left them out is no basis for a plan.
      if (u.UserName === undefined || u.Tags === undefined) continue;
      const inline = (u.UserPolicyList ?? []).filter((p) => p.PolicyName !== undefined);
      const documents: Record<string, unknown> = {};
      for (const p of inline) if (p.PolicyName === TERM_POLICY || p.PolicyName === REVOKED_POLICY) documents[p.PolicyName] = decodeDocument(p.PolicyDocument) ?? null;
      ahead.set(u.UserName, {
        path: u.Path,
        arn: u.Arn,
        boundary: u.PermissionsBoundary?.PermissionsBoundaryArn,
        tags: Object.fromEntries(u.Tags.map((t) => [t.Key ?? '', t.Value ?? ''])),
        inlinePolicies: tidy(inline.map((p) => p.PolicyName ?? '')),
        documents,
        groups: tidy(u.GroupList),
        policies: tidy(u.AttachedManagedPolicies?.map((p) => p.PolicyArn ?? '')),
      });
    }
  }

  /** Target.inspect: a revocation's plan reads only what it needs, from the read-ahead when there is one. */
  async function inspectFor(username: string, purpose?: Intent['kind']): Promise<Observed> {
    if (purpose !== 'revoke') return inspect(username, 'full');
    const pre = ahead.get(username);
    if (!pre) return inspect(username, 'revoke');
    ahead.delete(username);
    const unsupported: string[] = [];
    const credentials = await credentialsOf(username, unsupported, { mfa: false, gone: GONE });
    // Deleted since the listing: read the user as it is now.
    if (!credentials) return inspect(username, 'revoke');
    const { groups, policies, ...rest } = pre;
    const facts: IamFacts = { ...rest, managed: pre.tags[TAG_MANAGED_BY] === MANAGED_BY, ...credentials, unsupported, notRead: ['ListMFADevices'] };
    return observe(username, facts, groups, policies);
  }

  async function tagsOf(username: string): Promise<Record<string, string>> {
    const tags = await collect(`ListUserTags ${username}`, (Marker) => client.send(new sdk.ListUserTagsCommand({ UserName: username, Marker })), (r) => r.Tags);
    return Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  function observe(username: string, f: IamFacts | undefined, groups: string[] = [], policies: string[] = []): Observed {
    if (!f) {
      const empty: IamFacts = {
        managed: false,
        tags: {},
        accessKeys: [],
        loginProfile: false,
        signingCertificates: [],
        sshPublicKeys: [],
        serviceSpecificCredentials: [],
        mfaDevices: [],
        inlinePolicies: [],
        documents: {},
        unsupported: [],
        notRead: [],
      };
      return { target: 'aws', username, exists: false, enabled: false, groups: [], policies: [], facts: { ...empty } };
    }
    const term = termFromDocument(f.documents[TERM_POLICY]);
    const tagInstant = (k: string) => {
      const v = f.tags[k];
      return v === undefined || Number.isNaN(Date.parse(v)) ? v : new Date(v).toISOString();
    };
    return {
      target: 'aws',
      username,
      exists: true,
      assignmentId: f.tags[TAG_ASSIGNMENT],
      enabled: isEnabled(f),
      groups,
      policies,
      startsAt: term.startsAt,
      endsAt: tagInstant(TAG_ENDS_AT),
      revokedAt: tagInstant(TAG_REVOKED_AT),
      facts: { ...f },
    };
  }

  const plan = (observed: Observed, intent: Intent): IamStep[] => planIam(observed, intent, planConfig);

  const tagList = (tags: Record<string, string>): { Key: string; Value: string }[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

  async function apply(s: Step): Promise<void> {
    if (s.target !== 'aws') throw new InputError(`Step ${s.id} is not an AWS step.`, { code: 'aws.step' });
    const UserName = s.params.username;
    switch (s.kind) {
      case 'aws.user.create': {
        const tags = tagList(s.params.tags);
        const boundary = s.params.permissionsBoundary;
        const made = await call(
          `CreateUser ${UserName}`,
          () => client.send(new sdk.CreateUserCommand({ UserName, Path: s.params.path, Tags: tags, ...(boundary ? { PermissionsBoundary: boundary } : {}) })),
          ['EntityAlreadyExists'],
        );
        if (made) return;
        // A retry after a crash finds its own user; anyone else's user is not taken over.
        const want = tags.find((t) => t.Key === TAG_ASSIGNMENT)?.Value;
        const have = (await tagsOf(UserName))[TAG_ASSIGNMENT];
        if (have !== want) {
          throw new ActionError(`${where}: user ${UserName} appeared meanwhile and ${have ? `belongs to assignment ${have}` : 'has no detailee tags'}; not taking it over.`, {
            code: 'aws.foreign-user',
            details: { target: 'aws', operation: 'CreateUser', username: UserName, recordedAssignment: have ?? null },
          });
        }
        return;
      }
      case 'aws.user.path':
        await must(`UpdateUser ${UserName}`, () => client.send(new sdk.UpdateUserCommand({ UserName, NewPath: s.params.path })));
        return;
      case 'aws.boundary.put':
        await must(`PutUserPermissionsBoundary ${UserName}`, () =>
          client.send(new sdk.PutUserPermissionsBoundaryCommand({ UserName, PermissionsBoundary: s.params.permissionsBoundary })),
        );
        return;
      case 'aws.user.tag':
      case 'aws.revoked.tag':
        await must(`TagUser ${UserName}`, () => client.send(new sdk.TagUserCommand({ UserName, Tags: tagList(s.params.tags) })));
        return;
      case 'aws.term.put':
      case 'aws.revoked.put': {
        const { policyName, document } = s.params;
        await must(`PutUserPolicy ${UserName} ${policyName}`, () =>
          client.send(new sdk.PutUserPolicyCommand({ UserName, PolicyName: policyName, PolicyDocument: document })),
        );
        return;
      }
      case 'aws.group.add': {
        const { group } = s.params;
        await must(`AddUserToGroup ${UserName} ${group}`, () => client.send(new sdk.AddUserToGroupCommand({ UserName, GroupName: group })));
        return;
      }
      case 'aws.policy.attach': {
        const { policyArn } = s.params;
        await must(`AttachUserPolicy ${UserName} ${policyArn}`, () => client.send(new sdk.AttachUserPolicyCommand({ UserName, PolicyArn: policyArn })));
        return;
      }
      case 'aws.key.deactivate': {
        const { accessKeyId } = s.params;
        await call(
          `UpdateAccessKey ${UserName} ${accessKeyId}`,
          () => client.send(new sdk.UpdateAccessKeyCommand({ UserName, AccessKeyId: accessKeyId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.login-profile.delete':
        await call(`DeleteLoginProfile ${UserName}`, () => client.send(new sdk.DeleteLoginProfileCommand({ UserName })), GONE);
        return;
      case 'aws.signing-certificate.deactivate': {
        const { certificateId } = s.params;
        await call(
          `UpdateSigningCertificate ${UserName}`,
          () => client.send(new sdk.UpdateSigningCertificateCommand({ UserName, CertificateId: certificateId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.ssh-key.deactivate': {
        const { sshPublicKeyId } = s.params;
        await call(
          `UpdateSSHPublicKey ${UserName}`,
          () => client.send(new sdk.UpdateSSHPublicKeyCommand({ UserName, SSHPublicKeyId: sshPublicKeyId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.service-credential.deactivate': {
        const { serviceSpecificCredentialId } = s.params;
        await call(
          `UpdateServiceSpecificCredential ${UserName}`,
          () => client.send(new sdk.UpdateServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId: serviceSpecificCredentialId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.group.remove': {
        const { group } = s.params;
        await call(`RemoveUserFromGroup ${UserName} ${group}`, () => client.send(new sdk.RemoveUserFromGroupCommand({ UserName, GroupName: group })), GONE);
        return;
      }
      case 'aws.policy.detach': {
        const { policyArn } = s.params;
        await call(`DetachUserPolicy ${UserName} ${policyArn}`, () => client.send(new sdk.DetachUserPolicyCommand({ UserName, PolicyArn: policyArn })), GONE);
        return;
      }
      case 'aws.key.delete': {
        const { accessKeyId } = s.params;
        await call(`DeleteAccessKey ${UserName} ${accessKeyId}`, () => client.send(new sdk.DeleteAccessKeyCommand({ UserName, AccessKeyId: accessKeyId })), GONE);
        return;
      }
      case 'aws.signing-certificate.delete': {
        const { certificateId } = s.params;
        await call(`DeleteSigningCertificate ${UserName}`, () => client.send(new sdk.DeleteSigningCertificateCommand({ UserName, CertificateId: certificateId })), GONE);
        return;
      }
      case 'aws.ssh-key.delete': {
        const { sshPublicKeyId } = s.params;
        await call(`DeleteSSHPublicKey ${UserName}`, () => client.send(new sdk.DeleteSSHPublicKeyCommand({ UserName, SSHPublicKeyId: sshPublicKeyId })), GONE);
        return;
      }
      case 'aws.service-credential.delete': {
        const { serviceSpecificCredentialId } = s.params;
        await call(
          `DeleteServiceSpecificCredential ${UserName}`,
          () => client.send(new sdk.DeleteServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId: serviceSpecificCredentialId })),
          GONE,
        );
        return;
      }
      case 'aws.mfa.deactivate': {
        const { serialNumber } = s.params;
        await call(`DeactivateMFADevice ${UserName}`, () => client.send(new sdk.DeactivateMFADeviceCommand({ UserName, SerialNumber: serialNumber })), GONE);
        return;
      }
      case 'aws.mfa.delete': {
        const { serialNumber } = s.params;
        await call(`DeleteVirtualMFADevice ${serialNumber}`, () => client.send(new sdk.DeleteVirtualMFADeviceCommand({ SerialNumber: serialNumber })), GONE);
        return;
      }
      case 'aws.inline.delete': {
        const { policyName } = s.params;
        await call(`DeleteUserPolicy ${UserName} ${policyName}`, () => client.send(new sdk.DeleteUserPolicyCommand({ UserName, PolicyName: policyName })), GONE);
        return;
      }
      case 'aws.user.delete':
        await call(`DeleteUser ${UserName}`, () => client.send(new sdk.DeleteUserCommand({ UserName })), GONE);
        return;
      default:
        return unknownStep(s);
    }
  }

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
    // Always a live read: a read-ahead serves plans only, never the proof.
    const observed = await inspect(username, granting ? 'grant' : 'revoke');
    if (intent.kind === 'revoke') {
      const proof = prove(
        { target: 'aws', assignmentId: intent.assignmentId, username, revokedAt: intent.revokedAt, object: intent.object },
        observed,
        { server, readAt: (options.clock?.now() ?? new Date()).toISOString() },
      );
      return { target: 'aws', ok: proof.ok, problems: proofProblems(proof), observed, proof };
    }
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

  async function listManaged(): Promise<Observed[]> {
    const users =
      (await collect(`ListUsers ${config.path}`, (Marker) => client.send(new sdk.ListUsersCommand({ PathPrefix: config.path, Marker })), (r) =>
        r.Users?.map((u) => u.UserName ?? '').filter((n) => n !== ''),
      )) ?? [];
    const out: Observed[] = [];
    for (let i = 0; i < users.length; i += LOOKUP_CONCURRENCY) {
      const chunk = users.slice(i, i + LOOKUP_CONCURRENCY);
      const observed = await Promise.all(
        chunk.map(async (u) => {
          const tags = await tagsOf(u);
          if (tags[TAG_MANAGED_BY] !== MANAGED_BY) return undefined;
          const o = await inspect(u, 'full', tags);
          // Deleted between the listing and the read: not an account any more.
          return o.exists ? o : undefined;
        }),
      );
      for (const o of observed) if (o) out.push(o);
    }
    return out.sort((a, b) => a.username.localeCompare(b.username));
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    client.destroy();
  }

  return {
    name: 'aws',
    server,
    preflight,
    inspect: inspectFor,
    readAhead,
    plan,
    apply,
    verify,
    listManaged,
    close,
    get calls() {
      return calls;
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
