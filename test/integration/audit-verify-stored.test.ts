import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeFactories, type Harness } from '../helpers/store-harness.js';
import { verifyAudit } from '../../src/audit/audit.js';
import { GENESIS } from '../../src/audit/chain.js';
import { walkStoredChain } from '../../src/audit/read-chain.js';
import { ftiEntryHash } from '../../src/offboarding/fti-chain.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AuditEvent, Store } from '../../src/store/types.js';
import { AT, hashBefore, longChain, settle, verifyBefore, type Outcome, type VerdictBefore } from '../helpers/audit-before.js';

/**
 * `audit verify` reads the chain as stored and hashes a details text as it is when it is canonical
 * JSON already. Its verdicts must be those of the verification before that change, which parsed
 * every event and hashed canonicalJson of the parsed details (test/helpers/audit-before.ts, the
 * oracle); both are run over the same tampered stores. (From the sources, one thread verifies the
 * whole chain; audit-verify-threads.test.ts runs the built one, which uses two.)
 */

/** Both verifications, which must agree; the common outcome. */
async function bothAgree(store: Store): Promise<Outcome> {
  const before = await settle(verifyBefore(store));
  const now = await settle(verifyAudit(store).then(({ checkpoint: _cp, ...rest }) => rest));
  expect(now).toEqual(before);
  return now;
}

function resultOf(o: Outcome): VerdictBefore {
  if (!('result' in o)) throw new Error(`verification threw ${o.threw}`);
  return o.result as VerdictBefore;
}


