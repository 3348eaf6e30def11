import { ActionError, InputError, type DetaileeError } from '../../errors.js';

/**
 * Active Directory's answers, turned into messages a person can act on. Pure: it reads the LDAP
 * result code and the DC's diagnostic text (or the socket's error code) and imports no client.
 *
 * AD explains a refused bind in the diagnostic, not the result code: 49 always, with
 * `AcceptSecurityContext error, data 52e` naming why. Modify errors carry a Win32 code in front
 * (`0000052D: Constraint violation - ...`).
 */

/** The sub-codes of a refused bind (result 49), by the hex AD writes after `data`. */
const BIND_REASONS: Record<string, { reason: string; accountState: boolean }> = {
  '525': { reason: 'no such user', accountState: false },
  '52e': { reason: 'wrong password (or no such user)', accountState: false },
  '530': { reason: 'not permitted to log on at this time (logonHours)', accountState: true },
  '531': { reason: 'not permitted to log on from this workstation', accountState: true },
  '532': { reason: 'the password has expired', accountState: true },
  '533': { reason: 'the account is disabled', accountState: true },
  '568': { reason: 'too many security groups in the token', accountState: true },
  '701': { reason: 'the account has expired (accountExpires is past)', accountState: true },
  '773': { reason: 'the password must be changed before the first logon (pwdLastSet is 0)', accountState: true },
  '775': { reason: 'the account is locked out', accountState: true },
};

/** What an error looks like to this module: an ldapts ResultCodeError, or a socket/TLS error. */
interface ErrorShape {
  code?: unknown;
  message?: unknown;
}

export interface AdDiagnostic {
  /** LDAP result code, when the DC answered. */
  resultCode?: number;
  /** The `data xxx` sub-code of a refused bind, lower-case hex. */
  bindData?: string;
  /** The Win32 error in front of a modify diagnostic, e.g. 0000052D. */
  win32?: string;
  /** Node's error code for a transport failure (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID…). */
  transport?: string;
  /** The DC's text (or the socket's), without ldapts' "Code: 0x31" suffix. */
  text: string;
}

export function diagnose(e: unknown): AdDiagnostic {
  const shape = (typeof e === 'object' && e !== null ? e : {}) as ErrorShape;
  const raw = typeof shape.message === 'string' ? shape.message : String(e);
  const text = raw.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
  const out: AdDiagnostic = { text };
  if (typeof shape.code === 'number') {
    out.resultCode = shape.code;
    const data = /\bdata ([0-9a-f]{1,8})\b/i.exec(text);
    if (data) out.bindData = data[1]!.toLowerCase();
    const win32 = /^([0-9A-F]{8}):/i.exec(text);
    if (win32) out.win32 = win32[1]!.toUpperCase();
  } else if (typeof shape.code === 'string') {
    out.transport = shape.code;
  } else if (/timeout|timed out/i.test(text)) {
    out.transport = 'ETIMEDOUT';
  }
  return out;
}

/** Why a bind was refused, in words; undefined when it was not a refused bind. */
export function bindRefusal(e: unknown): { data: string; reason: string } | undefined {
  const d = diagnose(e);
  if (d.resultCode !== 49) return undefined;
  const data = d.bindData ?? '?';
  return { data, reason: BIND_REASONS[data]?.reason ?? `refused (${d.text})` };
}

const TLS_NAME = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_FORMAT']);
const TLS_TRUST = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const TLS_TIME = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const DOWN = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export interface AdErrorContext {
  /** `AD ldaps://dc1.example.gov:636`: where, for the message. */
  where: string;
  /** What was being done, e.g. `bind as CN=svc,...` or `create CN=jdoe,...`. */
  operation: string;
  /** True for the service account's own bind (its failures are the config's to fix). */
  serviceBind?: boolean;
  /** The config field whose DN the operation started from: a missing one is the config's fault. */
  configField?: 'usersDN' | 'groupsDN';
}

/**
 * The DetaileeError for an AD failure: exit 2 (InputError) when the config must change — the
 * service account's password or name, the certificate pin, a base DN that does not exist — and
 * exit 1 (ActionError) when the DC is down or refused an action a person must look at.
 */
