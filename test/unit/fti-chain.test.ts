import { describe, expect, it } from 'vitest';
import { sealEvent } from '../../src/audit/chain.js';
import { deriveFtiLog, FtiChainIndex, ftiEntryHash, normaliseFtiEntry } from '../../src/offboarding/fti-chain.js';
import type { FtiEntry } from '../../src/offboarding/fti.js';
import type { AuditEvent, AuditEventInput, StoredFti } from '../../src/store/types.js';

const A = 'A-1';

function entry(n: number, extra: Partial<FtiEntry> = {}): FtiEntry {
  const id = `F-${String(n).padStart(4, '0')}`;
  return { id, assignmentId: A, description: `batch ${n}`, type: 'return transcripts', taxYears: [2021], records: 10 * n, media: 'paper', location: 'safe 3', received: '2025-03-03', recordedAt: `2025-03-0${n}T00:00:00.000Z`, recordedBy: 'officer', ...extra };
}

function row(e: FtiEntry): StoredFti {
  return { id: e.id, assignmentId: e.assignmentId, seq: Number(e.id.slice(2)), recordedAt: e.recordedAt, data: { ...e } };
}

/** A sealed chain of the given event inputs, as a store would hold it. */
function chain(inputs: Omit<AuditEventInput, 'at' | 'actor'>[]): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const i of inputs) out.push(sealEvent({ at: '2025-03-01T00:00:00.000Z', actor: 'officer', ...i }, out.at(-1)));
  return out;
}

const recorded = (e: FtiEntry) => ({ kind: 'fti.recorded', assignmentId: A, details: { entry: e.id, entryHash: ftiEntryHash(e as unknown as Record<string, unknown>), media: e.media, records: e.records, received: e.received } });

describe('the FTI entry hash', () => {
  it('is the same for an absent optional field and a null one, so a certificate\'s ftiLog rehashes to the store row\'s hash', () => {
    const stored = entry(1);
    const onCertificate = { ...stored, sender: null, reason: null, disposition: { item: 1, action: 'destroyed', date: '2025-06-05', method: 'Destroy' } };
    expect(ftiEntryHash(onCertificate)).toBe(ftiEntryHash(stored as unknown as Record<string, unknown>));
    expect(Object.keys(normaliseFtiEntry(onCertificate))).not.toContain('disposition');
  });

  it('changes with every field the certificate shows', () => {
    const base = ftiEntryHash(entry(1) as unknown as Record<string, unknown>);
    for (const change of [{ description: 'x' }, { type: 'x' }, { taxYears: [2020] }, { records: 11 }, { media: 'usb' as const }, { location: 'x' }, { received: '2025-03-04' }, { sender: 'x' }, { reason: 'x' }, { recordedBy: 'x' }, { recordedAt: 'x' }]) {
      expect(ftiEntryHash(entry(1, change) as unknown as Record<string, unknown>)).not.toBe(base);
    }
  });
});

describe('deriveFtiLog', () => {
  it('applies corrections and keeps history; a row with a field the chain does not know is altered', () => {
    const [e1, e2] = [entry(1), entry(2, { records: 99 })];
    const events = chain([recorded(e1), { ...recorded(e2), kind: 'fti.corrected', details: { ...recorded(e2).details, supersedes: 'F-0001' } }]);
    const log = deriveFtiLog(events, [row(e1), row(e2)]);
    expect(log.findings).toEqual([]);
    expect(log.current.map((e) => [e.id, e.provenance, e.supersedes])).toEqual([['F-0002', 'corrected', 'F-0001']]);
    expect(log.history.map((e) => [e.id, e.supersededBy ?? null])).toEqual([
      ['F-0001', 'F-0002'],
      ['F-0002', null],
    ]);
    const extra = { ...row(e1), data: { ...e1, ssn: 'planted' } };
    expect(deriveFtiLog(events, [extra, row(e2)]).findings).toEqual([expect.objectContaining({ entry: 'F-0001', problem: 'altered' })]);
  });

  it('reports an event edited in place (its own hash no longer matches) without trusting it', () => {
    const e1 = entry(1);
    const events = chain([recorded(e1)]);
    events[0]!.details.records = 5;
    const log = deriveFtiLog(events, [row(e1)]);
    expect(log.findings.map((f) => f.problem)).toEqual(['altered', 'inserted']);
  });

  it('as of a past head: later entries and corrections are left out, later rows are not "inserted"', () => {
    const [e1, e2, e3] = [entry(1), entry(2), entry(3)];
    const events = chain([recorded(e1), recorded(e2), { ...recorded(e3), kind: 'fti.corrected', details: { ...recorded(e3).details, supersedes: 'F-0001' } }]);
    const log = deriveFtiLog(events, [row(e1), row(e2), row(e3)], 2);
    expect(log.findings).toEqual([]);
    expect(log.current.map((e) => e.id)).toEqual(['F-0001', 'F-0002']);
  });
});

