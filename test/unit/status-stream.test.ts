import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, statusPages } from '../../src/lifecycle/status.js';
import { parseStates } from '../../src/lifecycle/status-filter.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { AssignmentState } from '../../src/store/types.js';
import { csv } from '../../src/ui/csv.js';
import { STATUS_CSV_COLUMNS, statusText } from '../../src/ui/status.js';
import { writeStatusCsv, writeStatusJson, writeStatusTable } from '../../src/ui/status-stream.js';
import { writeStatus } from '../../src/cli/status-command.js';
import { tempDir } from '../helpers/manifest.js';
import { makeRecord } from '../helpers/pg.js';

const NOW = new Date('2025-03-01T05:00:00Z');
const STATES: AssignmentState[] = ['active', 'active', 'expired', 'revoked', 'closed'];

async function collect(write: (w: (s: string) => void) => Promise<void>): Promise<{ text: string; writes: number }> {
  let text = '';
  let writes = 0;
  await write((s) => {
    text += s;
    writes++;
  });
  return { text, writes };
}

describe('status a page at a time', () => {
  let store: SqliteStore;
  beforeAll(async () => {
    store = await SqliteStore.open(join(tempDir(), 'stream.db'));
    await store.transaction(async (tx) => {
      // Ids of uneven width and a username with a comma, so the table and the CSV are tested on both.
      for (let i = 0; i < 2_345; i++) {
        const rec = makeRecord(`a-${String(i).padStart(i % 7, '0')}${i}`, { state: STATES[i % STATES.length], start: i % 3 ? '2025-01-06' : '2025-04-01', days: 30 + (i % 90) });
        await tx.insertAssignment(i === 5 ? { ...rec, username: 'o"neil,jr' } : rec);
      }
    });
  });
  afterAll(() => store.close());

  const pages = (filter?: Parameters<typeof statusPages>[2]) => () => statusPages(store, NOW, filter, 500);

  it('writes the bytes of the whole document: JSON, CSV and the table, each in several writes', async () => {
    const rows = (await status(store, NOW)).assignments;
    expect(rows).toHaveLength(2_345);
    const json = await collect((w) => writeStatusJson(pages(), w));
    expect(json.text).toBe(`${JSON.stringify(rows, null, 2)}\n`);
    expect(json.writes).toBeGreaterThan(4);
    expect(JSON.parse(json.text)).toEqual(rows);
    const text = await collect((w) => writeStatusCsv(pages(), w));
    expect(text.text).toBe(csv(STATUS_CSV_COLUMNS, rows.map((r) => STATUS_CSV_COLUMNS.map((c) => r[c]))));
    expect(text.text).toContain('"o""neil,jr"');
    const table = await collect((w) => writeStatusTable(pages(), w, 'No assignments recorded.'));
    expect(table.text).toBe(`${statusText(rows)}\n`);
  });

  it('a filter is applied page by page and keeps the order; no row is an empty array, an empty table a sentence', async () => {
    const filter = { states: parseStates(['scheduled']), endingWithinDays: undefined };
    const rows = (await status(store, NOW, filter)).assignments;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.display === 'scheduled')).toBe(true);
    expect((await collect((w) => writeStatusJson(pages(filter), w))).text).toBe(`${JSON.stringify(rows, null, 2)}\n`);
    const none = { states: parseStates(['offboarding']), endingWithinDays: undefined };
    expect((await collect((w) => writeStatusJson(pages(none), w))).text).toBe('[]\n');
    expect((await collect((w) => writeStatusTable(pages(none), w, 'No assignments match.'))).text).toBe('No assignments match.\n');
    expect((await collect((w) => writeStatusCsv(pages(none), w))).text).toBe(csv(STATUS_CSV_COLUMNS, []));
  });

  it('a store that fails part-way (faked: a real one cannot be made to fail between two pages) stops the output where it was, and the error reaches the caller', async () => {
    const failing = Object.create(store) as SqliteStore;
    let calls = 0;
    failing.listSummaries = async (states, page) => {
      if (++calls === 2) throw new Error('disk I/O error');
      return store.listSummaries(states, page);
    };
    let text = '';
    const flags = { csv: false, state: undefined, 'ending-within': undefined };
    await expect(writeStatus(failing, NOW, { states: undefined, endingWithinDays: undefined }, flags, true, (s) => void (text += s))).rejects.toThrow('disk I/O error');
    expect(text.startsWith('[\n  {')).toBe(true);
    expect(text.endsWith(']\n')).toBe(false);
  });
});

