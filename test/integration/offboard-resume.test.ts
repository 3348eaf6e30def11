import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import type { Prompts } from '../../src/offboarding/interactive.js';
import { recordFti } from '../../src/offboarding/log.js';
import { offboard } from '../../src/offboarding/offboard.js';
import { verifyCertificate } from '../../src/offboarding/verify.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { startWorld, type World } from '../helpers/world.js';

/**
 * An interactive offboarding interrupted half-way and run again, through `offboard` itself with
 * its store, against a real slapd and moto: the answers given survive in the store, the second
 * run does not ask them again, and the certificate it issues verifies. The checklist's terminal
 * UI is exercised with the real prompts in test/unit/offboarding-interactive.test.ts; here a
 * scripted answerer stands in for the person at the keyboard.
 */
let w: World;

beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

const PERFORMER = { name: 'Grace Hopper', title: 'Records Officer', organisation: 'IRS IT Modernization', location: 'Bldg 2, Room 114', phone: '+1 202 555 0100' };
const VALIDATOR = { name: 'Alan Turing', title: 'CISO', organisation: 'IRS', location: 'Bldg 1, Room 700', phone: '+1 202 555 0199' };

class Interrupted extends Error {}

/** Answers each question from what it asks; stops (as Ctrl-C would) before question number `stopAt`. */
function answerer(stopAt = Infinity): Prompts & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string) => {
    if (asked.length + 1 >= stopAt) throw new Interrupted(`interrupted before: ${message}`);
    asked.push(message);
  };
  const person = (message: string): string | undefined => {
    const who = /^Person performing/.test(message) ? PERFORMER : /^Validating official/.test(message) ? VALIDATOR : undefined;
    const field = /: (name|title|organisation|location|phone)/.exec(message)?.[1] as keyof typeof PERFORMER | undefined;
    return who && field ? who[field] : undefined;
  };
  const check = (validate: ((v: string) => boolean | string) | undefined, value: string, message: string) => {
    const ok = validate ? validate(value) : true;
    if (ok !== true) throw new Error(`the scripted answer ${JSON.stringify(value)} to "${message}" was refused: ${String(ok)}`);
    return value;
  };
  return {
    asked,
    async input({ message, default: def, validate }) {
      next(message);
      const value =
        person(message) ??
        (/tool used/.test(message) ? 'Intimus 007S' : /tool version/.test(message) ? '2023' : /verified by/.test(message) ? 'Kim Ray' : /verifier's title/.test(message) ? 'Security Specialist' : /date destroyed/.test(message) ? '2025-06-09' : /particle size/.test(message) ? '1 mm x 5 mm' : /Any other property/.test(message) ? '' : def);
      if (value === undefined) throw new Error(`no scripted answer for "${message}"`);
      return check(validate, value, message);
    },
    async select({ message, choices, default: def }) {
      next(message);
      const want = /returned to the source, or destroyed/.test(message) ? 'destroyed' : /verification method/.test(message) ? 'full' : /sanitisation method/.test(message) ? 'Destroy' : /technique/.test(message) ? 'cross-cut-shred' : /destination/.test(message) ? 'recycling facility' : def;
      const choice = choices.find((c) => c.value === want) ?? choices.find((c) => c.value === def);
      if (!choice) throw new Error(`no scripted choice for "${message}"`);
      return choice.value;
    },
    async confirm({ message, default: def }) {
      next(message);
      return /acknowledges/.test(message) ? true : (def ?? false);
    },
  };
}

