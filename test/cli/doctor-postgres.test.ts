import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cli } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { createTestSchema, type TestSchema } from '../helpers/pg.js';

/** doctor's store line on a shared PostgreSQL store: an unmigrated one is reported and left as it is. */
let pg: TestSchema;
let dir: string;
const NOW = '2025-03-01T12:00:00Z';

beforeAll(async () => {
  pg = await createTestSchema();
  dir = tempDir('detailee-doctor-pg-');
  writeFileSync(join(dir, 'detailee.yaml'), stringify({ store: pg.url, timezone: 'America/New_York' }));
});
afterAll(async () => {
  await pg?.drop();
});

type Report = { checks: { id: string; status: string; detail: string; fix?: string }[] };
const storeLine = (json: unknown) => (json as Report).checks.find((c) => c.id === 'store')!;

describe('doctor on PostgreSQL', () => {
  it('an unmigrated store: ✗ with "Run `detailee migrate`", and doctor does not migrate it; after migrate, ✓', () => {
    const before = cli(dir, ['doctor', '--json'], NOW);
    expect(before.exit).toBe(1);
    expect(storeLine(before.json)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/is at schema 0; this detailee needs \d+/), fix: 'Run `detailee migrate`.' });
    expect(JSON.stringify(before.json)).toContain(`schema=${pg.schema}`);
    // Still unmigrated: a command that needs the schema refuses it.
    expect(cli(dir, ['status', '--json'], NOW).exit).toBe(2);
    expect(cli(dir, ['migrate', '--json'], NOW).exit).toBe(0);
    const after = cli(dir, ['doctor', '--json'], NOW);
    expect(storeLine(after.json)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/at schema \d+$/) });
  });
});
