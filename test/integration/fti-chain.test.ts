import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeFactories, type Harness } from '../helpers/store-harness.js';
import { makeCheckpoint, verifyAudit } from '../../src/audit/audit.js';
import type { Config } from '../../src/config/resolve.js';
import type { Context } from '../../src/lifecycle/context.js';
import { buildCertificate } from '../../src/offboarding/certificate.js';
import { signCertificate } from '../../src/offboarding/certificate-sign.js';
import { checkCertificateAgainstChain } from '../../src/offboarding/certificate-chain.js';
import type { FtiEntry } from '../../src/offboarding/fti.js';
import { correctFti, importLegacyFti, listFtiEntries, recordFti } from '../../src/offboarding/log.js';
import { checkAnswers } from '../../src/offboarding/rules.js';
import { makeRecord } from '../helpers/pg.js';
import { certificateInput, goodAnswers, SIGNER_PRIVATE } from '../helpers/offboarding-fixtures.js';


const ID = 'A-fti';
const PAPER = { description: 'TY2021 extract batch 7', type: 'return transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'Bldg 2, Room 114, safe 3', received: '2025-03-03' };
const SSD = { description: 'TY2019-2021 sample', type: 'account transcripts', taxYears: [2019, 2020, 2021], records: 1200, media: 'ssd', location: 'Laptop GFE-4411', received: '2025-04-01', sender: 'IRS RAS' };

describe.each(storeFactories)('the FTI log in the audit chain: %s', (_kind, factory) => {
  let h: Harness;
  let now: string;
  let key: KeyObject;
  const ctx = (): Context => ({
    config: {} as Config,
    store: h.store,
    clock: { now: () => new Date(now) },
    actor: 'officer',
    openTargets: async () => [],
  });

  beforeEach(async () => {
    h = await factory();
    await h.store.transaction((tx) => tx.insertAssignment(makeRecord(ID, { start: '2025-02-06' })));
    now = '2025-04-02T15:00:00Z';
    await recordFti(ctx(), ID, PAPER);
    await recordFti(ctx(), ID, SSD);
    key = generateKeyPairSync('ed25519').privateKey;
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('records each entry as an event carrying its hash, and verifies both ways', async () => {
    const events = (await h.store.auditFor(ID)).filter((e) => e.kind.startsWith('fti.'));
    expect(events.map((e) => [e.kind, e.details.entry])).toEqual([
      ['fti.recorded', 'F-0001'],
      ['fti.recorded', 'F-0002'],
    ]);
    // The event names the entry and its shape, never its description or location.
    expect(JSON.stringify(events)).not.toMatch(/extract batch|Room 114|GFE-4411/);
    expect(events[0]!.details.entryHash).toMatch(/^[0-9a-f]{64}$/);
    const r = await verifyAudit(h.store);
    expect(r.ok).toBe(true);
    expect(r.fti).toEqual({ checked: true, entries: 2, rows: 2, findings: [] });
  });

  it('a correction is a new entry and a new event; the old row stays, and the log in force is the chain\'s', async () => {
    now = '2025-04-03T15:00:00Z';
    const c = await correctFti(ctx(), ID, 'F-0001', { records: 300, location: 'Bldg 2, Room 120, safe 1' });
    expect(c).toMatchObject({ id: 'F-0003', supersedes: 'F-0001', records: 300, description: PAPER.description });
    const events = (await h.store.auditFor(ID)).filter((e) => e.kind.startsWith('fti.'));
    expect(events.at(-1)).toMatchObject({ kind: 'fti.corrected', details: { entry: 'F-0003', supersedes: 'F-0001', records: 300 } });
    expect((await h.store.listFti(ID)).find((r) => r.id === 'F-0001')!.data).toMatchObject({ records: 250, location: PAPER.location });

    const current = await listFtiEntries(h.store, ID);
    expect(current.map((e) => [e.id, e.records, e.supersedes ?? null])).toEqual([
      ['F-0002', 1200, null],
      ['F-0003', 300, 'F-0001'],
    ]);
    const history = await listFtiEntries(h.store, ID, { history: true });
    expect(history.map((e) => [e.id, e.supersededBy ?? null])).toEqual([
      ['F-0001', 'F-0003'],
      ['F-0002', null],
      ['F-0003', null],
    ]);
    expect((await verifyAudit(h.store)).ok).toBe(true);

    await expect(correctFti(ctx(), ID, 'F-0001', { records: 301 })).rejects.toMatchObject({ exit: 2, code: 'fti.superseded' });
    await expect(correctFti(ctx(), ID, 'F-0003', { records: 300 })).rejects.toMatchObject({ exit: 2, code: 'fti.correct-empty' });
    await expect(correctFti(ctx(), ID, 'F-0003', {})).rejects.toMatchObject({ exit: 2, code: 'fti.correct-empty' });
    await expect(correctFti(ctx(), ID, 'F-0009', { records: 5 })).rejects.toMatchObject({ exit: 2, code: 'fti.unknown-entry' });
    // A correction is checked as a new entry: an identifier is still refused.
    await expect(correctFti(ctx(), ID, 'F-0003', { description: 'return of 123-45-6789' })).rejects.toMatchObject({ exit: 2, code: 'fti.identifier' });
    expect((await h.store.listFti(ID)).length).toBe(3);
  });

  const tampering: [string, string, 'deleted' | 'altered' | 'inserted', string][] = [
    ['a row deleted', `DELETE FROM fti WHERE assignment_id = '${ID}' AND id = 'F-0002'`, 'deleted', 'F-0002'],
    ['a row\'s location altered', `UPDATE fti SET data = replace(data, 'Room 114', 'Room 999') WHERE id = 'F-0001'`, 'altered', 'F-0001'],
    ['a row\'s record count altered', `UPDATE fti SET data = replace(data, '"records":1200', '"records":12') WHERE id = 'F-0002'`, 'altered', 'F-0002'],
    ['a row\'s content made unreadable', `UPDATE fti SET data = 'not json' WHERE id = 'F-0001'`, 'altered', 'F-0001'],
    [
      'a row inserted',
      `INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES ('${ID}', 'F-0003', 3, '2025-04-02T15:00:00.000Z', '{"id":"F-0003","assignmentId":"${ID}","description":"planted","type":"x","taxYears":[2021],"records":1,"media":"usb","location":"nowhere","received":"2025-04-01","recordedAt":"2025-04-02T15:00:00.000Z","recordedBy":"officer"}')`,
      'inserted',
      'F-0003',
    ],
  ];

  it.each(tampering)('%s in the store: audit verify fails naming the entry, with and without a checkpoint; the log is not listed', async (_what, sql, problem, entry) => {
    const cp = await makeCheckpoint(h.store, key, new Date(now));
    await h.exec(sql);
    const plain = await verifyAudit(h.store);
    expect(plain.ok).toBe(false);
    expect(plain.fti.findings).toEqual([expect.objectContaining({ assignmentId: ID, entry, problem })]);
    expect(plain.reason).toContain(`FTI entry ${entry} of ${ID}`);
    const withCp = await verifyAudit(h.store, cp, key);
    expect(withCp.ok).toBe(false);
    // The chain itself is intact and matches the checkpoint: only the FTI log is wrong.
    expect(withCp.checkpoint?.ok).toBe(true);
    expect(withCp.fti.findings.map((f) => [f.entry, f.problem])).toEqual([[entry, problem]]);
    const err = await listFtiEntries(h.store, ID).catch((e: unknown) => e);
    expect(err).toMatchObject({ exit: 3, code: 'fti.tampered' });
    expect((err as Error).message).toContain(`FTI entry ${entry} of ${ID}`);
  });

  it('a row deleted with its event: inside the chain it breaks the chain; at its end only a checkpoint shows it', async () => {
    const cp = await makeCheckpoint(h.store, key, new Date(now));
    const seqOf = async (entry: string) => (await h.store.auditFor(ID)).find((e) => e.details.entry === entry)!.seq;
    const tail = await seqOf('F-0002');
    await h.exec(`DELETE FROM fti WHERE id = 'F-0002'`);
    await h.exec(`DELETE FROM audit WHERE seq = ${tail}`);
    // An unkeyed chain cannot show its own truncation: this is what checkpoints are for.
    expect((await verifyAudit(h.store)).ok).toBe(true);
    const r = await verifyAudit(h.store, cp, key);
    expect(r.ok).toBe(false);
    expect(r.checkpoint?.ok).toBe(false);

    // Anything after it, so that F-0001's event is inside the chain.
    await h.store.transaction((tx) => tx.appendAudit({ at: now, actor: 'officer', kind: 'test.later', assignmentId: ID, details: {} }));
    const inner = await seqOf('F-0001');
    await h.exec(`DELETE FROM fti WHERE id = 'F-0001'`);
    await h.exec(`DELETE FROM audit WHERE seq = ${inner}`);
    const broken = await verifyAudit(h.store);
    expect(broken.ok).toBe(false);
    expect(broken.firstBadSeq).toBe(inner);
    expect(broken.fti.checked).toBe(false);
  });

  it('a legacy entry (an event without a hash) is unbound until explicitly imported, and then marked imported', async () => {
    // What an earlier detailee wrote: the row, and an event with the shape only.
    const legacy = { ...PAPER, description: 'legacy batch', id: 'F-0003', assignmentId: ID, recordedAt: '2025-03-10T15:00:00.000Z', recordedBy: 'former' };
    await h.store.transaction(async (tx) => {
      await tx.insertFti({ id: 'F-0003', assignmentId: ID, seq: 3, recordedAt: legacy.recordedAt, data: legacy });
      await tx.appendAudit({ at: legacy.recordedAt, actor: 'former', kind: 'fti.recorded', assignmentId: ID, details: { entry: 'F-0003', media: 'paper', records: 250, received: '2025-03-03' } });
    });
    const before = await verifyAudit(h.store);
    expect(before.ok).toBe(false);
    expect(before.fti.findings).toEqual([expect.objectContaining({ entry: 'F-0003', problem: 'unbound' })]);
    await expect(listFtiEntries(h.store, ID)).rejects.toMatchObject({ exit: 3, code: 'fti.unbound' });

    const preview = await importLegacyFti(ctx(), ID, { apply: false });
    expect(preview.pending).toEqual([expect.objectContaining({ entry: 'F-0003', content: expect.objectContaining({ description: 'legacy batch' }) })]);
    expect((await verifyAudit(h.store)).ok).toBe(false);
    // Changed between what the officer was shown and the import: nothing is imported.
    await h.exec(`UPDATE fti SET data = replace(data, 'legacy batch', 'legacy batch!') WHERE id = 'F-0003'`);
    await expect(importLegacyFti(ctx(), ID, { apply: true, shown: preview.pending })).rejects.toMatchObject({ exit: 1, code: 'fti.import-changed' });
    expect((await h.store.auditFor(ID)).some((e) => e.kind === 'fti.imported')).toBe(false);
    await h.exec(`UPDATE fti SET data = replace(data, 'legacy batch!', 'legacy batch') WHERE id = 'F-0003'`);
    const done = await importLegacyFti(ctx(), ID, { apply: true, shown: preview.pending });
    expect(done.imported).toEqual([expect.objectContaining({ entry: 'F-0003' })]);
    const ev = (await h.store.auditFor(ID)).at(-1)!;
    expect(ev).toMatchObject({ kind: 'fti.imported', actor: 'officer', details: { entry: 'F-0003', legacyEvent: expect.any(Number) } });

    expect((await verifyAudit(h.store)).ok).toBe(true);
    const list = await listFtiEntries(h.store, ID);
    expect(list.map((e) => [e.id, e.provenance])).toEqual([
      ['F-0001', 'recorded'],
      ['F-0002', 'recorded'],
      ['F-0003', 'imported'],
    ]);
    // Imported content is bound from then on.
    await h.exec(`UPDATE fti SET data = replace(data, 'legacy batch', 'other batch') WHERE id = 'F-0003'`);
    expect((await verifyAudit(h.store)).fti.findings).toEqual([expect.objectContaining({ entry: 'F-0003', problem: 'altered' })]);
  });

  it('a legacy entry altered against the shape its event recorded is not importable', async () => {
    const legacy = { ...PAPER, id: 'F-0003', assignmentId: ID, recordedAt: '2025-03-10T15:00:00.000Z', recordedBy: 'former', records: 25 };
    await h.store.transaction(async (tx) => {
      await tx.insertFti({ id: 'F-0003', assignmentId: ID, seq: 3, recordedAt: legacy.recordedAt, data: legacy });
      await tx.appendAudit({ at: legacy.recordedAt, actor: 'former', kind: 'fti.recorded', assignmentId: ID, details: { entry: 'F-0003', media: 'paper', records: 250, received: '2025-03-03' } });
    });
    expect((await verifyAudit(h.store)).fti.findings).toEqual([expect.objectContaining({ entry: 'F-0003', problem: 'altered' })]);
    await expect(importLegacyFti(ctx(), ID, { apply: true })).rejects.toMatchObject({ exit: 3, code: 'fti.tampered' });
    expect((await h.store.auditFor(ID)).some((e) => e.kind === 'fti.imported')).toBe(false);
  });

  /** Issue a certificate for the given entries as `offboard` would record it, with its issue event. */
  async function issue(entries: FtiEntry[]) {
    const base = goodAnswers();
    const answers = checkAnswers(
      { ...base, dispositions: entries.map((e) => ({ entry: e.id, action: 'returned', date: '2025-06-04', receipt: 'Receipt R-77 signed by the IRS Office of Safeguards' })) },
      entries,
      '2025-06-06',
    );
    const head = (await h.store.auditHead())!;
    const input = certificateInput();
    const cert = buildCertificate({ ...input, assignment: { ...input.assignment, id: ID }, entries, answers, auditHead: head });
    const signed = signCertificate(cert, SIGNER_PRIVATE);
    await h.store.transaction((tx) =>
      tx.appendAudit({ at: now, actor: 'officer', kind: 'certificate.issued', assignmentId: ID, details: { certificateId: cert.id, certificateHash: signed.hash } }),
    );
    return { cert, hash: signed.hash };
  }

  it('certificate against the chain: the FTI log in force at its head, entry for entry and field for field', async () => {
    const entries = await listFtiEntries(h.store, ID);
    const good = await issue(entries);
    expect(await checkCertificateAgainstChain(h.store, good.cert, good.hash)).toMatchObject({ assignmentId: ID, entries: 2 });

    // A certificate issued while a row was hidden from the store (and then put back).
    const short = await issue(entries.slice(0, 1));
    await expect(checkCertificateAgainstChain(h.store, short.cert, short.hash)).rejects.toMatchObject({
      exit: 3,
      code: 'certificate.fti-mismatch',
      message: expect.stringContaining('entry F-0002 (event'),
    });
    // One whose entry was altered in the store at the time.
    const altered = await issue([entries[0]!, { ...entries[1]!, records: 12 }]);
    await expect(checkCertificateAgainstChain(h.store, altered.cert, altered.hash)).rejects.toMatchObject({
      code: 'certificate.fti-mismatch',
      message: expect.stringContaining('entry F-0002 on the certificate differs'),
    });
    // A correction after issue does not change the log the certificate was issued from.
    now = '2025-06-07T15:00:00Z';
    await correctFti(ctx(), ID, 'F-0002', { records: 1300 });
    expect(await checkCertificateAgainstChain(h.store, good.cert, good.hash)).toMatchObject({ entries: 2 });
    // Not recorded by this store, or recorded with another hash.
    await expect(checkCertificateAgainstChain(h.store, { ...good.cert, id: 'DC-other' }, good.hash)).rejects.toMatchObject({ code: 'certificate.not-in-chain' });
    await expect(checkCertificateAgainstChain(h.store, good.cert, 'f'.repeat(64))).rejects.toMatchObject({ code: 'certificate.chain-mismatch' });
  });
});
