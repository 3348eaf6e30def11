/**
 * Versioned migrations, shared in meaning by every store: version N of the SQLite schema and
 * version N of the PostgreSQL schema hold the same data. Append; never edit a released one.
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** Version 1 in either dialect: the same tables, only the integer types differ. */
function initialSchema(dialect: 'sqlite' | 'postgres'): string {
  const big = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const serial = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  return `
      CREATE TABLE assignments (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        username TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        ends_at_ms ${big} NOT NULL,
        last_day TEXT NOT NULL,
        timezone TEXT NOT NULL,
        renewals_used INTEGER NOT NULL,
        renewals_max INTEGER NOT NULL,
        revoked_at TEXT,
        version INTEGER NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX assignments_state_ends ON assignments (state, ends_at_ms);
      CREATE INDEX assignments_username ON assignments (username);
      CREATE TABLE audit (
        seq ${big} PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        assignment_id TEXT,
        details TEXT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_assignment ON audit (assignment_id, seq);
      CREATE TABLE journal (
        id ${serial},
        run_id TEXT NOT NULL,
        assignment_id TEXT NOT NULL,
        operation TEXT NOT NULL,
        step_id TEXT NOT NULL,
        target TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL,
        error TEXT
      );
      CREATE INDEX journal_assignment ON journal (assignment_id, id);
      CREATE TABLE fti (
        assignment_id TEXT NOT NULL,
        id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        recorded_at TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (assignment_id, id)
      );
      CREATE TABLE certificates (
        id TEXT PRIMARY KEY,
        assignment_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        document TEXT NOT NULL
      );
      CREATE TABLE notices (
        assignment_id TEXT NOT NULL,
        notice_key TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (assignment_id, notice_key)
      );
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at_ms ${big} NOT NULL);
    `;
}

export const MIGRATIONS: Migration[] = [
  { version: 1, name: 'initial', sqlite: initialSchema('sqlite'), postgres: initialSchema('postgres') },
  {
    version: 2,
    name: 'assignments by id in byte order, and those awaiting their start',
    // Listings page by id in byte order (COLLATE "C" on PostgreSQL, so both stores list alike); the
    // primary key's index is in the database's locale and cannot serve that order (SQLite's is
    // byte order already). The second index finds, without reading every document, the few active
    // assignments whose account waits for the nightly start-day enable: its expression is the
    // dialect's jsonText('doc', ['data', 'awaitingStart']) exactly, or the planner cannot use it.
    sqlite: "CREATE INDEX assignments_awaiting_start ON assignments (state, CAST(json_extract(doc, '$.data.awaitingStart') AS TEXT));",
    postgres: `CREATE INDEX assignments_id_bytes ON assignments (id COLLATE "C");
      CREATE INDEX assignments_awaiting_start ON assignments (state, (doc::jsonb #>> '{data,awaitingStart}'));`,
  },
];

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1]!.version;
