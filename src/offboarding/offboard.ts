import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dateIn } from '../assignment/term.js';
import { verifyAudit } from '../audit/audit.js';
import { askPassphrase, readSigningKey } from '../config/signing-key.js';
import { ActionError, InputError, VerificationError } from '../errors.js';
import { clockNote, type Context } from '../lifecycle/context.js';
import { revokeAssignment, revokeIntent, type RevocationEvidence } from '../lifecycle/revoke.js';
import { recordedTargets, selectRecorded, type RecordedTarget } from '../lifecycle/recorded.js';
import { revocationComplete, transition } from '../lifecycle/state.js';
import { closeTargets } from '../targets/index.js';
import { summarizeProof } from '../targets/proof.js';
import type { Target } from '../targets/target.js';
import type { AssignmentRecord } from '../store/types.js';
import { parseYamlOrJson } from '../validation.js';
import { readTextFile } from '../text-file.js';
import type { Answers, PartialAnswers } from './answers.js';
import { buildCertificate } from './certificate.js';
import { certificateFileName, serializeSignedCertificate, signCertificate } from './certificate-sign.js';
import { publishPublicKey, signaturePath, signFileBytes } from './file-signature.js';
import type { Prompts } from './interactive.js';
import { FTI_EVENT } from './fti-chain.js';
import { listFtiEntries } from './log.js';
import { checkAnswers } from './rules.js';

export interface OffboardResult {
  id: string;
  state: 'closed';
  changed: boolean;
  certificate: {
    id: string;
    hash: string;
    keyId: string;
    files: { json: string; markdown: string; pdf: string };
    /** `FILE.sig` beside each file: raw Ed25519 over its bytes, checked by `openssl pkeyutl -verify -rawin`. */
    signatures: { json: string; markdown: string; pdf: string };
    /** signing-key.pub.pem in the certificates folder. */
    publicKey: string;
  };
  revocation: RevocationEvidence;
  entries: number;
  message: string;
}

export interface OffboardOptions {
  /** An answers file; without it, prompts must be given (a terminal), else exit 2. */
  answersFile?: string | undefined;
  prompts?: Prompts | undefined;
}

function unknownAssignment(id: string): InputError {
  return new InputError(`No assignment ${id} in the store.`, { code: 'assignment.unknown', actions: ['Run `detailee status` to list assignments.'] });
}

/** Check the certificate settings before anything changes, so a missing key cannot strand a half-offboarded detail. */
async function certificateSettings(ctx: Context): Promise<{ keyPem: string; outputDir: string }> {
  const { signingKey, outputDir } = ctx.config.certificates;
  if (!signingKey || !outputDir) {
    throw new InputError('certificates.signingKey and certificates.outputDir must be set to issue a certificate.', {
      code: 'config.certificates',
      actions: ['Run `detailee init`, or set both keys in the config.'],
    });
  }
  // An encrypted key is opened here, before anything changes, and kept decrypted in memory only.
  const key = await readSigningKey(ctx.config.certificates, { ask: askPassphrase });
  return { keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), outputDir };
}

/**
 * Revoke if needed and verify live on every target (that checklist item is checked by the tool,
 * never asked), walk the checklist, and issue the signed certificate. Resumable: the state
 * `offboarding` and the saved answers survive an interrupted run.
 */
