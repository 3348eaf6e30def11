import { spawn, type ChildProcess } from 'node:child_process';
import type * as IamSdk from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import { delay, freePort } from './net.js';
import { serverLog, type ServerLog } from './server-log.js';

/**
 * A real moto server per caller, on its own loopback port, so test files (and the demo) can run
 * side by side. moto accepts any credentials; the dummy ones below are passed to clients
 * explicitly so nothing ever reads ~/.aws or the environment.
 */
export interface Moto {
  endpoint: string;
  port: number;
  /** moto's default account: every ARN it issues is under it. */
  accountId: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
  /** SIGKILL, for fault tests. */
  kill(): void;
  /** Forget every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** An IAM client for setting up fixtures; the caller owns it (destroy it when done). */
  iam(): Promise<IAMClient>;
  createGroup(name: string): Promise<void>;
  /** A customer-managed policy allowing a harmless read; returns its ARN. */
  createPolicy(name: string): Promise<string>;
}

export interface MotoOptions {
  /** Load AWS managed policies (arn:aws:iam::aws:policy/...); slower to start and to reset. */
  loadManagedPolicies?: boolean;
  /**
   * Enforce IAM authentication and policies after this many requests (moto's
   * INITIAL_NO_AUTH_ACTION_COUNT): the first ones set up a user whose keys sign the rest. moto then
   * checks actions against each caller's policies, but sees every IAM user operation's resource as
   * "*", so resource-scoped statements match nothing.
   */
  enforceIamAfter?: number;
}

const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;
const MOTO_BIN = process.env.DETAILEE_TEST_MOTO ?? 'moto_server';


class MotoExited extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  let child: ChildProcess | undefined;
  let port = 0;
  let log: ServerLog | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  /** Spawn on `port` and poll, a bounded number of times, until moto answers HTTP. */
  async function launch(): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: options.loadManagedPolicies ? 'true' : 'false' };
    if (options.enforceIamAfter !== undefined) env.INITIAL_NO_AUTH_ACTION_COUNT = String(options.enforceIamAfter);
    else delete env.INITIAL_NO_AUTH_ACTION_COUNT;
    // moto must never pick up a developer's real account settings.
    delete env.AWS_PROFILE;
    log?.remove();
    log = serverLog('moto');
    const proc = spawn(MOTO_BIN, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', log.fd], env });
    log.detach();
    const output = log;
    let exited: number | string | null | undefined;
    proc.on('exit', (code, signal) => (exited = code ?? signal));
    proc.on('error', (e) => (exited = e.message));
    child = proc;
    // Python start-up is slow on a loaded machine: up to 30 s, polled every 50 ms.
    for (let attempt = 0; attempt < 600; attempt++) {
      if (exited !== undefined) throw new MotoExited(`moto_server exited (${String(exited)}): ${output.tail().trim()}`, /Address already in use|EADDRINUSE/.test(output.tail()));
      try {
        const r = await fetch(`http://127.0.0.1:${port}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
        await r.arrayBuffer();
        if (r.ok) return;
      } catch {
        // Not listening yet.
      }
      await delay(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`moto_server on port ${port} did not answer in time: ${output.tail().trim()}`);
  }

  try {
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        await launch();
        break;
      } catch (e) {
        if (!(e instanceof MotoExited && e.addressInUse) || attempt >= 5) throw e;
      }
    }
  } catch (e) {
    process.removeListener('exit', killOnExit);
    log?.remove();
    throw e;
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';

  async function iam(): Promise<IAMClient> {
    const { IAMClient } = await import('@aws-sdk/client-iam');
    return new IAMClient({ region, endpoint, credentials: { ...MOTO_CREDENTIALS }, maxAttempts: 1 });
  }

  async function withIam<T>(fn: (c: IAMClient, sdk: typeof IamSdk) => Promise<T>): Promise<T> {
    const sdk = await import('@aws-sdk/client-iam');
    const c = await iam();
    try {
      return await fn(c, sdk);
    } finally {
      c.destroy();
    }
  }

  return {
    endpoint,
    port,
    accountId: '123456789012',
    region,
    credentials: { ...MOTO_CREDENTIALS },
    async stop() {
      const proc = child;
      child = undefined;
      process.removeListener('exit', killOnExit);
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
        });
      }
      log?.remove();
    },
    kill() {
      const proc = child;
      child = undefined;
      process.removeListener('exit', killOnExit);
      proc?.kill('SIGKILL');
      log?.remove();
    },
    async reset() {
      const r = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`moto reset failed: HTTP ${r.status}`);
    },
    iam,
    createGroup: (name) => withIam(async (c, sdk) => void (await c.send(new sdk.CreateGroupCommand({ GroupName: name })))),
    createPolicy: (name) =>
      withIam(async (c, sdk) => {
        const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }] };
        const r = await c.send(new sdk.CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document) }));
        const arn = r.Policy?.Arn;
        if (!arn) throw new Error(`moto returned no ARN for policy ${name}`);
        return arn;
      }),
  };
}
