import { isIP } from 'node:net';
import type { ConfigFile } from '../config/schema.js';
import { ActionError, InputError } from '../errors.js';
import { isLoopbackHost } from '../net/loopback.js';

export type SmtpConfig = NonNullable<ConfigFile['notices']['smtp']>;

export interface SmtpSender {
  /** `host:port`, for messages and reports. */
  readonly endpoint: string;
  /** Send a finished RFC 5322 message as is: the bytes relayed are the bytes in the outbox. */
  send(message: { from: string; to: string[]; raw: string | Uint8Array }): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpOptions {
  /** Connect, greeting and idle timeouts; a nightly job must not hang on a dead relay. */
  timeoutMs?: number | undefined;
}


function endpointOf(cfg: SmtpConfig): string {
  return `${isIP(cfg.host) === 6 ? `[${cfg.host}]` : cfg.host}:${cfg.port}`;
}

/**
 * TLS policy, like the LDAP target's: implicit TLS (`secure`) or STARTTLS is required for any
 * relay off this machine, because the credentials and the notice (names, dates) would otherwise
 * cross the network in clear. On loopback, STARTTLS is used when offered and required only when
 * `startTLS: true` asks for it.
 */
function tlsPolicy(cfg: SmtpConfig, endpoint: string): { requireTLS: boolean } {
  const loopback = isLoopbackHost(cfg.host);
  if (cfg.secure) return { requireTLS: false };
  if (!loopback && cfg.startTLS === false) {
    throw new InputError(`notices.smtp: startTLS is off for ${endpoint}, which is not on this machine.`, {
      code: 'notices.smtp.tls',
      actions: ['Remove `startTLS: false`, or use `secure: true` (port 465), or relay through a local MTA on 127.0.0.1.'],
    });
  }
  return { requireTLS: loopback ? cfg.startTLS === true : true };
}

/** The password only ever travels into nodemailer's auth option; nothing derived from it is kept. */
function redact(text: string, password: string | undefined): string {
  return password ? text.split(password).join('***') : text;
}

function describe(e: unknown): { reason: string; details: Record<string, unknown> } {
  const err = e as { message?: string; code?: string; responseCode?: number; command?: string; originalCode?: string };
  const details: Record<string, unknown> = {};
  if (err.code !== undefined) details.code = err.code;
  if (err.originalCode !== undefined) details.originalCode = err.originalCode;
  if (err.responseCode !== undefined) details.responseCode = err.responseCode;
  // AUTH commands carry credentials in their arguments; keep only the verb.
  if (err.command !== undefined) details.command = err.command.split(' ')[0];
  const reason = err.message ?? String(e);
  return { reason, details };
}

export function createSmtpSender(cfg: SmtpConfig, password: string | undefined, options: SmtpOptions = {}): SmtpSender {
  const endpoint = endpointOf(cfg);
  if ((cfg.username === undefined) !== (password === undefined)) {
    throw new InputError(
      cfg.username === undefined
        ? `notices.smtp: a password was given for ${endpoint} but no username.`
        : `notices.smtp: username ${cfg.username} is set for ${endpoint} but no password was resolved.`,
      { code: 'notices.smtp.auth', actions: ['Set both username and passwordFile (or passwordEnv), or neither.'] },
    );
  }
  const { requireTLS } = tlsPolicy(cfg, endpoint);
  const timeout = options.timeoutMs ?? 30_000;

  type Transporter = { sendMail(m: object): Promise<unknown>; close(): void };
  let transporter: Promise<Transporter> | undefined;
  const transport = (): Promise<Transporter> =>
    (transporter ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
        // One connection reused for the night's notices, closed by close().
        pool: true,
        maxConnections: 1,
        host: cfg.host,
        port: cfg.port,
        secure: cfg.secure,
        requireTLS,
        auth: cfg.username === undefined ? undefined : { user: cfg.username, pass: password },
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        tls: { minVersion: 'TLSv1.2', servername: isIP(cfg.host) === 0 ? cfg.host : undefined },
        // Debug logging would copy the AUTH exchange somewhere; it stays off.
        logger: false,
        debug: false,
      }),
    ));

  return {
    endpoint,
    async send(message) {
      try {
        const t = await transport();
        await t.sendMail({
          envelope: { from: message.from, to: message.to },
          raw: typeof message.raw === 'string' ? message.raw : Buffer.from(message.raw),
        });
      } catch (e) {
        const { reason, details } = describe(e);
        throw new ActionError(`SMTP delivery through ${endpoint} failed: ${redact(reason, password)}`, {
          code: 'notice.smtp',
          actions: [`Check that the SMTP relay ${endpoint} is reachable and accepts this sender and its credentials; the notice is kept in the outbox.`],
          details: { endpoint, ...details },
        });
      }
    },
    async close() {
      if (transporter === undefined) return;
      const t = await transporter.catch(() => undefined);
      transporter = undefined;
      t?.close();
    },
  };
}