export async function offboard(ctx: Context, id: string, o: OffboardOptions): Promise<OffboardResult> {
  let rec = await ctx.store.getAssignment(id);
  if (!rec) throw unknownAssignment(id);
  if (rec.state === 'closed') {
    const cert = await ctx.store.getCertificate(id);
    throw new InputError(`Assignment ${id} is already closed${cert ? ` by certificate ${cert.id}` : ''}.`, {
      code: 'offboard.closed',
      actions: ['Run `detailee certificate verify` on the certificate files to check them.'],
    });
  }
  const settings = await certificateSettings(ctx);
  const fileAnswers = o.answersFile ? parseYamlOrJson(readTextFile(o.answersFile, 'answers file').text, 'answers file') : undefined;
  if (fileAnswers === undefined && !o.prompts) {
    throw new InputError('No answers file and no terminal to ask the checklist on.', {
      code: 'offboard.no-answers',
      actions: ['Pass --answers FILE (format in the README), or run in a terminal.'],
    });
  }
  // The certificate will say "these are all the entries": the whole chain must hold, and the
  // log is the chain's (a row deleted, altered or inserted in the store stops here, exit 3).
  await assertChainIntact(ctx, id);
  const entries = await listFtiEntries(ctx.store, id);
  const today = dateIn(ctx.clock.now(), rec.term.timezone);
  // Check a complete answers file before revoking or changing state: bad input changes nothing.
  const early = fileAnswers !== undefined && !o.prompts ? checkAnswers(fileAnswers, entries, today) : undefined;
  // The renderers are needed only at the end; loading them now overlaps the revocation's network
  // round trips (and, interactively, the questions). A failure to load surfaces where it is awaited.
  const renderers = Promise.all([import('./render-markdown.js'), import('./render-pdf.js'), import('./pdf-libraries.js').then((m) => m.loadPdfModules())]);
  renderers.catch(() => undefined);

  // Every recorded target must be configured before anything changes: a certificate needs a proof
  // from each, and an offboarding that cannot finish must leave the assignment as it found it.
  const recorded = await recordedTargets(ctx.store, rec);
  const open = await ctx.openTargets();
  let evidence: RevocationEvidence;
  try {
    const { missing } = selectRecorded(recorded, open);
    if (missing.length > 0) {
      throw new ActionError(
        `Assignment ${id} was provisioned on ${missing.map((m) => m.target).join(', ')}, which the config does not name; its revocation there cannot be proven, so nothing was changed and no certificate was issued.`,
        {
          code: 'offboard.unproven',
          actions: [`Restore ${missing.map((m) => `targets.${m.target}`).join(' and ')} in the config, then run \`detailee offboard ${id}\` again.`],
          details: { missing: missing.map((m) => ({ target: m.target, object: m.object ?? null })) },
        },
      );
    }
    if (rec.state === 'active') {
      const r = await revokeAssignment(ctx, id, { reason: 'offboarding', finalState: 'revoked', targets: open });
      if (!r.complete) throw new ActionError(`${r.message} The certificate was not issued.`, { code: 'offboard.revocation', actions: [`Run \`detailee offboard ${id}\` again once the targets answer.`] });
    }
    evidence = await verifyRevocationLive(ctx, (rec = (await ctx.store.getAssignment(id))!), recorded, open);
  } finally {
    await closeTargets(open);
  }
  if (rec.state !== 'offboarding') {
    await ctx.store.transaction(async (tx) => {
      const cur = (await tx.getAssignment(id))!;
      await transition(tx, cur, 'offboarding', { at: ctx.clock.now().toISOString() });
      await tx.appendAudit({ at: ctx.clock.now().toISOString(), actor: ctx.actor, kind: 'offboarding.started', assignmentId: id, details: { entries: entries.length, ...clockNote(ctx) } });
    });
  }

  let answers: Answers;
  if (early) answers = early;
  else {
    const saved = ((await ctx.store.getAssignment(id))!.data.offboardingProgress as PartialAnswers | undefined) ?? {};
    const partial = { ...saved, ...((fileAnswers as PartialAnswers | undefined) ?? {}) };
    const { askAnswers } = await import('./interactive.js');
    answers = await askAnswers(entries, partial, o.prompts!, {
      today,
      onProgress: async (p) => {
        await ctx.store.transaction(async (tx) => {
          const cur = (await tx.getAssignment(id))!;
          await tx.updateAssignment({ ...cur, data: { ...cur.data, offboardingProgress: p } }, cur.version);
        });
      },
    });
    answers = checkAnswers(answers, entries, today);
  }

  const head = await ctx.store.auditHead();
  // An entry recorded or corrected while the checklist was being answered is not on it.
  const history = await listFtiEntries(ctx.store, id, { history: true });
  const latest = history.filter((e) => e.supersededBy === undefined);
  if (latest.map((e) => `${e.id}@${e.event}`).join() !== entries.map((e) => `${e.id}@${e.event}`).join()) throw ftiChanged(id);
  const nextSeq = Math.max(0, ...history.map((e) => Number(e.id.slice(2)))) + 1;
  const issuedAt = ctx.clock.now().toISOString();
  const doc = rec.manifest;
  const cert = buildCertificate({
    assignment: {
      id,
      detailee: { givenName: doc.detailee.givenName, familyName: doc.detailee.familyName, username: doc.detailee.username, homeAgency: doc.detailee.homeAgency },
      host: { agency: doc.host.agency, office: doc.host.office },
      agreement: { reference: doc.agreement.reference, sha256: doc.agreement.sha256 },
      term: { start: rec.term.start, lastDay: rec.term.lastDay, endsAt: rec.term.endsAt, timezone: rec.term.timezone },
    },
    entries,
    answers,
    revocation: evidence,
    // One line per recorded target: what its proof read, when, and from which server.
    revocationProof: evidence.targets.map((t) => ({ target: t.target, summary: t.evidence.join('; ') })),
    auditHead: head ?? { seq: 0, hash: '0'.repeat(64) },
    issuedAt,
    issuer: ctx.actor,
  });
  const signed = signCertificate(cert, settings.keyPem);
  const [{ renderMarkdown }, { renderPdf }] = await renderers;
  mkdirSync(settings.outputDir, { recursive: true });
  const files = {
    json: join(settings.outputDir, certificateFileName(signed, 'json')),
    markdown: join(settings.outputDir, certificateFileName(signed, 'md')),
    pdf: join(settings.outputDir, certificateFileName(signed, 'pdf')),
  };
  const publicKey = publishPublicKey(settings.outputDir, settings.keyPem, writeAtomic);
  writeSigned(files.json, serializeSignedCertificate(signed), settings.keyPem);
  writeSigned(files.markdown, await renderMarkdown(signed), settings.keyPem);
  writeSigned(files.pdf, await renderPdf(signed), settings.keyPem);
  const signatures = { json: signaturePath(files.json), markdown: signaturePath(files.markdown), pdf: signaturePath(files.pdf) };

  await ctx.store.transaction(async (tx) => {
    // Under the store's FTI lock: an entry recorded since the log was read would be left off.
    if ((await tx.nextFtiSeq(id)) !== nextSeq) throw ftiChanged(id);
    const cur = (await tx.getAssignment(id))!;
    await tx.insertCertificate({ id: cert.id, assignmentId: id, hash: signed.hash, issuedAt, document: signed as unknown as Record<string, unknown> });
    await transition(tx, cur, 'closed', { at: issuedAt, data: { certificateId: cert.id }, drop: ['offboardingProgress'] });
    await tx.appendAudit({
      at: issuedAt,
      actor: ctx.actor,
      kind: 'certificate.issued',
      assignmentId: id,
      details: { certificateId: cert.id, certificateHash: signed.hash, keyId: signed.signature ? keyIdOf(signed) : null, entries: entries.length, ...clockNote(ctx) },
    });
    // Each return or destruction is an event of the FTI log too, not only a line of the certificate.
    for (const f of cert.ftiLog) {
      await tx.appendAudit({
        at: issuedAt,
        actor: ctx.actor,
        kind: FTI_EVENT.disposed,
        assignmentId: id,
        details: { entry: f.id, action: f.disposition.action, date: f.disposition.date, method: f.disposition.method, certificateId: cert.id, ...clockNote(ctx) },
      });
    }
  });
  return {
    id,
    state: 'closed',
    changed: true,
    certificate: { id: cert.id, hash: signed.hash, keyId: keyIdOf(signed), files, signatures, publicKey },
    revocation: evidence,
    entries: entries.length,
    message: `Certificate ${cert.id} issued; assignment ${id} is closed.`,
  };
}

