import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { createTestSchema } from './pg.js';

/** One backing store, with a side door for the SQL an intruder with write access would run. */
export interface Harness {
  store: Store;
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

export const storeFactories: [string, () => Promise<Harness>][] = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'detailee-store-'));
      const path = join(dir, 'detailee.db');
      const store = await SqliteStore.open(path);
      return {
        store,
        exec: async (sql) => {
          const db = new DatabaseSync(path);
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = await createTestSchema();
      const store = await PostgresStore.open(schema.url, { migrate: true });
      return {
        store,
        exec: async (sql) => {
          await schema.query(sql);
        },
        cleanup: async () => {
          await store.close();
          await schema.drop();
        },
      };
    },
  ],
];
