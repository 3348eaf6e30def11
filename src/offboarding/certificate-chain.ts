import { verifyAudit } from '../audit/audit.js';
import { VerificationError } from '../errors.js';
import type { Store } from '../store/types.js';
import type { Certificate } from './certificate.js';
import { deriveFtiLog, ftiEntryHash, type FtiFinding } from './fti-chain.js';

export interface CertificateChainCheck {
  assignmentId: string;
  /** The `certificate.issued` event that records this certificate's hash. */
  issuedEvent: number;
  /** FTI entries on the certificate, each matching the chain. */
  entries: number;
  events: number;
}

function fail(code: string, message: string, details?: unknown): VerificationError {
  return new VerificationError(message, {
    code,
    ...(details === undefined ? {} : { details }),
    actions: ['Treat the certificate or the store as tampered with: compare with the copy the issuing office filed, and run `detailee audit verify --checkpoint` against a checkpoint kept elsewhere.'],
  });
}

/**
 * `certificate verify --against-store`: the signature proves who issued the certificate, not that
 * its FTI log was complete. With the issuing store at hand this also proves that (1) the whole
 * chain verifies, FTI rows included; (2) the chain recorded issuing exactly this certificate (its
 * id and hash in a `certificate.issued` event); (3) the chain's head when it was issued is the
 * certificate's `auditHead`; (4) its FTI log is, entry for entry and field for field, the log in
 * force in the chain at that head. The offline check needs no store; this one needs the store the
 * certificate came from, and is only as strong as that store's checkpoints.
 */
export async function checkCertificateAgainstChain(store: Store, cert: Certificate, hash: string): Promise<CertificateChainCheck> {
  const audit = await verifyAudit(store);
  if (!audit.ok) {
    throw fail('certificate.chain-broken', `The store's audit log does not verify (${audit.reason ?? 'unknown reason'}), so it cannot vouch for the certificate.`, {
      firstBadSeq: audit.firstBadSeq,
      fti: audit.fti.findings,
    });
  }
  const assignmentId = cert.assignment.id;
  const events = await store.auditFor(assignmentId);
  const issued = events.find((e) => e.kind === 'certificate.issued' && e.details.certificateId === cert.id);
  if (!issued) throw fail('certificate.not-in-chain', `The store's audit log records no issue of certificate ${cert.id} for ${assignmentId}.`);
  if (issued.details.certificateHash !== hash) {
    throw fail('certificate.chain-mismatch', `Certificate ${cert.id} has hash ${hash}, but the audit log recorded ${String(issued.details.certificateHash)} when it was issued (event ${issued.seq}).`);
  }
  const head = cert.auditHead;
  const [atHead] = head.seq > 0 ? await store.readAudit(head.seq - 1, 1) : [];
  if (head.seq > 0 && (atHead?.seq !== head.seq || atHead.hash !== head.hash)) {
    throw fail('certificate.chain-mismatch', `The certificate's audit head (event ${head.seq}, ${head.hash}) is not in the store's audit log.`);
  }
  const log = deriveFtiLog(events, await store.listFti(assignmentId), head.seq);
  if (log.findings.length > 0) throw fail('certificate.fti-mismatch', `The FTI log of ${assignmentId} does not match the chain: ${log.findings.map((f) => f.message).join('; ')}.`, { findings: log.findings });

  const chain = new Map(log.current.map((e) => [e.id, ftiEntryHash(e as unknown as Record<string, unknown>)]));
  // Imported when issued: an import after the certificate (of an entry it already listed) is not a mismatch.
  const importedThen = new Set(log.current.filter((e) => e.provenance === 'imported' && e.event <= head.seq).map((e) => e.id));
  const problems: FtiFinding[] = [];
  const onCertificate = new Set<string>();
  for (const f of cert.ftiLog) {
    onCertificate.add(f.id);
    const want = chain.get(f.id);
    const got = ftiEntryHash({ ...(f as unknown as Record<string, unknown>), assignmentId });
    if (want === undefined) problems.push({ assignmentId, entry: f.id, problem: 'inserted', event: null, message: `entry ${f.id} is on the certificate but not in force in the chain` });
    else if (want !== got) problems.push({ assignmentId, entry: f.id, problem: 'altered', event: null, message: `entry ${f.id} on the certificate differs from the entry the chain records` });
    else if ((f.provenance === 'imported') !== importedThen.has(f.id)) {
      problems.push({ assignmentId, entry: f.id, problem: 'altered', event: null, message: `entry ${f.id} is ${f.provenance === 'imported' ? '' : 'not '}marked imported on the certificate, but the chain says otherwise` });
    }
  }
  for (const e of log.current) {
    if (!onCertificate.has(e.id)) problems.push({ assignmentId, entry: e.id, problem: 'deleted', event: e.event, message: `entry ${e.id} (event ${e.event}) is in the chain but not on the certificate` });
  }
  if (problems.length > 0) {
    throw fail('certificate.fti-mismatch', `The certificate's FTI log does not match the audit chain: ${problems.map((p) => p.message).join('; ')}.`, { findings: problems });
  }
  return { assignmentId, issuedEvent: issued.seq, entries: cert.ftiLog.length, events: audit.events };
}