describe('an interactive offboarding, interrupted and resumed', () => {
  it('keeps the answers given, asks only the rest the second time, and issues a certificate that verifies', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'resume-0001';
    const ctx = w.ctx();
    await applyOnboarding(ctx, await prepareOnboarding(ctx, w.signedManifest(detaileeDoc(id, 'resumer')), undefined));
    w.clock.set('2025-03-03T16:00:00Z');
    await recordFti(w.ctx(), id, { description: 'TY2021 extract batch 7', type: 'return transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'Bldg 2, Room 114, safe 3', received: '2025-03-03' });

    w.clock.set('2025-06-10T15:00:00Z');
    // Stop after the performer's five answers and the first question about the FTI entry.
    const first = answerer(7);
    await expect(offboard(w.ctx(), id, { prompts: first })).rejects.toBeInstanceOf(Interrupted);
    expect(first.asked).toHaveLength(6);
    const rec = (await w.store.getAssignment(id))!;
    expect(rec.state).toBe('offboarding');
    expect(rec.data.offboardingProgress).toMatchObject({ performedBy: { name: PERFORMER.name, phone: PERFORMER.phone } });
    // Revoked and verified before the checklist started; the interruption does not undo it.
    expect(rec.data.revocation).toMatchObject({ complete: true });

    const second = answerer();
    const r = await offboard(w.ctx(), id, { prompts: second });
    expect(r.state).toBe('closed');
    // The performer's details are not asked again; the signature date is, once the work is answered.
    expect(second.asked.some((m) => /^Person performing.*: (name|title|organisation|location|phone)/.test(m))).toBe(false);
    expect(second.asked.filter((m) => /^Person performing/.test(m))).toEqual(['Person performing the return or destruction: date signed (YYYY-MM-DD)']);
    expect(second.asked.some((m) => /^Validating official/.test(m))).toBe(true);
    expect(second.asked.some((m) => /F-0001/.test(m))).toBe(true);

    const check = await verifyCertificate(readFileSync(r.certificate.files.pdf), undefined, { signature: readFileSync(r.certificate.signatures.pdf) });
    expect(check).toMatchObject({ format: 'pdf', file: 'as-issued', fileSignature: 'verified', hash: r.certificate.hash });
    expect(check.certificate.performedBy).toMatchObject({ name: PERFORMER.name, organization: PERFORMER.organisation, signedOn: '2025-06-10' });
    expect(check.certificate.validatedBy).toMatchObject({ name: VALIDATOR.name, signedOn: '2025-06-10' });
    expect(check.certificate.media).toEqual([expect.objectContaining({ entry: 'F-0001', method: 'Destroy', technique: 'cross-cut-shred', methodDetails: 'particle size 1 mm x 5 mm' })]);
    expect((await w.store.auditFor(id)).filter((e) => e.kind === 'offboarding.started')).toHaveLength(1);
  });

  it('is not stopped by another assignment\'s legacy FTI entry that awaits import, and records each disposition in the chain', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'unbound-0001';
    const ctx = w.ctx();
    await applyOnboarding(ctx, await prepareOnboarding(ctx, w.signedManifest(detaileeDoc(id, 'unbound')), undefined));
    w.clock.set('2025-03-03T16:00:00Z');
    await recordFti(w.ctx(), id, { description: 'TY2021 extract batch 8', type: 'return transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'Bldg 2, Room 114, safe 3', received: '2025-03-03' });
    // What an earlier detailee wrote for another assignment: a row, and an event with its shape only.
    const legacy = { id: 'F-0001', assignmentId: 'legacy-0001', description: 'old batch', type: 'return transcripts', taxYears: [2021], records: 5, media: 'paper', location: 'safe 1', received: '2025-03-01', recordedAt: '2025-03-01T15:00:00.000Z', recordedBy: 'former' };
    await w.store.transaction(async (tx) => {
      await tx.insertFti({ id: 'F-0001', assignmentId: 'legacy-0001', seq: 1, recordedAt: legacy.recordedAt, data: legacy });
      await tx.appendAudit({ at: legacy.recordedAt, actor: 'former', kind: 'fti.recorded', assignmentId: 'legacy-0001', details: { entry: 'F-0001', media: 'paper', records: 5, received: '2025-03-01' } });
    });
    w.clock.set('2025-06-10T15:00:00Z');
    const r = await offboard(w.ctx(), id, { prompts: answerer() });
    expect(r.state).toBe('closed');
    const disposed = (await w.store.auditFor(id)).filter((e) => e.kind === 'fti.disposed');
    expect(disposed.map((e) => [e.details.entry, e.details.action, e.details.certificateId])).toEqual([['F-0001', 'destroyed', r.certificate.id]]);
  });

  it('issues no certificate when an entry is recorded while the checklist is being answered', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'race-0001';
    const ctx = w.ctx();
    await applyOnboarding(ctx, await prepareOnboarding(ctx, w.signedManifest(detaileeDoc(id, 'racer')), undefined));
    w.clock.set('2025-03-03T16:00:00Z');
    const disclosure = { description: 'TY2021 extract batch 10', type: 'return transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'Bldg 2, Room 114, safe 3', received: '2025-03-03' };
    await recordFti(w.ctx(), id, disclosure);
    w.clock.set('2025-06-10T15:00:00Z');
    const base = answerer();
    let recorded = false;
    const prompts: Prompts = {
      ...base,
      async confirm(q) {
        if (!recorded) {
          recorded = true;
          await recordFti(w.ctx(), id, { ...disclosure, description: 'TY2021 extract batch 11' });
        }
        return base.confirm(q);
      },
    };
    await expect(offboard(w.ctx(), id, { prompts })).rejects.toMatchObject({ exit: 1, code: 'offboard.fti-changed' });
    expect((await w.store.getAssignment(id))!.state).toBe('offboarding');
    expect(await w.store.getCertificate(id)).toBeUndefined();
  });

  it('stops before anything changes when an FTI row was altered in the store: exit 3 naming the entry', async () => {
    w.clock.set('2025-02-05T15:00:00Z');
    const id = 'tamper-0001';
    const ctx = w.ctx();
    await applyOnboarding(ctx, await prepareOnboarding(ctx, w.signedManifest(detaileeDoc(id, 'tampered')), undefined));
    w.clock.set('2025-03-03T16:00:00Z');
    await recordFti(w.ctx(), id, { description: 'TY2021 extract batch 9', type: 'return transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'Bldg 2, Room 114, safe 3', received: '2025-03-03' });
    const db = new DatabaseSync(join(w.dir, 'detailee.db'));
    db.exec(`UPDATE fti SET data = replace(data, '"records":250', '"records":25') WHERE assignment_id = '${id}'`);
    db.close();
    w.clock.set('2025-06-10T15:00:00Z');
    const before = (await w.store.auditHead())!.seq;
    const err = await offboard(w.ctx(), id, { prompts: answerer() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ exit: 3, code: 'fti.tampered', message: expect.stringContaining(`FTI entry F-0001 of ${id} was altered`) });
    expect((await w.store.getAssignment(id))!.state).toBe('active');
    expect((await w.store.auditHead())!.seq).toBe(before);
  });
});
