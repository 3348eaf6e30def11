import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dateIn } from '../assignment/term.js';
import { askPassphrase, readSigningKey } from '../config/signing-key.js';
import { ActionError, InputError } from '../errors.js';
import { clockNote, type Context } from '../lifecycle/context.js';
import { revokeAssignment, revokeIntent, type RevocationEvidence } from '../lifecycle/revoke.js';
import { revocationComplete } from '../lifecycle/state.js';
import { closeTargets } from '../targets/index.js';
import type { AssignmentRecord } from '../store/types.js';
import { parseYamlOrJson, readTextFile } from '../validation.js';
import type { Answers, PartialAnswers } from './answers.js';
import { buildCertificate, certificateFileName, serializeSignedCertificate, signCertificate } from './certificate.js';
import type { Prompts } from './interactive.js';
import { listFtiEntries } from './log.js';
import { checkAnswers } from './rules.js';

export interface OffboardResult {
  id: string;
  state: 'closed';
  changed: boolean;
  certificate: { id: string; hash: string; keyId: string; files: { json: string; markdown: string; pdf: string } };
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
  const entries = await listFtiEntries(ctx.store, id);
  const today = dateIn(ctx.clock.now(), rec.term.timezone);
  // Check a complete answers file before revoking or changing state: bad input changes nothing.
  const early = fileAnswers !== undefined && !o.prompts ? checkAnswers(fileAnswers, entries, today) : undefined;
  // The renderers are needed only at the end; loading them now overlaps the revocation's network
  // round trips (and, interactively, the questions). A failure to load surfaces where it is awaited.
  const renderers = Promise.all([import('./render-markdown.js'), import('./render-pdf.js').then(async (m) => (await m.loadPdfModules(), m))]);
  renderers.catch(() => undefined);

  if (rec.state === 'active') {
    const r = await revokeAssignment(ctx, id, { reason: 'offboarding', finalState: 'revoked' });
    if (!r.complete) throw new ActionError(`${r.message} The certificate was not issued.`, { code: 'offboard.revocation', actions: [`Run \`detailee offboard ${id}\` again once the targets answer.`] });
  }
  const evidence = await verifyRevocationLive(ctx, (rec = (await ctx.store.getAssignment(id))!));
  if (rec.state !== 'offboarding') {
    await ctx.store.transaction(async (tx) => {
      const cur = (await tx.getAssignment(id))!;
      await tx.updateAssignment({ ...cur, state: 'offboarding', updatedAt: ctx.clock.now().toISOString() }, cur.version);
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
  const issuedAt = ctx.clock.now().toISOString();
  const doc = rec.manifest;
  const cert = buildCertificate({
    assignment: {
      id,
      detailee: { givenName: doc.detailee.givenName, familyName: doc.detailee.familyName, username: doc.detailee.username, homeAgency: doc.detailee.homeAgency },
      host: { agency: doc.host.agency, office: doc.host.office },
      agreement: { reference: doc.agreement.reference, sha256: doc.agreement.sha256 },
      term: { start: rec.term.start, lastDay: rec.term.lastDay, endsAt: rec.term.endsAt },
    },
    entries,
    answers,
    revocation: evidence,
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
  writeAtomic(files.json, serializeSignedCertificate(signed));
  writeAtomic(files.markdown, renderMarkdown(signed));
  writeAtomic(files.pdf, await renderPdf(signed));

  await ctx.store.transaction(async (tx) => {
    const cur = (await tx.getAssignment(id))!;
    await tx.insertCertificate({ id: cert.id, assignmentId: id, hash: signed.hash, issuedAt, document: signed as unknown as Record<string, unknown> });
    const { offboardingProgress: _done, ...data } = cur.data;
    await tx.updateAssignment({ ...cur, state: 'closed', updatedAt: issuedAt, data: { ...data, certificateId: cert.id } }, cur.version);
    await tx.appendAudit({
      at: issuedAt,
      actor: ctx.actor,
      kind: 'certificate.issued',
      assignmentId: id,
      details: { certificateId: cert.id, certificateHash: signed.hash, keyId: signed.signature ? keyIdOf(signed) : null, entries: entries.length, ...clockNote(ctx) },
    });
  });
  return {
    id,
    state: 'closed',
    changed: true,
    certificate: { id: cert.id, hash: signed.hash, keyId: keyIdOf(signed), files },
    revocation: evidence,
    entries: entries.length,
    message: `Certificate ${cert.id} issued; assignment ${id} is closed.`,
  };
}

function keyIdOf(signed: { signature: { protected: string } }): string {
  try {
    return (JSON.parse(Buffer.from(signed.signature.protected, 'base64url').toString('utf8')) as { kid?: string }).kid ?? '';
  } catch {
    return '';
  }
}

function writeAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Re-read every target now; a revocation the store believes in but a target denies is not evidence. */
async function verifyRevocationLive(ctx: Context, rec: AssignmentRecord): Promise<RevocationEvidence> {
  const revokedAt = rec.revokedAt ?? rec.term.endsAt;
  const targets = await ctx.openTargets();
  try {
    let results = await Promise.all(targets.map((t) => t.verify(revokeIntent(rec, revokedAt))));
    // A run killed after its last step leaves every target revoked but the store still saying
    // "incomplete"; going through revokeAssignment records the verified revocation before closing.
    if (results.some((r) => !r.ok) || revocationComplete(rec) !== true) {
      // Finish pending steps (or repair drift) once, then look again.
      await revokeAssignment(ctx, rec.id, { reason: 'offboarding: finish revocation', finalState: 'revoked', targets });
      results = await Promise.all(targets.map((t) => t.verify(revokeIntent(rec, revokedAt))));
    }
    const bad = results.filter((r) => !r.ok);
    if (bad.length > 0) {
      throw new ActionError(`Revocation of ${rec.id} is not confirmed on ${bad.map((b) => `${b.target} (${b.problems.join('; ')})`).join(', ')}; the certificate was not issued.`, {
        code: 'offboard.revocation',
        actions: ['Fix the target, then run `detailee offboard` again: it resumes.'],
      });
    }
    const at = ctx.clock.now().toISOString();
    return { revokedAt, targets: results.map((r) => ({ target: r.target, verifiedAt: at, evidence: [`read back ${at}: account ${r.observed.exists ? 'disabled' : 'absent'}; groups: ${r.observed.groups.length}`] })) };
  } finally {
    await closeTargets(targets);
  }
}