describe('a legacy entry as of a past head', () => {
  it('is vouched for by an import made after that head, and an entry recorded after it is left out with its import', () => {
    const [e1, e2] = [entry(1), entry(2)];
    const shape = (e: FtiEntry) => ({ entry: e.id, media: e.media, records: e.records, received: e.received });
    const hashOf = (e: FtiEntry) => ftiEntryHash(e as unknown as Record<string, unknown>);
    const events = chain([
      { kind: 'fti.recorded', assignmentId: A, details: shape(e1) },
      { kind: 'certificate.issued', assignmentId: A, details: {} },
      { kind: 'fti.recorded', assignmentId: A, details: shape(e2) },
      { kind: 'fti.imported', assignmentId: A, details: { ...shape(e1), entryHash: hashOf(e1), legacyEvent: 1 } },
      { kind: 'fti.imported', assignmentId: A, details: { ...shape(e2), entryHash: hashOf(e2), legacyEvent: 3 } },
    ]);
    const then = deriveFtiLog(events, [row(e1), row(e2)], 2);
    expect(then.findings).toEqual([]);
    expect(then.current.map((e) => [e.id, e.provenance, e.event])).toEqual([['F-0001', 'imported', 4]]);
    expect(deriveFtiLog(events, [row(e1), row(e2)]).current.map((e) => e.id)).toEqual(['F-0001', 'F-0002']);
    // Before any import, the same log is unbound, not silently trusted.
    expect(deriveFtiLog(events.slice(0, 3), [row(e1), row(e2)]).findings.map((f) => [f.entry, f.problem])).toEqual([
      ['F-0001', 'unbound'],
      ['F-0002', 'unbound'],
    ]);
  });
});

describe('FtiChainIndex on a chain a whole-chain rewrite could produce', () => {
  it('flags an entry recorded twice, a correction of nothing, a second correction of one entry, and an import of a hashed entry', () => {
    const [e1, e2, e3] = [entry(1), entry(2), entry(3)];
    const index = new FtiChainIndex();
    for (const e of chain([
      recorded(e1),
      recorded(e1),
      { ...recorded(e2), kind: 'fti.corrected', details: { ...recorded(e2).details, supersedes: 'F-0009' } },
      { ...recorded(e2), kind: 'fti.corrected', details: { ...recorded(e2).details, supersedes: 'F-0001' } },
      { ...recorded(e3), kind: 'fti.corrected', details: { ...recorded(e3).details, supersedes: 'F-0001' } },
      { kind: 'fti.imported', assignmentId: A, details: { entry: 'F-0001', entryHash: 'a'.repeat(64) } },
    ])) {
      index.add(e);
    }
    expect(index.findings.map((f) => [f.entry, f.problem, f.event])).toEqual([
      ['F-0001', 'inconsistent', 2],
      ['F-0002', 'inconsistent', 3],
      ['F-0003', 'inconsistent', 5],
      ['F-0001', 'inconsistent', 6],
    ]);
  });
});