const sql = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const FTI_DATA = { id: 'F-1', assignmentId: 'A1', description: 'batch 7', type: 'transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'safe 3', received: '2025-03-03', recordedAt: AT, recordedBy: 'officer' };

/**
 * What each of the 12 events carries: canonical text, keys out of order (as JSON.stringify wrote
 * them, which is how detailee stored details before it stored them canonical), escapes, non-ASCII,
 * an FTI entry; event 6 an actor JSON.stringify escapes.
 */
const ODD_ACTOR = 'o"ff\\icer\u0001\u2028é😀';
const DETAILS: [string, Record<string, unknown>][] = [
  ['test.event', { i: 1 }],
  ['test.event', { operation: 'onboard', target: 'ldap', step: 'create', detail: 'uid=x' }],
  ['test.event', { quote: 'a "b" \\ c\nd\u0001', é: 'ünï 😀', '\u2028': [1.5, -0.25, 1e21, 1e-7, null, true] }],
  ['fti.recorded', { entry: 'F-1', entryHash: ftiEntryHash(FTI_DATA), media: 'paper', records: 250, received: '2025-03-03' }],
  ['test.event', { nested: { z: { y: [{ b: 1, a: 2 }] }, a: {} }, list: [] }],
  ['test.event', {}],
  ['test.event', { i: 7 }],
  ['test.event', { b: 2, a: 1 }],
  ['test.event', { i: 9 }],
  ['test.event', { n: 1152921504606846976, m: 1234567890123456 }],
  ['test.event', { i: 11 }],
  ['test.event', { i: 12 }],
];

/**
 * Rewrite rows from `from` on, as an intruder with write access would: the given details texts
 * hashed by `hashOf`, every later event re-hashed the proper way to re-link the chain.
 */
async function rewrite(h: Harness, from: number, texts: Map<number, string>, hashOf: (e: Omit<AuditEvent, 'hash'>, text: string) => string): Promise<void> {
  const events = await h.store.readAudit(0, 1000);
  let prev = events[from - 2]?.hash ?? GENESIS;
  const statements: string[] = [];
  for (const e of events.filter((x) => x.seq >= from)) {
    const text = texts.get(e.seq) ?? JSON.stringify(e.details);
    const rewritten = { ...e, prev, details: JSON.parse(text) as Record<string, unknown> };
    const hash = texts.has(e.seq) ? hashOf(rewritten, text) : hashBefore(rewritten);
    statements.push(`UPDATE audit SET details = ${sql(text)}, prev = ${sql(prev)}, hash = ${sql(hash)} WHERE seq = ${e.seq}`);
    prev = hash;
  }
  await h.exec(statements.join(';\n'));
}

/** The hash an intruder would compute over the stored text itself, as a verifier that hashed stored bytes unchecked would accept. */
function hashOverText(e: Omit<AuditEvent, 'hash'>, text: string): string {
  const preimage =
    `{"actor":${JSON.stringify(e.actor)},"assignmentId":${e.assignmentId === null ? 'null' : JSON.stringify(e.assignmentId)},` +
    `"at":${JSON.stringify(e.at)},"details":${text},"kind":${JSON.stringify(e.kind)},"prev":${JSON.stringify(e.prev)},"seq":${e.seq}}`;
  return createHash('sha256').update(preimage).digest('hex');
}

describe.each(storeFactories)('audit verify over stored text agrees with parse-and-canonicalise: %s', (_kind, factory) => {
  let h: Harness;
  beforeEach(async () => {
    h = await factory();
    for (const [kind, details] of DETAILS) {
      const actor = details === DETAILS[5]![1] ? ODD_ACTOR : 'officer';
      await h.store.transaction((tx) => tx.appendAudit({ at: AT, actor, kind, assignmentId: kind.startsWith('fti.') ? 'A1' : null, details }));
    }
    // Stored as detailee stored details before it stored them canonical (JSON.stringify, keys in
    // insertion order): some texts are canonical, others not, as in a store written by both.
    await h.exec(DETAILS.map(([, d], i) => `UPDATE audit SET details = ${sql(JSON.stringify(d))} WHERE seq = ${i + 1}`).join(';\n'));
    await h.exec(`INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES ('A1', 'F-1', 1, ${sql(AT)}, ${sql(JSON.stringify(FTI_DATA))})`);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('readAuditStored pages the events readAudit pages, details as the stored text', async () => {
    await h.exec(`UPDATE audit SET details = ${sql('{ "i" : 1 }')} WHERE seq = 1`);
    const events = await h.store.readAudit(0, 100);
    const stored = [...(await h.store.readAuditStored(0, 5)), ...(await h.store.readAuditStored(5, 100))];
    expect(stored.map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, kind: e.kind, assignmentId: e.assignmentId, details: e.details, prev: e.prev, hash: e.hash }))).toEqual(events);
    expect(stored[0]!.detailsText).toBe('{ "i" : 1 }');
    expect(stored[1]!.detailsText).toBe(JSON.stringify(DETAILS[1]![1]));
    expect(await h.store.readAuditStored(12, 100)).toEqual([]);
  });

  it('an intact chain, with canonical and non-canonical stored texts', async () => {
    const r = resultOf(await bothAgree(h.store));
    expect(r).toMatchObject({ ok: true, events: 12, fti: { checked: true, entries: 1, rows: 1, findings: [] } });
  });

  it.each([
    ['spaces added', 1, '{ "i" : 1 }'],
    ['keys reordered', 2, '{"target":"ldap","step":"create","operation":"onboard","detail":"uid=x"}'],
    ['keys put in canonical order', 2, '{"detail":"uid=x","operation":"onboard","step":"create","target":"ldap"}'],
    ['keys in another order', 8, '{"a":1,"b":2}'],
    ['a key twice (the last one counts)', 7, '{"i":0,"i":7}'],
    ['an escape written otherwise', 3, JSON.stringify({ quote: 'a "b" \\ c\nd\u0001', é: 'ünï 😀', '\u2028': [1.5, -0.25, 1e21, 1e-7, null, true] }).replace('é', '\\u00e9').replace('1e+21', '1E21')],
    ['a number written otherwise', 12, '{"i":12.0}'],
  ])('details rewritten with the same meaning (%s), hash untouched: accepted, as before', async (_name, seq, text) => {
    await h.exec(`UPDATE audit SET details = ${sql(text)} WHERE seq = ${seq}`);
    expect(resultOf(await bothAgree(h.store)).ok).toBe(true);
  });

  it('details rewritten non-canonically and re-hashed over the stored text: refused at that event, as before', async () => {
    await rewrite(h, 5, new Map([[5, '{"list":[],"nested":{"a":{},"z":{"y":[{"b":1,"a":2}]}}}']]), hashOverText);
    const r = resultOf(await bothAgree(h.store));
    expect(r).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'event 5 was altered (its content does not match its hash)' });
  });

  it('details rewritten in canonical form and re-hashed over that text (= its canonical form): accepted, as before', async () => {
    await rewrite(h, 5, new Map([[5, '{"list":[],"nested":{"a":{},"z":{"y":[{"a":2,"b":1}]}}}']]), hashOverText);
    expect(resultOf(await bothAgree(h.store)).ok).toBe(true);
  });

  it('details changed in meaning and the rest of the chain re-hashed the proper way: undetectable without a checkpoint, as before', async () => {
    await rewrite(h, 6, new Map([[6, '{ "forged" : true }']]), (e) => hashBefore(e));
    expect(resultOf(await bothAgree(h.store)).ok).toBe(true);
  });

  it.each([
    ['a detail edited', `UPDATE audit SET details = '{"i":99}' WHERE seq = 7`, 7],
    ['an actor edited', `UPDATE audit SET actor = 'x"y' WHERE seq = 4`, 4],
    ['an event deleted', 'DELETE FROM audit WHERE seq = 6', 6],
    ['a link edited', `UPDATE audit SET prev = '${'1'.repeat(64)}' WHERE seq = 9`, 9],
    ['a hash edited', `UPDATE audit SET hash = upper(hash) WHERE seq = 10`, 10],
    ['a hash shortened', `UPDATE audit SET hash = substr(hash, 1, 63) WHERE seq = 10`, 10],
    ['events swapped', 'UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = -1', 3],
  ])('%s: refused at the same event with the same reason', async (_name, tamper, seq) => {
    await h.exec(tamper);
    expect(resultOf(await bothAgree(h.store))).toMatchObject({ ok: false, firstBadSeq: seq });
  });

  it('an FTI row altered: the same finding', async () => {
    await h.exec(`UPDATE fti SET data = ${sql(JSON.stringify({ ...FTI_DATA, records: 251 }))}`);
    const r = resultOf(await bothAgree(h.store));
    expect(r.fti.findings.map((f) => f.problem)).toEqual(['altered']);
  });

  it.each([
    ['not JSON', '{"i":'],
    ['JSON of a lone surrogate (canonicalJson refuses it)', '{"s":"\\ud800"}'],
  ])('details %s: the same error', async (_name, text) => {
    await h.exec(`UPDATE audit SET details = ${sql(text)} WHERE seq = 7`);
    const o = await bothAgree(h.store);
    expect(o).toHaveProperty('threw');
  });

  it('an FTI event whose details are null, re-hashed: the same error from the FTI index', async () => {
    await rewrite(h, 4, new Map([[4, 'null']]), (e) => hashBefore(e));
    const o = await bothAgree(h.store);
    expect(o).toHaveProperty('threw');
  });
});

