import type * as IamSdk from '@aws-sdk/client-iam';
import type { IAMClient, IAMClientConfig } from '@aws-sdk/client-iam';
import type { AwsConfig } from '../../config/schema.js';
import { ActionError, DetaileeError } from '../../errors.js';

/**
 * The IAM transport: one SDK client with detailee's retry policy, and the single place where an
 * SDK failure becomes an ActionError naming the target, operation and AWS code.
 */

type IamSdkModule = typeof IamSdk;

/** On a delete or a revocation step, "the thing is already gone" is the answer wanted. */
export const GONE = ['NoSuchEntity'];

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
function awsErrorCode(e: unknown): string {
  const x = (e ?? {}) as SdkErrorLike;
  if (typeof x.Code === 'string' && x.Code !== '') return x.Code;
  if (typeof x.name === 'string' && x.name !== '' && x.name !== 'Error') return x.name.replace(/Exception$/, '');
  if (typeof x.code === 'string') return x.code;
  const status = x.$metadata?.httpStatusCode;
  return status === undefined ? 'Unknown' : `HTTP${status}`;
}

export function errText(e: unknown): string {
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
function createRetryStrategy(o: {
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

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface IamClientOptions {
  /** Explicit credentials (tests, emulators); otherwise the SDK's default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Backoff sleeps go through here, so retry tests never wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Told the operation name of every HTTP request as it is sent, retries included. */
  onCall?: (operation: string) => void;
}

/** One IAM endpoint as the target's modules share it. */
export interface IamConnection {
  readonly sdk: IamSdkModule;
  readonly client: IAMClient;
  readonly config: AwsConfig;
  /** `AWS IAM at <endpoint>`, the prefix of every error message. */
  readonly where: string;
  /** Where IAM is (endpoint or region, never credentials); named in every proof. */
  readonly server: string;
  /** HTTP requests sent so far, each retry counted. */
  readonly calls: number;
  /** An emulator's HTML answer for an operation it lacks (only against a configured endpoint). */
  isUnimplemented(e: unknown): boolean;
  /**
   * One IAM call. Codes in `ok` are an answer, not a failure (NoSuchEntity on a delete means
   * done); anything else becomes an ActionError naming the target, operation and AWS code.
   */
  call<T>(operation: string, fn: () => Promise<T>, ok?: string[]): Promise<T | undefined>;
  must<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** Every page of a Marker-paginated listing; undefined when a code in `ok` answered. */
  collect<O extends { IsTruncated?: boolean | undefined; Marker?: string | undefined }, T>(
    operation: string,
    page: (marker: string | undefined) => Promise<O>,
    pick: (o: O) => T[] | undefined,
    ok?: string[],
  ): Promise<T[] | undefined>;
  /** Listings of credentials some emulators lack: recorded in `unsupported` instead of failing. */
  optionalList<T>(name: string, unsupported: string[], fn: () => Promise<T[] | undefined>): Promise<T[]>;
  close(): Promise<void>;
}

export async function openIamClient(config: AwsConfig, options: IamClientOptions = {}): Promise<IamConnection> {
  const where = `AWS IAM${config.endpoint ? ` at ${config.endpoint}` : ''}`;
  const server = config.endpoint ?? `iam (${config.region})`;

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

  const sdk: IamSdkModule = await import('@aws-sdk/client-iam');
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

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    client.destroy();
  }

  return {
    sdk,
    client,
    config,
    where,
    server,
    get calls() {
      return calls;
    },
    isUnimplemented,
    call,
    must,
    collect,
    optionalList,
    close,
  };
}