export function mapAdError(e: unknown, ctx: AdErrorContext): DetaileeError {
  const d = diagnose(e);
  const details = { target: 'ad', operation: ctx.operation, ...(d.resultCode === undefined ? {} : { resultCode: d.resultCode }), ...(d.bindData ? { data: d.bindData } : {}), ...(d.win32 ? { win32: d.win32 } : {}), ...(d.transport ? { transport: d.transport } : {}) };
  const at = `${ctx.where}: ${ctx.operation}`;

  if (d.transport !== undefined) {
    if (TLS_NAME.has(d.transport)) {
      return new InputError(`${at}: the domain controller's certificate does not name the host in targets.ad.url (${d.text}).`, {
        code: 'ad.tls.name',
        actions: ['Use the host name (or IP) the DC certificate was issued for in targets.ad.url, or have the DC certificate reissued with it.'],
        details,
        cause: e,
      });
    }
    if (TLS_TRUST.has(d.transport) || TLS_TIME.has(d.transport)) {
      return new InputError(`${at}: the domain controller's certificate is not trusted (${d.transport}).`, {
        code: 'ad.tls.trust',
        actions: ['Point targets.ad.caCertificate at the CA certificate (PEM) that issued the DC certificate.'],
        details,
        cause: e,
      });
    }
    if (DOWN.has(d.transport)) {
      return new ActionError(`${at}: the domain controller did not answer (${d.transport}).`, {
        code: 'ad.unreachable',
        actions: ['Check that the DC is up and reachable from here (targets.ad.url), then run the command again.'],
        details,
        cause: e,
      });
    }
    return new ActionError(`${at}: the connection failed (${d.transport}: ${d.text}).`, { code: 'ad.connection', actions: ['Check the network path to the DC, then run the command again.'], details, cause: e });
  }

  switch (d.resultCode) {
    case 49: {
      const data = d.bindData ?? '?';
      const known = BIND_REASONS[data];
      const reason = known?.reason ?? 'invalid credentials';
      if (ctx.serviceBind && (!known || !known.accountState)) {
        return new InputError(`${at}: the DC refused the service account's bind: ${reason} (data ${data}).`, {
          code: 'ad.bind.credentials',
          actions: ['Check targets.ad.bindDN (a DN or user@domain) and the password in targets.ad.bindPasswordFile or bindPasswordEnv.'],
          details,
          cause: e,
        });
      }
      if (ctx.serviceBind) {
        return new ActionError(`${at}: the service account cannot bind: ${reason} (data ${data}).`, {
          code: 'ad.bind.account',
          actions: ['A domain administrator must fix the service account named in targets.ad.bindDN.'],
          details,
          cause: e,
        });
      }
      return new ActionError(`${at}: bind refused: ${reason} (data ${data}).`, { code: 'ad.bind.refused', details, cause: e });
    }
    case 8:
    case 13:
      return new InputError(`${at}: the DC requires an encrypted connection for this (${d.text}).`, {
        code: 'ad.tls.required',
        actions: ['Use an ldaps:// URL in targets.ad.url, or set targets.ad.startTLS to true.'],
        details,
        cause: e,
      });
    case 19:
      if (d.win32 === '0000052D') {
        return new ActionError(`${at}: the domain's password policy refused the password (${d.text}).`, {
          code: 'ad.password.policy',
          actions: ['Check the domain password policy (length, complexity, history, minimum age); detailee generates 32 random characters of four classes.'],
          details,
          cause: e,
        });
      }
      return new ActionError(`${at}: constraint violation (${d.text}).`, { code: 'ad.constraint', actions: ['Read the DC message above; a domain administrator may need to look.'], details, cause: e });
    case 50:
      return new ActionError(`${at}: the service account is not allowed to do this (${d.text}).`, {
        code: 'ad.access',
        actions: ['Delegate the rights on targets.ad.usersDN and groupsDN to the service account (create, reset password, write userAccountControl, accountExpires, member).'],
        details,
        cause: e,
      });
    case 53:
      return new ActionError(`${at}: the DC is unwilling to perform this (${d.text}).`, {
        code: 'ad.unwilling',
        actions: ['A password can only be set over an encrypted connection (ldaps or StartTLS); otherwise read the DC message above.'],
        details,
        cause: e,
      });
    case 68:
      return new ActionError(`${at}: an entry with that name already exists (${d.text}).`, {
        code: 'ad.exists',
        actions: ['Another account holds this sAMAccountName or DN; detailee never takes over an account it did not create.'],
        details,
        cause: e,
      });
    case 32:
      if (ctx.configField) {
        return new InputError(`${at}: targets.ad.${ctx.configField} does not exist on the DC (${d.text}).`, {
          code: 'ad.no-such-object',
          actions: [`Set targets.ad.${ctx.configField} to the DN of an existing OU or container.`],
          details,
          cause: e,
        });
      }
      return new ActionError(`${at}: no such object (${d.text}).`, { code: 'ad.no-such-object', actions: ['The entry was moved or deleted meanwhile; run the command again.'], details, cause: e });
    case 51:
    case 52:
      return new ActionError(`${at}: the DC is busy or unavailable (${d.text}).`, { code: 'ad.unavailable', actions: ['Run the command again later.'], details, cause: e });
    default:
      return new ActionError(`${at}: failed (${d.text}).`, { code: 'ad.operation', actions: ['Read the DC message above; a domain administrator may need to look.'], details, cause: e });
  }
}