describe('audit verify over a chain of more than one read (20,000 events)', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'detailee-audit-long-'));
    store = await SqliteStore.open(join(dir, 'detailee.db'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** n events, a third stored with keys out of order; `special` replaces stored texts (after hashing, so they are tampering). */
  const fill = (n: number, special: Record<number, string>): void => {
    const text = (seq: number): string => (seq % 3 === 0 ? `{"j":${seq},"a":1}` : `{"a":1,"j":${seq}}`);
    longChain(join(dir, 'detailee.db'), n, text, (seq) => special[seq] ?? text(seq));
  };

  it('intact: verified', async () => {
    fill(25_000, {});
    expect(resultOf(await bothAgree(store))).toMatchObject({ ok: true, events: 25_000 });
  });

  it.each([
    ['a text that is not JSON in the batch of an earlier problem still throws (its batch was read whole)', { 5: '{"a":2,"j":5}', 15_000: '{' }],
    ['a text that is not JSON in the next batch does not: the earlier problem is reported', { 5: '{"a":2,"j":5}', 20_001: '{' }],
    ['a text that is not JSON, alone', { 20_001: '{' }],
    ['an altered event past the first batch', { 24_999: '{"a":1,"j":0}' }],
    ['a lone surrogate just before a batch ends, a text that is not JSON in the same batch', { 19_999: '{"s":"\\ud800"}', 20_000: '{' }],
    ['a lone surrogate at the end of a batch, a text that is not JSON in the next', { 20_000: '{"s":"\\ud800"}', 20_001: '{' }],
    ['an altered event on a page boundary, a text that is not JSON further in the batch', { 20_250: '{"a":1,"j":0}', 39_999: '[' }],
  ])('%s: as before', async (_name, special) => {
    fill(40_000, special as Record<number, string>);
    await bothAgree(store);
  });

  it('visits each event once, in order, saying whether its stored text is canonical; a stop still parses the rest of its batch', async () => {
    fill(1_000, { 900: '{' });
    const seen: string[] = [];
    const walk = walkStoredChain(store, (e, canonical) => {
      seen.push(`${e.seq}:${canonical}`);
      return e.seq < 600;
    });
    await expect(walk).rejects.toThrow(SyntaxError);
    expect(seen).toEqual(Array.from({ length: 600 }, (_, i) => `${i + 1}:${(i + 1) % 3 !== 0}`));
  });
});