function ftiChanged(id: string): ActionError {
  return new ActionError(`The FTI log of ${id} changed during offboarding; the certificate was not issued.`, {
    code: 'offboard.fti-changed',
    actions: [`Run \`detailee offboard ${id}\` again: it resumes, with the current log.`],
  });
}

/**
 * The whole chain must verify, and no FTI row anywhere may be deleted, altered or inserted: a
 * store tampered with anywhere issues no certificate. Another assignment's legacy entries that
 * are merely unbound (not yet imported) do not stop this one; this assignment's do.
 */
async function assertChainIntact(ctx: Context, id: string): Promise<void> {
  const r = await verifyAudit(ctx.store);
  const blocking = r.fti.findings.filter((f) => f.problem !== 'unbound' || f.assignmentId === id);
  // FTI rows are checked only when the chain itself verified.
  const chainOk = r.fti.checked;
  if (!chainOk || blocking.length > 0) {
    const reason = !chainOk ? r.reason : blocking.map((f) => f.message).join('; ');
    throw new VerificationError(`The audit log does not verify (${reason ?? 'unknown reason'}); no certificate can be issued from it.`, {
      code: !chainOk ? 'audit.broken' : blocking.every((f) => f.problem === 'unbound') ? 'fti.unbound' : 'fti.tampered',
      details: { firstBadSeq: r.firstBadSeq, fti: blocking },
      actions: ['Run `detailee audit verify` (with --checkpoint) and resolve what it names first.'],
    });
  }
}

