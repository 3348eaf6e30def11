import { accessSync, chmodSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { ActionError } from '../errors.js';
import type { Dialect, Row, SqlDriver, SqlSession } from './driver.js';
import { SqlStore } from './sql-store.js';

const SQLITE: Dialect = {
  kind: 'sqlite',
  bytes: '', // BINARY, SQLite's default collation, is byte order
  jsonText: (column, path) => `CAST(json_extract(${column}, '$.${path.join('.')}') AS TEXT)`,
  tableExists: "SELECT 1 AS has FROM sqlite_master WHERE type = 'table' AND name = ?",
  beforeMigrate: undefined,
  afterJournalImport: undefined, // AUTOINCREMENT already moves past explicit ids
};

const MAX_CACHED_STATEMENTS = 64;

/** node:sqlite beneath the store: one file, WAL, created readable by its owner only. */
class SqliteDriver implements SqlDriver {
  readonly dialect = SQLITE;
  readonly location: string;
  readonly file: string | undefined;
  private readonly db: DatabaseSync;
  /** node:sqlite is synchronous, but a transaction body is async: serialise bodies in-process. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Prepared statements by SQL text. A statement holds native memory that is only freed when its
   * JS wrapper is collected, and the wrappers are too small to make V8 collect them: preparing
   * per call let a long night (one lookup and several writes per assignment) grow with its size.
   */
  private readonly statements = new Map<string, StatementSync>();
  private readonly session: SqlSession;

  constructor(db: DatabaseSync, location: string) {
    this.db = db;
    this.location = location;
    this.file = location === ':memory:' ? undefined : location;
    // Inside a transaction the one connection is the transaction: the session is the connection.
    this.session = {
      all: async (sql, params) => this.allSync(sql, params),
      run: async (sql, params) => this.runSync(sql, params),
      exec: async (sql) => this.db.exec(sql),
      exclusive: async () => undefined, // BEGIN IMMEDIATE holds SQLite's write lock to COMMIT
    };
  }

  private prepare(sql: string, arrays = false): StatementSync {
    // A statement returning arrays is another statement: setReturnArrays changes it for good.
    const key = arrays ? `[]${sql}` : sql;
    let s = this.statements.get(key);
    if (!s) {
      // The SQL texts are a fixed set (IN lists vary only by the number of states); the bound is a guard.
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      s = this.db.prepare(sql);
      if (arrays) s.setReturnArrays(true);
      this.statements.set(key, s);
    }
    return s;
  }

  private allSync(sql: string, params: readonly unknown[] = []): Row[] {
    return this.prepare(sql).all(...(params as SQLInputValue[])) as Row[];
  }

  private runSync(sql: string, params: readonly unknown[] = []): number {
    return Number(this.prepare(sql).run(...(params as SQLInputValue[])).changes);
  }

  async all(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.allSync(sql, params);
  }

  async arrays(sql: string, params: readonly unknown[] = []): Promise<unknown[][]> {
    return this.prepare(sql, true).all(...(params as SQLInputValue[])) as unknown as unknown[][];
  }

  /** A write outside a transaction waits for the transaction in flight, or it would join it. */
  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.transaction(async () => this.runSync(sql, params));
  }

  transaction<T>(body: (s: SqlSession) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await body(this.session);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw wrapIo(e);
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.db.isOpen) this.db.close();
  }
}

/** The embedded store. */
export class SqliteStore extends SqlStore {
  static async open(path: string, options: { migrate?: boolean } = {}): Promise<SqliteStore> {
    const store = new SqliteStore(new SqliteDriver(await openDatabase(path), path));
    return store.ready(options.migrate !== false);
  }

  /**
   * An existing store file opened read-only, without creating or migrating anything: how a worker
   * thread reads the audit chain beside the store's own connection (a worker may not set the
   * umask that creating a store needs).
   */
  static async openReadOnly(path: string): Promise<SqliteStore> {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec('PRAGMA busy_timeout = 5000;');
    return new SqliteStore(new SqliteDriver(db, path)).ready(false);
  }
}

async function openDatabase(path: string): Promise<DatabaseSync> {
  const { DatabaseSync } = await import('node:sqlite');
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    } catch (e) {
      // A raw ENOTDIR/EACCES would surface as an internal error ("a bug") instead of a setup problem.
      throw new ActionError(`Cannot create the store ${path}: ${(e as Error).message}`, {
        code: 'store.open',
        actions: ['Check the store path in the config (or $DETAILEE_DATABASE_URL) and the permissions of its folder.'],
        cause: e,
      });
    }
  }
  let db: DatabaseSync;
  const oldMask = process.umask(0o077); // the -wal and -shm files inherit it
  try {
    db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  } catch (e) {
    // SQLite's own words ("unable to open database file") do not say that a read-only folder is
    // the cause: in WAL mode it must create the -shm file beside the store even to read it.
    const readOnly = path !== ':memory:' && !canWriteIn(dirname(path));
    throw new ActionError(`Cannot open the store ${path}: ${readOnly ? 'its folder is read-only, and SQLite must write beside the store (its -wal and -shm files) even to read it' : (e as Error).message}`, {
      code: 'store.open',
      actions: readOnly
        ? ['Make the folder writable again (remount it read-write), or copy the store file to a writable folder and point the config at the copy.']
        : ['Check the path and its permissions.'],
      cause: e,
    });
  } finally {
    process.umask(oldMask);
  }
  if (path !== ':memory:') chmodSync(path, 0o600);
  return db;
}

function canWriteIn(dir: string): boolean {
  try {
    accessSync(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function wrapIo(e: unknown): unknown {
  if (e instanceof Error && /SQLITE_(FULL|READONLY|IOERR|CANTOPEN)|disk is full|readonly database/i.test(e.message)) {
    return new ActionError(`The store could not be written: ${e.message}. Nothing was changed.`, {
      code: 'store.write',
      actions: ['Free disk space or fix the store file permissions, then run the command again.'],
      cause: e,
    });
  }
  return e;
}
