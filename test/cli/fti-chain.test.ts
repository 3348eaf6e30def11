import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/scenario.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../helpers/manifest.js';
import { createTestSchema, makeRecord, type TestSchema } from '../helpers/pg.js';

/** The FTI log in the audit chain through the built CLI, on either store, tampered with by SQL. */
const ID = 'irs-2025-0077';
const NOW = '2025-04-02T15:00:00Z';

interface Backing {
  url: (dir: string) => string;
  open: (dir: string) => Promise<Store>;
  exec: (dir: string, sql: string) => Promise<void>;
  cleanup: () => Promise<void>;
}

let pg: TestSchema | undefined;
const backings: [string, Backing][] = [
  [
    'sqlite',
    {
      url: (dir) => `sqlite:${join(dir, 'detailee.db')}`,
      open: (dir) => SqliteStore.open(join(dir, 'detailee.db')),
      exec: async (dir, sql) => {
        const db = new DatabaseSync(join(dir, 'detailee.db'));
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
      cleanup: async () => undefined,
    },
  ],
  [
    'postgres',
    {
      url: () => pg!.url,
      open: () => PostgresStore.open(pg!.url, { migrate: true }),
      exec: async (_dir, sql) => {
        await pg!.query(sql);
      },
      cleanup: async () => {
        await pg?.drop();
      },
    },
  ],
];

const record = (description: string, records: number, media = 'paper') => [
  'fti', 'record', ID, '--description', description, '--type', 'return transcripts', '--tax-years', '2021', '--records', String(records),
  '--media', media, '--location', 'Bldg 2, Room 114, safe 3', '--received', '2025-03-03', '--json',
];

describe.each(backings)('detailee CLI: the FTI log in the audit chain (%s)', (kind, b) => {
  let dir: string;
  const run = (args: string[]) => cli(dir, args, NOW);
  beforeAll(async () => {
    if (kind === 'postgres') pg = await createTestSchema();
    dir = tempDir('detailee-fti-cli-');
    const signing = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'signing.pem'), signing.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'approver.pub.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(
      join(dir, 'detailee.yaml'),
      stringify({
        store: b.url(dir),
        timezone: 'America/New_York',
        trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] },
        certificates: { signingKey: 'signing.pem', outputDir: 'certificates' },
      }),
    );
    // Onboarding needs live targets; the FTI log needs only an assignment in the store.
    const store = await b.open(dir);
    try {
      await store.transaction((tx) => tx.insertAssignment(makeRecord(ID, { start: '2025-02-06' })));
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    await b.cleanup();
  });

  it('records, corrects and lists: the correction is a new entry and a new audit event', () => {
    expect(run(record('TY2021 extract batch 7', 250)).exit).toBe(0);
    expect(run(record('TY2021 extract batch 8', 40, 'usb')).exit).toBe(0);
    const corrected = run(['fti', 'correct', ID, 'F-0001', '--records', '300', '--json']);
    expect(corrected.exit).toBe(0);
    expect(corrected.json).toMatchObject({ id: 'F-0003', supersedes: 'F-0001', records: 300, description: 'TY2021 extract batch 7' });
    const list = run(['fti', 'list', ID, '--json']);
    expect(list.exit).toBe(0);
    expect((list.json as { id: string; supersedes?: string }[]).map((e) => [e.id, e.supersedes ?? null])).toEqual([
      ['F-0002', null],
      ['F-0003', 'F-0001'],
    ]);
    const history = run(['fti', 'list', ID, '--history']);
    expect(String(history.json)).toMatch(/F-0001[^\n]*corrected by F-0003/);
    const events = String(run(['audit', 'export']).json).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; details: Record<string, unknown> });
    expect(events.filter((e) => e.kind.startsWith('fti.')).map((e) => [e.kind, e.details.entry, e.details.supersedes ?? null])).toEqual([
      ['fti.recorded', 'F-0001', null],
      ['fti.recorded', 'F-0002', null],
      ['fti.corrected', 'F-0003', 'F-0001'],
    ]);
    // A correction that changes nothing is refused, and nothing is recorded.
    const empty = run(['fti', 'correct', ID, 'F-0003', '--records', '300', '--json']);
    expect(empty.exit).toBe(2);
    expect(empty.json).toMatchObject({ error: { code: 'fti.correct-empty' } });
    const verified = run(['audit', 'verify', '--json']);
    expect(verified.exit).toBe(0);
    expect(verified.json).toMatchObject({ ok: true, fti: { checked: true, entries: 3, rows: 3, findings: [] } });
    expect(String(run(['audit', 'verify']).json)).toMatch(/FTI log matches the chain: 3 entries, 3 row\(s\)/);
  });

  const cases: [string, string, string][] = [
    ['deleted', `DELETE FROM fti WHERE id = 'F-0002'`, 'F-0002'],
    ['altered', `UPDATE fti SET data = replace(data, 'batch 8', 'batch 9') WHERE id = 'F-0002'`, 'F-0002'],
    ['inserted', `INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES ('${ID}', 'F-0004', 4, '${NOW}', '{"id":"F-0004"}')`, 'F-0004'],
  ];

  it.each(cases)('an FTI row %s by SQL: audit verify exits 3 naming it, with and without a checkpoint; fti list refuses', async (problem, tamper, entry) => {
    const cpPath = join(dir, `checkpoint-${problem}.json`);
    expect(run(['audit', 'checkpoint', '--out', cpPath, '--json']).exit).toBe(0);
    await b.exec(dir, 'CREATE TABLE saved AS SELECT * FROM fti');
    await b.exec(dir, tamper);
    try {
      for (const extra of [[], ['--checkpoint', cpPath]]) {
        const r = run(['audit', 'verify', ...extra, '--json']);
        expect(r.exit).toBe(3);
        expect(r.json).toMatchObject({ ok: false, fti: { findings: [expect.objectContaining({ assignmentId: ID, entry, problem })] } });
        const human = run(['audit', 'verify', ...extra]);
        expect(human.exit).toBe(3);
        expect(String(human.json)).toContain(`${problem}: FTI entry ${entry} of ${ID}`);
      }
      // The chain itself still matches the checkpoint: only the FTI rows are wrong.
      expect(run(['audit', 'verify', '--checkpoint', cpPath, '--json']).json).toMatchObject({ checkpoint: { ok: true } });
      const list = run(['fti', 'list', ID, '--json']);
      expect(list.exit).toBe(3);
      expect(list.json).toMatchObject({ error: { code: 'fti.tampered', message: expect.stringContaining(`FTI entry ${entry}`) } });
    } finally {
      await b.exec(dir, 'DELETE FROM fti');
      await b.exec(dir, 'INSERT INTO fti SELECT * FROM saved');
      await b.exec(dir, 'DROP TABLE saved');
    }
    expect(run(['audit', 'verify', '--json']).exit).toBe(0);
  });

  it('a legacy entry: audit verify exits 3 (unbound) until fti import-legacy, which needs --yes without a terminal', async () => {
    const legacy = { id: 'F-0009', assignmentId: ID, description: 'legacy batch', type: 'return transcripts', taxYears: [2021], records: 5, media: 'paper', location: 'safe 1', received: '2025-03-01', recordedAt: '2025-03-01T15:00:00.000Z', recordedBy: 'former' };
    const store = await b.open(dir);
    try {
      await store.transaction(async (tx) => {
        await tx.insertFti({ id: 'F-0009', assignmentId: ID, seq: 9, recordedAt: legacy.recordedAt, data: legacy });
        await tx.appendAudit({ at: legacy.recordedAt, actor: 'former', kind: 'fti.recorded', assignmentId: ID, details: { entry: 'F-0009', media: 'paper', records: 5, received: '2025-03-01' } });
      });
    } finally {
      await store.close();
    }
    const before = run(['audit', 'verify', '--json']);
    expect(before.exit).toBe(3);
    expect(before.json).toMatchObject({ fti: { findings: [expect.objectContaining({ entry: 'F-0009', problem: 'unbound' })] } });
    expect(run(['fti', 'list', ID, '--json']).json).toMatchObject({ error: { code: 'fti.unbound' } });
    const refused = run(['fti', 'import-legacy', ID, '--json']);
    expect(refused.exit).toBe(2);
    expect(refused.json).toMatchObject({ error: { code: 'confirm.no-tty' } });
    expect(run(['audit', 'verify', '--json']).exit).toBe(3);
    const done = run(['fti', 'import-legacy', ID, '--yes', '--json']);
    expect(done.exit).toBe(0);
    expect(done.json).toMatchObject({ imported: [expect.objectContaining({ entry: 'F-0009' })] });
    expect(run(['audit', 'verify', '--json']).exit).toBe(0);
    expect(String(run(['fti', 'list', ID]).json)).toMatch(/F-0009[^\n]*imported/);
  });
});
