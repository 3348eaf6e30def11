/**
 * Detached signatures over the exact bytes of a manifest (README, "The assignment manifest").
 * Two forms, JWS and CMS; this module decides which a file is, collects every signer and every
 * failure, and applies what both forms share: the trusted signer's window and the required roles.
 * Verification fails closed: one bad signature anywhere makes the whole report invalid.
 */
import { basename } from 'node:path';
import type { TrustConfig, TrustedSigner } from '../config/schema.js';
import { VerificationError } from '../errors.js';
import { verifyJwsFile } from '../crypto/jws.js';
import type { EntryResult, SignatureFile } from './signature-file.js';


type SignatureForm = 'jws' | 'cms';
interface VerifiedSigner {
  name: string;
  role: string;
  form: SignatureForm;
  file: string;
}
interface SignatureFailure {
  file: string;
  form: SignatureForm | 'unknown';
  signer?: string;
  reason: string;
}
export interface SignatureReport {
  valid: boolean;
  signers: VerifiedSigner[];
  failures: SignatureFailure[];
  missingRoles: string[];
  /**
   * Weakenings the configuration accepted for signatures that count (an issuer whose revocation is
   * not checked); they do not make the report invalid, and every caller must show them.
   */
  warnings: string[];
}

/**
 * What one signature (a JWS entry or a CMS SignerInfo) came to before the trust window is applied.
 * `who` names the signer as the signature claims it (JWS kid, certificate subject) for messages.
 */

/** Content decides the form; the extension only breaks ties for content that says nothing. */
function detectForm(file: SignatureFile): SignatureForm | 'unknown' {
  const b = file.bytes;
  let i = 0;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  if (b[i] === 0x7b /* { */) return 'jws';
  const head = Buffer.from(b.subarray(i, i + 40)).toString('latin1');
  if (head.startsWith('-----BEGIN PKCS7-----') || head.startsWith('-----BEGIN CMS-----')) return 'cms';
  // DER ContentInfo: a SEQUENCE, with no leading whitespace.
  if (b[0] === 0x30) return 'cms';
  const lower = file.path.toLowerCase();
  if (lower.endsWith('.jws')) return 'jws';
  if (lower.endsWith('.p7s')) return 'cms';
  return 'unknown';
}

/** A bare date or an ISO date-time with offset, as config validation allows. */
function parseInstant(s: string, endOfDay: boolean): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m) {
    // A bare date names a whole UTC day: notBefore starts at its first instant and notAfter covers it
    // through its last, so "notAfter: 2025-06-30" still lets the official sign on 30 June anywhere.
    const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return endOfDay ? start + 86_400_000 - 1 : start;
  }
  return Date.parse(s);
}

/** Why `signer` may not sign at `now`, or undefined when it may. */
function outsideWindow(signer: TrustedSigner, now: Date): string | undefined {
  const t = now.getTime();
  if (signer.notBefore !== undefined) {
    const nb = parseInstant(signer.notBefore, false);
    if (Number.isNaN(nb)) return `signer ${signer.name} has an unreadable notBefore ${JSON.stringify(signer.notBefore)} in the trust configuration`;
    if (t < nb) return `signer ${signer.name} is not authorised to sign before ${signer.notBefore} (trust notBefore)`;
  }
  if (signer.notAfter !== undefined) {
    const na = parseInstant(signer.notAfter, true);
    if (Number.isNaN(na)) return `signer ${signer.name} has an unreadable notAfter ${JSON.stringify(signer.notAfter)} in the trust configuration`;
    if (t > na) return `signer ${signer.name} was authorised to sign only until ${signer.notAfter} (trust notAfter)`;
  }
  return undefined;
}

export async function verifyDetached(payload: Uint8Array, files: SignatureFile[], trust: TrustConfig, now: Date): Promise<SignatureReport> {
  const signers: VerifiedSigner[] = [];
  const failures: SignatureFailure[] = [];
  const warnings: string[] = [];
  for (const file of files) {
    const form = detectForm(file);
    let results: EntryResult[];
    if (form === 'jws') {
      results = await verifyJwsFile(payload, file, trust);
    } else if (form === 'cms') {
      const { verifyCmsFile } = await import('./cms.js');
      results = await verifyCmsFile(payload, file, trust, now);
    } else {
      failures.push({ file: file.path, form, reason: 'not a signature this tool reads: expected a JWS (JSON) or a CMS/PKCS#7 SignedData (PEM or DER)' });
      continue;
    }
    for (const r of results) {
      if (!r.ok) {
        failures.push({ file: file.path, form, ...(r.who === undefined ? {} : { signer: r.who }), reason: r.reason });
        continue;
      }
      const inWindow = r.candidates.filter((c) => outsideWindow(c, now) === undefined);
      const first = inWindow[0];
      if (!first) {
        failures.push({ file: file.path, form, signer: r.who, reason: outsideWindow(r.candidates[0]!, now)! });
        continue;
      }
      signers.push({ name: first.name, role: first.role, form, file: file.path });
      for (const w of r.warnings ?? []) if (!warnings.includes(w)) warnings.push(w);
    }
  }
  const covered = new Set(signers.map((s) => s.role));
  const missingRoles = [...new Set(trust.requiredRoles)].filter((r) => !covered.has(r));
  return { valid: signers.length > 0 && failures.length === 0 && missingRoles.length === 0, signers, failures, missingRoles, warnings };
}

export function assertValid(report: SignatureReport, what: string): void {
  if (report.valid) return;
  const lines: string[] = [];
  for (const f of report.failures) lines.push(`  - ${basename(f.file)} (${f.form}${f.signer ? `, ${f.signer}` : ''}): ${f.reason}`);
  for (const r of report.missingRoles) lines.push(`  - required role "${r}" has no valid signature`);
  if (report.signers.length === 0 && report.failures.length === 0) lines.push('  - no valid signature was found');
  throw new VerificationError(`The signatures on ${what} do not hold; nothing was changed:\n${lines.join('\n')}`, {
    code: 'signature.invalid',
    details: report,
    actions: [
      'Check that the manifest is byte-for-byte the file that was signed.',
      'Check trust.signers, trust.caCertificates and trust.crls in the configuration, and that each required role has signed.',
    ],
  });
}
