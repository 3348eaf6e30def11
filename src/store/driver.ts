/**
 * What a database must offer the store. Every query is written once, in sql-store.ts, with `?`
 * placeholders; a driver runs it on its engine (node:sqlite or pg) and says how its dialect spells
 * the few things the two engines spell differently.
 */
export type Row = Record<string, unknown>;

/** The statements of one transaction: on SQLite the single connection, on PostgreSQL one pooled session. */
export interface SqlSession {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Returns how many rows the statement changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Several statements without parameters (a migration). */
  exec(sql: string): Promise<void>;
  /**
   * Hold `name` until this transaction ends, so a read-then-write (the audit chain's head, an FTI
   * number, a migration) is one step across every process. SQLite's write transaction already
   * excludes every other writer; PostgreSQL takes a transaction-scoped advisory lock.
   */
  exclusive(name: string): Promise<void>;
}

export interface Dialect {
  readonly kind: 'sqlite' | 'postgres';
  /** Appended to a text column in ORDER BY or a comparison: byte order, so both engines sort alike. */
  readonly bytes: string;
  /** The value at `path` of the JSON document in `column`, as text ('true'/'1' for true, per engine). */
  jsonText(column: string, path: readonly string[]): string;
  /** A query with one `?` (the table name) that returns a row when the table exists. */
  readonly tableExists: string;
  /** Statements that run before the first migration (PostgreSQL creates the URL's schema). */
  readonly beforeMigrate: string | undefined;
  /** After rows were copied with explicit journal ids: move the id sequence past them. */
  readonly afterJournalImport: string | undefined;
}

export interface SqlDriver extends Omit<SqlSession, 'exec' | 'exclusive'> {
  readonly dialect: Dialect;
  /**
   * `all`, each row an array of its values in the SELECT's column order: no object per row, for
   * reads of a million rows (the audit chain's verification).
   */
  arrays(sql: string, params?: readonly unknown[]): Promise<unknown[][]>;
  /** Printable location (passwords redacted). */
  readonly location: string;
  /** An embedded store's file (not in memory), which another thread can open too. */
  readonly file?: string;
  /**
   * Outside a transaction, `all` reads committed data and `run` is one atomic statement. A body
   * commits when it resolves and rolls back when it throws.
   */
  transaction<T>(body: (s: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}
