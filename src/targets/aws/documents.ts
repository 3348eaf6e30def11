import { canonicalJson } from '../../crypto/canonical-json.js';
import { InputError } from '../../errors.js';

/**
 * The IAM policy documents detailee writes, and how it reads them back: pure, no client. The
 * term and the revocation are enforced by AWS itself through these documents.
 */

export function instant(iso: string, what: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new InputError(`The ${what} is not an instant: ${JSON.stringify(iso)}`, { code: 'aws.time' });
  return t;
}

/**
 * IAM date conditions are compared at one-second precision here. Rounding always errs towards
 * denying: the start and the revocation cut-off round up, the end rounds down.
 */
function policyTime(iso: string, what: string, round: 'up' | 'down'): string {
  const ms = instant(iso, what);
  const s = round === 'up' ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
  return new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The canonical tag form of an instant, so equal instants always produce equal tags. */
export function tagTime(iso: string, what = 'instant'): string {
  return new Date(instant(iso, what)).toISOString();
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Record<string, unknown>[];
}

/**
 * Deny everything outside [startsAt, endsAt): AWS itself enforces the term, even if the nightly
 * job never runs. Two statements, because one Condition block ANDs its operators.
 */
export function termPolicyDocument(startsAt: string, endsAt: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DetaileeTermNotStarted',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:CurrentTime': policyTime(startsAt, 'term start', 'up') } },
      },
      {
        Sid: 'DetaileeTermEnded',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': policyTime(endsAt, 'term end', 'down') } },
      },
    ],
  };
}

/**
 * Deny everything, and separately deny any request signed with a session issued before the
 * revocation: the second statement stays meaningful as evidence and if the first is ever
 * loosened by hand, temporary credentials obtained earlier still die.
 */
export function revokedPolicyDocument(revokedAt: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'DetaileeRevoked', Effect: 'Deny', Action: '*', Resource: '*' },
      {
        Sid: 'DetaileeRevokedSessions',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': policyTime(revokedAt, 'revocation time', 'up') } },
      },
    ],
  };
}


/** Same policy regardless of key order or formatting (IAM may hand documents back reformatted). */
export function sameDocument(a: unknown, b: unknown): boolean {
  return a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b);
}

/** The term a `detailee-term` document enforces, read back from its conditions. */
export function termFromDocument(doc: unknown): { startsAt?: string; endsAt?: string } {
  const out: { startsAt?: string; endsAt?: string } = {};
  const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
  if (!Array.isArray(statements)) return out;
  for (const s of statements as { Condition?: Record<string, Record<string, unknown>> }[]) {
    const before = s.Condition?.DateLessThan?.['aws:CurrentTime'];
    const after = s.Condition?.DateGreaterThanEquals?.['aws:CurrentTime'];
    if (typeof before === 'string' && !Number.isNaN(Date.parse(before))) out.startsAt = new Date(before).toISOString();
    if (typeof after === 'string' && !Number.isNaN(Date.parse(after))) out.endsAt = new Date(after).toISOString();
  }
  return out;
}

/** The revocation time a `detailee-revoked` document names (its session cut-off, to the second). */
export function revokedFromDocument(doc: unknown): string | undefined {
  const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
  if (!Array.isArray(statements)) return undefined;
  for (const s of statements as { Condition?: Record<string, Record<string, unknown>> }[]) {
    const cut = s.Condition?.DateLessThan?.['aws:TokenIssueTime'];
    if (typeof cut === 'string' && !Number.isNaN(Date.parse(cut))) return new Date(cut).toISOString();
  }
  return undefined;
}

/** A `detailee-revoked` document whose unconditional deny-all is intact. */
export function hasDenyAll(doc: unknown): boolean {
  const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
  const list = Array.isArray(statements) ? statements : statements && typeof statements === 'object' ? [statements] : [];
  return (list as Record<string, unknown>[]).some(
    (s) =>
      s.Effect === 'Deny' &&
      (s.Action === '*' || (Array.isArray(s.Action) && s.Action.includes('*'))) &&
      (s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*'))) &&
      s.Condition === undefined &&
      s.NotAction === undefined &&
      s.NotResource === undefined,
  );
}

/** A policy document as IAM hands it back (URL-encoded, RFC 3986), parsed; the raw text when it is not JSON. */
export function decodeDocument(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  for (const text of [safeDecode(raw), raw]) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Try the other form.
    }
  }
  return raw;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
