import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { createTestSchema } from './pg.js';

/**
 * Where a store lives (a SQLite file, a PostgreSQL schema), reopenable, with a side door for the
 * SQL a store would never run (an intruder with write access, a hand edit).
 */
export interface Backing {
  open(options?: { migrate?: boolean }): Promise<Store>;
  exec(sql: string): Promise<void>;
  /** Removes the location; close the stores opened on it first. */
  cleanup(): Promise<void>;
}

export const storeBackings: [string, () => Promise<Backing>][] = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'detailee-store-'));
      const path = join(dir, 'detailee.db');
      return {
        open: (o = {}) => SqliteStore.open(path, { migrate: o.migrate ?? true }),
        exec: async (sql) => {
          const db = new DatabaseSync(path);
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = await createTestSchema();
      return {
        open: (o = {}) => PostgresStore.open(schema.url, { migrate: o.migrate ?? true }),
        exec: async (sql) => {
          await schema.query(sql);
        },
        cleanup: () => schema.drop(),
      };
    },
  ],
];

/** One migrated store on a fresh backing, with its side door. */
export interface Harness {
  store: Store;
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

export const storeFactories: [string, () => Promise<Harness>][] = storeBackings.map(([name, backing]) => [
  name,
  async () => {
    const b = await backing();
    const store = await b.open();
    return {
      store,
      exec: (sql) => b.exec(sql),
      cleanup: async () => {
        await store.close();
        await b.cleanup();
      },
    };
  },
]);
