import type { Certificate, SignedCertificate } from './certificate.js';
import { decodeProtectedHeader } from '../crypto/jws.js';
import { hostTime } from './times.js';

/**
 * Everything a renderer shows, precomputed as plain strings, arrays and booleans. The Markdown
 * template is user-editable and logic-less, and the PDF lays out the same rows, so both say the
 * same thing; no function ever reaches a template.
 */
export interface Row {
  label: string;
  value: string;
}

interface MediaView {
  heading: string;
  rows: Row[];
}

export interface CertificateView {
  title: string;
  id: string;
  hash: string;
  keyId: string;
  issuedAt: string;
  issuer: string;
  detaileeName: string;
  /** What the QR code carries: enough to look the certificate up and compare its hash. */
  qrText: string;
  parties: Row[];
  performedBy: Row[];
  validatedBy: Row[];
  media: MediaView[];
  ftiLog: { id: string; description: string; type: string; taxYears: string; records: string; media: string; received: string; location: string; disposition: string }[];
  revocation: {
    revokedAt: string;
    targets: { target: string; verifiedAt: string; evidence: string[]; hasEvidence: boolean }[];
    /** v3: the per-target proof of revocation, one line each, when the record carries one. */
    proof: { target: string; summary: string }[];
    hasProof: boolean;
  };
  /** v3: lines for the wet signatures of the performer and the validating official (SP 800-88 Appendix G). */
  signatureLines: { role: string; name: string; title: string; date: string }[];
  hasSignatureLines: boolean;
  auditHead: Row[];
  propertyReturned: string[];
  hasPropertyReturned: boolean;
  acknowledgement: { statement: string; signedBy: string; signedOn: string; controls: string };
  signature: Row[];
}

const NONE = '—';

function orNone(v: string | null | undefined): string {
  return v === null || v === undefined || v === '' ? NONE : v;
}

