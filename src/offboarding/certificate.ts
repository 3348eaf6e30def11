import { createHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import { InputError } from '../errors.js';
import type { Answers, Destination, Disposition, Person } from './answers.js';
import { acknowledgementStatement, offboardingChecklist, type Checklist } from './checklist.js';
import { refuseTaxpayerIds } from './fields.js';
import { MEDIA_LABELS, type FtiEntry, type Media } from './fti.js';
import type { DetachedJws } from '../crypto/jws.js';

/**
 * v2 dates the performer's and the validating official's signatures (performedBy/validatedBy.signedOn).
 * v3 records the host's time zone (assignment.term.timezone) and the actual end of access
 * (accessEnded), may carry a per-target proof of revocation (revocationProof), and its files are
 * issued with a detached `.sig` each (file-signature.ts).
 */
const CERTIFICATE_VERSION = 'detailee/certificate/v3';
/** Versions `certificate verify` accepts: certificates issued earlier stay verifiable for good. */
export const CERTIFICATE_VERSIONS = ['detailee/certificate/v1', 'detailee/certificate/v2', CERTIFICATE_VERSION] as const;
export type CertificateVersion = (typeof CERTIFICATE_VERSIONS)[number];
/** SP 800-88 pre-sanitisation categorisation: everything in the FTI log is FTI by definition. */
const PRE_SANITIZATION_CATEGORIZATION = 'FTI (return information, IRC 6103)';

export interface CertificateInput {
  assignment: {
    id: string;
    detailee: { givenName: string; familyName: string; username: string; homeAgency: string };
    host: { agency: string; office: string };
    agreement: { reference: string; sha256?: string | undefined };
    /** `timezone`: the host's IANA zone, in which the certificate prints every time. */
    term: { start: string; lastDay: string; endsAt: string; timezone: string };
  };
  entries: FtiEntry[];
  /** Answers that passed checkAnswers. */
  answers: Answers;
  revocation: { revokedAt: string; targets: { target: string; verifiedAt: string; evidence: string[] }[] };
  auditHead: { seq: number; hash: string };
  /** ISO instant; also the PDF's CreationDate, so the same issue renders the same bytes. */
  issuedAt: string;
  /** Who issued it (the operator's identity as the audit log records it). */
  issuer: string;
  /** Defaults to the packaged offboarding checklist; its acknowledgement wording is certified. */
  checklist?: Checklist;
  /** One line of proof per target that access is gone, when the revocation recorded one. */
  revocationProof?: RevocationProofLine[] | undefined;
}

/** A target's proof of revocation, in one line (built by the revocation, not here). */
interface RevocationProofLine {
  target: string;
  summary: string;
}

/**
 * When access actually ended: at the revocation when it came before the end of term (an early
 * revoke), else at the end of term, which the targets themselves enforce (LDAP pwdEndTime, the IAM
 * deny on aws:CurrentTime) even when the nightly revocation runs later.
 */
export interface AccessEnded {
  at: string;
  reason: 'revoked early' | 'end of term';
}

/** One item of media, with every field of the SP 800-88 certificate of sanitisation. Absent facts are null, not omitted. */
interface CertificateMediaItem {
  item: number;
  entry: string;
  mediaType: Media;
  mediaDescription: string;
  make: string | null;
  model: string | null;
  serialNumber: string | null;
  propertyNumber: string | null;
  source: string;
  preSanitizationCategorization: string;
  backedUp: 'yes' | 'no' | 'unknown';
  backupLocation: string | null;
  action: 'destroyed' | 'returned';
  method: 'Clear' | 'Purge' | 'Destroy' | null;
  technique: string | null;
  methodDetails: string | null;
  tool: { name: string; version: string | null } | null;
  date: string;
  verification: { method: 'full' | 'sampling' | 'other'; verifiedBy: { name: string; title: string } | null };
  postSanitizationCategorization: string;
  destination: Destination;
  receipt: string | null;
  cryptographicErase: { encryptedFromStart: boolean; keyCopiesDestroyed: boolean } | null;
}

interface CertificateFtiEntry {
  id: string;
  description: string;
  type: string;
  taxYears: number[];
  records: number;
  media: Media;
  location: string;
  received: string;
  sender: string | null;
  reason: string | null;
  recordedAt: string;
  recordedBy: string;
  disposition: { item: number; action: 'destroyed' | 'returned'; date: string; method: 'Clear' | 'Purge' | 'Destroy' | null };
  /**
   * Present only for an entry recorded before the FTI log was hashed into the audit chain and
   * bound to it later by `fti import-legacy`: the chain vouches for it from the import, not from
   * the day it was recorded. Absent otherwise, so other certificates' bytes are unchanged.
   */
  provenance?: 'imported';
}

/** A signatory of the certificate; `signedOn` is absent only from v1 certificates. */
type CertificateSigner = Person & { signedOn?: string };

export interface Certificate {
  certificateVersion: CertificateVersion;
  id: string;
  title: string;
  issuedAt: string;
  issuer: string;
  assignment: {
    id: string;
    detailee: { givenName: string; familyName: string; username: string; homeAgency: string };
    host: { agency: string; office: string };
    agreement: { reference: string; sha256: string | null };
    /** `timezone` from v3 on. */
    term: { start: string; lastDay: string; endsAt: string; timezone?: string };
  };
  /** From v3 on. */
  accessEnded?: AccessEnded;
  performedBy: CertificateSigner;
  validatedBy: CertificateSigner;
  media: CertificateMediaItem[];
  ftiLog: CertificateFtiEntry[];
  revocation: { revokedAt: string; targets: { target: string; verifiedAt: string; evidence: string[] }[] };
  /** v3, present only when the revocation recorded a proof per target. */
  revocationProof?: RevocationProofLine[];
  auditHead: { seq: number; hash: string };
  propertyReturned: string[];
  acknowledgement: { statement: string; signedBy: string; signedOn: string; controls: string[] };
}

export interface SignedCertificate {
  certificate: Certificate;
  /** Detached JWS (alg EdDSA) over canonicalBytes(certificate). */
  signature: DetachedJws;
  /** SPKI PEM of the signer; only as trustworthy as the --key it is checked against. */
  publicKey: string;
  /** SHA-256 hex of canonicalBytes(certificate). */
  hash: string;
}

const CERTIFICATE_TITLE = 'Certificate of return or destruction of federal tax information';

function incomplete(message: string, action: string): InputError {
  return new InputError(message, { code: 'certificate.incomplete', actions: [action] });
}

function postCategorization(d: Disposition): string {
  if (d.action === 'returned') return 'FTI, custody returned to the source';
  if (d.method === 'Destroy') return 'none: media destroyed, no FTI remains';
  return `none: media sanitised (${d.method ?? 'unknown method'}), no FTI remains`;
}

/** SP 800-88 "method details": the size the rules accepted, then the free-text details as written. */
function methodDetails(d: Disposition): string | null {
  const parts = [
    d.particleSize === undefined ? undefined : `particle size ${d.particleSize}`,
    d.screenSize === undefined ? undefined : `screen size ${d.screenSize}`,
    d.details,
  ].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? null : parts.join('; ');
}

function mediaItem(item: number, entry: FtiEntry, d: Disposition, username: string): CertificateMediaItem {
  return {
    item,
    entry: entry.id,
    mediaType: entry.media,
    mediaDescription: MEDIA_LABELS[entry.media],
    make: d.media?.make ?? null,
    model: d.media?.model ?? null,
    serialNumber: d.media?.serialNumber ?? null,
    propertyNumber: d.media?.propertyNumber ?? null,
    // SP 800-88 "source": the user or computer the media came from.
    source: `${username}: ${entry.location}`,
    preSanitizationCategorization: PRE_SANITIZATION_CATEGORIZATION,
    backedUp: d.backedUp,
    backupLocation: d.backupLocation ?? null,
    action: d.action,
    method: d.method ?? null,
    technique: d.technique ?? null,
    methodDetails: methodDetails(d),
    tool: d.tool ? { name: d.tool.name, version: d.tool.version ?? null } : null,
    date: d.date,
    verification: { method: d.verification, verifiedBy: d.verifiedBy ? { name: d.verifiedBy.name, title: d.verifiedBy.title } : null },
    postSanitizationCategorization: postCategorization(d),
    destination: d.destination ?? (d.action === 'returned' ? 'returned to source' : 'other'),
    receipt: d.receipt ?? null,
    cryptographicErase:
      d.encryptedFromStart !== undefined || d.keyCopiesDestroyed !== undefined
        ? { encryptedFromStart: d.encryptedFromStart === true, keyCopiesDestroyed: d.keyCopiesDestroyed === true }
        : null,
  };
}

/** RFC 8785 (JCS) bytes: what is hashed and signed, recomputable by any JCS implementation. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function accessEnded(endsAt: string, revokedAt: string): AccessEnded {
  const end = Date.parse(endsAt);
  const revoked = Date.parse(revokedAt);
  if (Number.isNaN(end) || Number.isNaN(revoked)) throw new TypeError(`not instants: endsAt ${endsAt}, revokedAt ${revokedAt}`);
  return revoked < end ? { at: revokedAt, reason: 'revoked early' } : { at: endsAt, reason: 'end of term' };
}

export function certificateHash(cert: Certificate): string {
  return sha256Hex(canonicalBytes(cert));
}

/**
 * `DC-<assignmentId>-<12 hex>`: the hex is the start of the SHA-256 of the canonical certificate
 * without its id. The same inputs (issuedAt included) always give the same id, and a certificate
 * re-issued later, or with any other content, gets another; 48 bits keep collisions within one
 * assignment out of reach. The assignment id is already safe as a file name.
 */
export function certificateId(content: Omit<Certificate, 'id'>): string {
  return `DC-${content.assignment.id}-${sha256Hex(canonicalBytes(content)).slice(0, 12)}`;
}

const SIGNER_FIELDS = ['name', 'title', 'organization', 'location', 'phone', 'signedOn'] as const;

export function buildCertificate(input: CertificateInput): Certificate {
  const { assignment, entries, answers } = input;
  const byEntry = new Map<string, Disposition>();
  for (const d of answers.dispositions) {
    if (byEntry.has(d.entry)) throw incomplete(`Entry ${d.entry} has more than one disposition.`, 'Check the answers with checkAnswers first.');
    byEntry.set(d.entry, d);
  }
  const ids = new Set(entries.map((e) => e.id));
  for (const d of answers.dispositions) {
    if (!ids.has(d.entry)) throw incomplete(`A disposition names entry ${d.entry}, which is not in the FTI log.`, 'Check the answers with checkAnswers first.');
  }
  if (input.revocation.targets.length === 0) {
    throw incomplete('No target confirmed the revocation; a certificate cannot claim access ended.', 'Revoke and verify every target before issuing the certificate.');
  }
  // Defence in depth: the log and the answers were checked when written, but a certificate is forever.
  refuseTaxpayerIds(
    entries.map((e) => ({ description: e.description, type: e.type, location: e.location, sender: e.sender, reason: e.reason })),
    'The FTI log',
    'certificate.identifier',
  );
  refuseTaxpayerIds(answers, 'The offboarding answers', 'certificate.identifier');
  if (input.revocationProof) refuseTaxpayerIds(input.revocationProof, 'The revocation proof', 'certificate.identifier');

  const media: CertificateMediaItem[] = [];
  const ftiLog: CertificateFtiEntry[] = [];
  entries.forEach((entry, i) => {
    const d = byEntry.get(entry.id);
    if (!d) throw incomplete(`FTI log entry ${entry.id} has no disposition.`, 'Answer the disposition of every FTI log entry.');
    const item = i + 1;
    media.push(mediaItem(item, entry, d, assignment.detailee.username));
    ftiLog.push({
      id: entry.id,
      description: entry.description,
      type: entry.type,
      taxYears: [...entry.taxYears],
      records: entry.records,
      media: entry.media,
      location: entry.location,
      received: entry.received,
      sender: entry.sender ?? null,
      reason: entry.reason ?? null,
      recordedAt: entry.recordedAt,
      recordedBy: entry.recordedBy,
      disposition: { item, action: d.action, date: d.date, method: d.method ?? null },
      ...((entry as FtiEntry & { provenance?: string }).provenance === 'imported' ? { provenance: 'imported' as const } : {}),
    });
  });

  const checklist = input.checklist ?? offboardingChecklist();
  const ackItem = checklist.items.find((i) => i.answer === 'acknowledgement');
  const content: Omit<Certificate, 'id'> = {
    certificateVersion: CERTIFICATE_VERSION,
    title: CERTIFICATE_TITLE,
    issuedAt: input.issuedAt,
    issuer: input.issuer,
    assignment: {
      id: assignment.id,
      detailee: { ...pick(assignment.detailee, ['givenName', 'familyName', 'username', 'homeAgency']) },
      host: { agency: assignment.host.agency, office: assignment.host.office },
      agreement: { reference: assignment.agreement.reference, sha256: assignment.agreement.sha256 ?? null },
      term: { start: assignment.term.start, lastDay: assignment.term.lastDay, endsAt: assignment.term.endsAt, timezone: assignment.term.timezone },
    },
    accessEnded: accessEnded(assignment.term.endsAt, input.revocation.revokedAt),
    performedBy: { ...pick(answers.performedBy, SIGNER_FIELDS) },
    validatedBy: { ...pick(answers.validatedBy, SIGNER_FIELDS) },
    media,
    ftiLog,
    revocation: {
      revokedAt: input.revocation.revokedAt,
      targets: input.revocation.targets.map((t) => ({ target: t.target, verifiedAt: t.verifiedAt, evidence: [...t.evidence] })),
    },
    // Absent, not empty, when there is none: the record says nothing it was not given.
    ...(input.revocationProof && input.revocationProof.length > 0 ? { revocationProof: input.revocationProof.map((p) => ({ target: p.target, summary: p.summary })) } : {}),
    auditHead: { seq: input.auditHead.seq, hash: input.auditHead.hash },
    propertyReturned: [...answers.propertyReturned],
    acknowledgement: {
      statement: acknowledgementStatement(checklist),
      signedBy: `${assignment.detailee.givenName} ${assignment.detailee.familyName}`,
      signedOn: answers.acknowledgement.signedOn,
      controls: [...(ackItem?.controls ?? [])],
    },
  };
  const id = certificateId(content);
  // `id` right after the version, so the JSON file reads top-down.
  const { certificateVersion, ...rest } = content;
  return { certificateVersion, id, ...rest };
}

/** Copy only the named fields, so extra properties of store objects never leak into a certificate. */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}
