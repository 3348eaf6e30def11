import { ActionError, InputError } from '../errors.js';
import { issuedFiles, missingFiles, type IssuedFiles } from '../offboarding/issued-files.js';
import type { AssignmentRecord, RevocationCondition, Store } from '../store/types.js';
import { summarizeProof, type TargetProof } from '../targets/proof.js';
import { recordedTargets } from './recorded.js';
import { revocationComplete } from './state.js';
import { dayCounter, row, type StatusRow, type Summary } from './status.js';

/**
 * `show`: one assignment in full. Kept apart from status.ts, which the fast `status` start bundles:
 * the proof and certificate code it needs has no place in that bundle.
 */
export interface ShowResult extends StatusRow {
  agreement: string;
  timezone: string;
  startsAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
  signers: { name: string; role: string; form: string }[];
  revocationComplete: boolean | null;
  /** False while an onboarding has not finished on every target. */
  provisioned: boolean;
  /**
   * The targets the assignment was provisioned on, as recorded at onboarding: every check works
   * from these. `object` is the LDAP DN or the IAM user ARN; `proof` the last revocation proof
   * read from that target (null before any).
   */
  targets: {
    target: string;
    object: string | null;
    groups: string[];
    policies: string[];
    provisionedAt: string | null;
    proof: { ok: boolean; readAt: string; server: string; object: string; summary: string } | null;
  }[];
  /** The destruction certificate, once issued; files are where certificates.outputDir says (null when it is not set). */
  certificate: {
    id: string;
    hash: string;
    issuedAt: string;
    files: IssuedFiles | null;
    /** Those of the files, and of their .sig, that are not there. */
    missing: string[];
  } | null;
  /** The last revocation proof: its condition, and per target what was read, when and from where. */
  revocation: {
    condition: RevocationCondition;
    revokedAt: string;
    checkedAt: string | null;
    proven: { target: string; verifiedAt: string; summary: string }[];
    unproven: { target: string; reason: string }[];
    proofs: unknown[];
  } | null;
  timeline: { seq: number; at: string; actor: string; kind: string; summary: string }[];
  journal: { at: string; operation: string; step: string; target: string; status: string; detail: string; error: string | null }[];
}

function proofOf(p: TargetProof | undefined): ShowResult['targets'][number]['proof'] {
  return p ? { ok: p.ok, readAt: p.readAt, server: p.server, object: p.object, summary: summarizeProof(p) } : null;
}

function summarise(kind: string, d: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of ['step', 'target', 'reason', 'renewalDays', 'endsAt', 'error', 'certificateId', 'entry']) {
    if (d[k] !== undefined) parts.push(`${k}=${String(d[k])}`);
  }
  return parts.join(' ') || kind;
}

type Recorded = { target: string; object?: string | undefined; groups?: string[]; policies?: string[]; provisionedAt?: string | undefined };

/**
 * The record's own targets; for an assignment onboarded before targets were recorded, those its
 * journal shows onboarding wrote to (as every check reads them), and none when there are none.
 */
async function targetsOf(store: Store, rec: AssignmentRecord): Promise<Recorded[]> {
  if (Array.isArray(rec.data.targets)) return rec.data.targets as Recorded[];
  try {
    return await recordedTargets(store, rec);
  } catch (e) {
    if (e instanceof ActionError) return [];
    throw e;
  }
}

/** The last proof per target, in the order they were read. */
function lastProofs(proofs: unknown[]): Map<string, TargetProof> {
  const last = new Map<string, TargetProof>();
  for (const p of proofs) {
    const t = p as Partial<TargetProof> | null;
    if (t && typeof t.target === 'string' && typeof t.readAt === 'string' && Array.isArray(t.facts)) last.set(t.target, t as TargetProof);
  }
  return last;
}

async function certificateOf(store: Store, id: string, outputDir: string | undefined): Promise<ShowResult['certificate']> {
  const cert = await store.getCertificate(id);
  if (!cert) return null;
  const files = outputDir ? issuedFiles(outputDir, cert.id) : null;
  const missing = files ? missingFiles(files) : [];
  return { id: cert.id, hash: cert.hash, issuedAt: cert.issuedAt, files, missing };
}

export async function show(store: Store, id: string, now: Date, options: { outputDir?: string | undefined } = {}): Promise<ShowResult> {
  const rec = await store.getAssignment(id);
  if (!rec) {
    throw new InputError(`No assignment ${id} in the store.`, {
      code: 'assignment.unknown',
      actions: ['Run `detailee status` to list assignments.'],
    });
  }
  const rev = rec.data.revocation as
    | { revokedAt: string; complete?: boolean; condition?: RevocationCondition; checkedAt?: string; targets?: { target: string; verifiedAt: string; evidence: string[] }[]; unproven?: { target: string; reason: string }[]; proofs?: unknown[] }
    | undefined;
  const cond: RevocationCondition | undefined = rev ? (rev.condition ?? (rev.complete === true ? 'proven' : 'incomplete')) : undefined;
  const summary: Summary = {
    id: rec.id,
    state: rec.state,
    username: rec.username,
    startsAt: rec.term.startsAt,
    endsAt: rec.term.endsAt,
    lastDay: rec.term.lastDay,
    timezone: rec.term.timezone,
    renewalsUsed: rec.renewalsUsed,
    renewalsMax: rec.renewalsMax,
    revokedAt: rec.revokedAt,
    revocation: rec.state === 'active' ? undefined : cond,
    provisioned: rec.state === 'active' ? rec.data.provisioned === true : undefined,
  };
  const base = row(summary, now, await dayCounter([summary], now));
  const proofs = lastProofs(rev?.proofs ?? []);
  const events = await store.auditFor(id);
  const journal = await store.journalFor(id);
  return {
    ...base,
    targets: (await targetsOf(store, rec)).map((t) => ({
      target: t.target,
      object: t.object ?? null,
      groups: t.groups ?? [],
      policies: t.policies ?? [],
      provisionedAt: t.provisionedAt ?? null,
      proof: proofOf(proofs.get(t.target)),
    })),
    certificate: await certificateOf(store, id, options.outputDir),
    revocation:
      rev && cond
        ? {
            condition: cond,
            revokedAt: rev.revokedAt,
            checkedAt: rev.checkedAt ?? null,
            proven: (rev.targets ?? []).map((t) => ({ target: t.target, verifiedAt: t.verifiedAt, summary: t.evidence.join('; ') })),
            unproven: rev.unproven ?? [],
            proofs: rev.proofs ?? [],
          }
        : null,
    provisioned: rec.data.provisioned === true,
    start: rec.term.start,
    agreement: rec.manifest.agreement.reference,
    timezone: rec.term.timezone,
    startsAt: rec.term.startsAt,
    revokedAt: rec.revokedAt ?? null,
    revokeReason: rec.revokeReason ?? null,
    signers: rec.signers,
    revocationComplete: revocationComplete(rec),
    timeline: events.map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, kind: e.kind, summary: summarise(e.kind, e.details) })),
    journal: journal.map((j) => ({
      at: j.at,
      operation: j.operation,
      step: j.stepId,
      target: j.target,
      status: j.status,
      detail: j.detail,
      error: j.error ?? null,
    })),
  };
}