/** [2019, 2020, 2021, 2023] → "2019–2021, 2023". */
function formatTaxYears(years: readonly number[]): string {
  const sorted = [...years].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}–${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

function qrText(signed: SignedCertificate): string {
  return `detailee:cert:${signed.certificate.id}:${signed.hash}`;
}

/**
 * v3 prints every instant in the host's zone, named, with UTC beside it. v1 and v2 recorded no zone,
 * and print their ISO instants exactly as they were issued (so they still re-render to their bytes).
 */
function timeFormat(c: Certificate): (iso: string) => string {
  const zone = c.assignment.term.timezone;
  return zone === undefined ? (iso) => iso : (iso) => hostTime(iso, zone);
}

export function certificateView(signed: SignedCertificate): CertificateView {
  const c = signed.certificate;
  const t = timeFormat(c);
  const v3 = c.accessEnded !== undefined;
  const header = decodeProtectedHeader(signed.signature.protected);
  const keyId = typeof header?.kid === 'string' ? header.kid : NONE;
  const d = c.assignment.detailee;
  const person = (p: typeof c.performedBy): Row[] => [
    { label: 'Name', value: p.name },
    { label: 'Title', value: p.title },
    { label: 'Organisation', value: p.organization },
    { label: 'Location', value: p.location },
    { label: 'Phone', value: p.phone },
    // v1 certificates have no signature dates; they render as they were issued.
    ...(p.signedOn === undefined ? [] : [{ label: 'Signed on', value: p.signedOn }]),
  ];
  return {
    title: c.title,
    id: c.id,
    hash: signed.hash,
    keyId,
    issuedAt: t(c.issuedAt),
    issuer: c.issuer,
    detaileeName: `${d.givenName} ${d.familyName}`,
    qrText: qrText(signed),
    parties: [
      { label: 'Detailee', value: `${d.givenName} ${d.familyName} (${d.username})` },
      { label: 'Home agency', value: d.homeAgency },
      { label: 'Host agency', value: c.assignment.host.agency },
      { label: 'Host office', value: c.assignment.host.office },
      { label: 'Assignment', value: c.assignment.id },
      { label: 'Agreement', value: c.assignment.agreement.reference },
      { label: 'Agreement SHA-256', value: orNone(c.assignment.agreement.sha256) },
      ...(c.accessEnded === undefined
        ? [{ label: 'Term', value: `${c.assignment.term.start} to ${c.assignment.term.lastDay} (access ended ${c.assignment.term.endsAt})` }]
        : [
            { label: 'Term', value: `${c.assignment.term.start} to ${c.assignment.term.lastDay}; the term ends ${t(c.assignment.term.endsAt)}` },
            { label: 'Access ended', value: `${t(c.accessEnded.at)}, ${c.accessEnded.reason === 'revoked early' ? 'revoked before the end of term' : 'at the end of term'}` },
          ]),
    ],
    performedBy: person(c.performedBy),
    validatedBy: person(c.validatedBy),
    media: c.media.map((m) => ({
      heading: `Item ${m.item}: FTI log entry ${m.entry} (${m.mediaDescription})`,
      rows: [
        { label: 'Media type', value: m.mediaDescription },
        { label: 'Make / model', value: m.make === null && m.model === null ? NONE : `${orNone(m.make)} / ${orNone(m.model)}` },
        { label: 'Serial number', value: orNone(m.serialNumber) },
        { label: 'Property number', value: orNone(m.propertyNumber) },
        { label: 'Source', value: m.source },
        { label: 'Pre-sanitisation categorisation', value: m.preSanitizationCategorization },
        { label: 'Data backed up', value: m.backupLocation === null ? m.backedUp : `${m.backedUp} (${m.backupLocation})` },
        { label: 'Disposition', value: m.action === 'returned' ? 'returned to source' : 'destroyed' },
        { label: 'Method', value: orNone(m.method) },
        { label: 'Technique', value: orNone(m.technique) },
        { label: 'Method details', value: orNone(m.methodDetails) },
        { label: 'Tool and version', value: m.tool === null ? NONE : m.tool.version === null ? m.tool.name : `${m.tool.name} ${m.tool.version}` },
        { label: 'Date', value: m.date },
        {
          label: 'Verification',
          value:
            m.verification.verifiedBy !== null
              ? `${m.verification.method}, by ${m.verification.verifiedBy.name} (${m.verification.verifiedBy.title})`
              : m.action === 'returned'
                ? 'receipt from the source'
                : m.verification.method,
        },
        ...(m.cryptographicErase === null
          ? []
          : [
              {
                label: 'Cryptographic erase',
                value: `encrypted from the start: ${m.cryptographicErase.encryptedFromStart ? 'yes' : 'no'}; every key copy destroyed: ${m.cryptographicErase.keyCopiesDestroyed ? 'yes' : 'no'}`,
              },
            ]),
        { label: 'Post-sanitisation categorisation', value: m.postSanitizationCategorization },
        { label: 'Destination', value: m.destination },
        { label: 'Receipt', value: orNone(m.receipt) },
      ],
    })),
    ftiLog: c.ftiLog.map((e) => ({
      id: e.provenance === 'imported' ? `${e.id} (imported)` : e.id,
      description: e.description,
      type: e.type,
      taxYears: formatTaxYears(e.taxYears),
      records: String(e.records),
      media: e.media,
      received: e.received,
      location: e.location,
      disposition: `${e.disposition.action}${e.disposition.method === null ? '' : ` (${e.disposition.method})`} on ${e.disposition.date}, item ${e.disposition.item}`,
    })),
    revocation: {
      revokedAt: t(c.revocation.revokedAt),
      targets: c.revocation.targets.map((x) => ({ target: x.target, verifiedAt: t(x.verifiedAt), evidence: [...x.evidence], hasEvidence: x.evidence.length > 0 })),
      proof: (c.revocationProof ?? []).map((p) => ({ target: p.target, summary: p.summary })),
      hasProof: (c.revocationProof ?? []).length > 0,
    },
    signatureLines: v3
      ? [
          { role: 'Person performing the sanitisation', name: c.performedBy.name, title: c.performedBy.title, date: orNone(c.performedBy.signedOn) },
          { role: 'Validating official (verified the sanitisation)', name: c.validatedBy.name, title: c.validatedBy.title, date: orNone(c.validatedBy.signedOn) },
        ]
      : [],
    hasSignatureLines: v3,
    auditHead: [
      { label: 'Sequence', value: String(c.auditHead.seq) },
      { label: 'Hash', value: c.auditHead.hash },
    ],
    propertyReturned: [...c.propertyReturned],
    hasPropertyReturned: c.propertyReturned.length > 0,
    acknowledgement: {
      statement: c.acknowledgement.statement,
      signedBy: c.acknowledgement.signedBy,
      signedOn: c.acknowledgement.signedOn,
      controls: c.acknowledgement.controls.join(', '),
    },
    signature: [
      { label: 'Algorithm', value: `${typeof header?.alg === 'string' ? header.alg : NONE} (Ed25519), detached JWS` },
      { label: 'Key id', value: keyId },
      { label: 'SHA-256 (RFC 8785 JSON)', value: signed.hash },
      { label: 'Issued', value: `${t(c.issuedAt)} by ${c.issuer}` },
      v3
        ? { label: 'Check', value: `openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in FILE -sigfile FILE.sig, for FILE ${c.id}.pdf, .json or .md` }
        : { label: 'Check', value: `detailee certificate verify ${c.id}.json --key <issuing office public key>` },
    ],
  };
}

function signedOn(p: { signedOn?: string }): string {
  return p.signedOn === undefined ? '' : `; signed on ${p.signedOn}`;
}

/** The fields `certificate verify` prints: who, what was shared, what became of each item, and the evidence. */
export function certificateSummary(c: Certificate): string[] {
  const d = c.assignment.detailee;
  const t = timeFormat(c);
  const lines = [
    `Detailee: ${d.givenName} ${d.familyName} (${d.username}), ${d.homeAgency}`,
    `Assignment: ${c.assignment.id} at ${c.assignment.host.agency}, ${c.assignment.host.office}; agreement ${c.assignment.agreement.reference}`,
    ...(c.accessEnded === undefined
      ? [`Term: ${c.assignment.term.start} to ${c.assignment.term.lastDay} (access ended ${c.assignment.term.endsAt})`]
      : [
          `Term: ${c.assignment.term.start} to ${c.assignment.term.lastDay}; ends ${t(c.assignment.term.endsAt)}`,
          `Access ended: ${t(c.accessEnded.at)} (${c.accessEnded.reason})`,
        ]),
    `Issued: ${t(c.issuedAt)} by ${c.issuer}`,
    `Performed by: ${c.performedBy.name}, ${c.performedBy.title}, ${c.performedBy.organization}${signedOn(c.performedBy)}`,
    `Validated by: ${c.validatedBy.name}, ${c.validatedBy.title}, ${c.validatedBy.organization}${signedOn(c.validatedBy)}`,
    `FTI log entries: ${c.ftiLog.length}`,
  ];
  for (const m of c.media) {
    const how = m.action === 'returned' ? `returned to source (receipt: ${orNone(m.receipt)})` : `${orNone(m.method)}: ${orNone(m.technique)}`;
    lines.push(`  item ${m.item}, ${m.entry} (${m.mediaDescription}): ${how} on ${m.date}; destination ${m.destination}`);
  }
  lines.push(`Revoked: ${t(c.revocation.revokedAt)}; verified on ${c.revocation.targets.map((x) => `${x.target} at ${t(x.verifiedAt)}`).join(', ') || NONE}`);
  for (const p of c.revocationProof ?? []) lines.push(`  proof, ${p.target}: ${p.summary}`);
  lines.push(`Property returned: ${c.propertyReturned.join(', ') || NONE}`);
  lines.push(`Acknowledgement signed by ${c.acknowledgement.signedBy} on ${c.acknowledgement.signedOn}`);
  lines.push(`Audit chain head: #${c.auditHead.seq} ${c.auditHead.hash}`);
  return lines;
}