function keyIdOf(signed: { signature: { protected: string } }): string {
  try {
    return (JSON.parse(Buffer.from(signed.signature.protected, 'base64url').toString('utf8')) as { kid?: string }).kid ?? '';
  } catch {
    return '';
  }
}

/** The file, then `FILE.sig` over the very bytes written. */
function writeSigned(path: string, data: string | Buffer, keyPem: string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeAtomic(path, bytes);
  writeAtomic(signaturePath(path), signFileBytes(bytes, keyPem));
}

function writeAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Re-read every recorded target now; a revocation the store believes in but a target denies is not evidence. */
async function verifyRevocationLive(ctx: Context, rec: AssignmentRecord, recorded: RecordedTarget[], open: Target[]): Promise<RevocationEvidence> {
  const revokedAt = rec.revokedAt ?? rec.term.endsAt;
  const { targets } = selectRecorded(recorded, open);
  const proveAll = () => Promise.all(targets.map((t) => t.verify(revokeIntent(rec, revokedAt, recorded, t.name))));
  let results = await proveAll();
  // A run killed after its last step leaves every target revoked but the store still saying
  // "incomplete"; going through revokeAssignment records the proven revocation before closing.
  if (results.some((r) => !r.ok) || revocationComplete(rec) !== true) {
    // Finish pending steps (or repair drift) once, then look again.
    await revokeAssignment(ctx, rec.id, { reason: 'offboarding: finish revocation', finalState: 'revoked', targets: open });
    results = await proveAll();
  }
  const bad = results.filter((r) => !r.ok || r.proof === undefined);
  if (bad.length > 0 || results.length !== recorded.length) {
    throw new ActionError(`Revocation of ${rec.id} is not proven on ${bad.map((b) => `${b.target} (${b.problems.join('; ')})`).join(', ')}; the certificate was not issued.`, {
      code: 'offboard.revocation',
      actions: ['Fix the target, then run `detailee offboard` again: it resumes.'],
    });
  }
  return { revokedAt, targets: results.map((r) => ({ target: r.target, verifiedAt: r.proof!.readAt, evidence: [summarizeProof(r.proof!)] })) };
}
