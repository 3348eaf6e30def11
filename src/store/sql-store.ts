import { sealEvent } from '../audit/chain.js';
import { placeholders, type Row, type SqlDriver, type SqlSession } from './driver.js';
import { normaliseRow, rawValues } from './copy.js';
import { LATEST_SCHEMA, MIGRATIONS } from './migrations.js';
import { RAW_TABLES, type RawBatch, type RawTable } from './raw-tables.js';
import {
  assignmentFromRow,
  assignmentParams,
  auditFromRow,
  auditParams,
  certificateFromRow,
  ftiFromRow,
  journalFromRow,
  journalParams,
  storedAuditFromArray,
  summaryFromRow,
} from './rows.js';
import {
  StoreConflictError,
  type AssignmentState,
  type AuditEventInput,
  type EndingPage,
  type JournalEntry,
  type LockInfo,
  type Store,
  type StoreTx,
  type SummaryPage,
} from './types.js';
import { checkSchemaVersion } from './version.js';

const ASSIGNMENT_COLUMNS =
  'id, state, username, starts_at, ends_at, ends_at_ms, last_day, timezone, renewals_used, renewals_max, revoked_at, version, doc';
const AUDIT_COLUMNS = 'seq, at, actor, kind, assignment_id, details, prev, hash';
/** A raw copy inserts this many rows per statement: far below either engine's limit on parameters. */
const IMPORT_CHUNK = 200;

/**
 * The store, written once over a driver: the same statements, the same transactions and the same
 * lock on the embedded store and on PostgreSQL, so the contract suite tests one implementation.
 */
export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly location: string;
  readonly file: string | undefined;
  protected readonly db: SqlDriver;
  /** The light row: the revocation's condition and whether onboarding finished come from the
   * document, read only for the rows where they matter, so active rows cost no JSON parse. */
  private readonly summaryColumns: string;

  protected constructor(db: SqlDriver) {
    this.db = db;
    this.kind = db.dialect.kind;
    this.location = db.location;
    this.file = db.file;
    const j = (path: string[]) => db.dialect.jsonText('doc', path);
    this.summaryColumns = `id, state, username, starts_at, ends_at, last_day, timezone, renewals_used, renewals_max, revoked_at,
      CASE WHEN state = 'active' THEN NULL ELSE coalesce(${j(['data', 'revocation', 'condition'])},
        CASE ${j(['data', 'revocation', 'complete'])} WHEN 'true' THEN 'proven' WHEN '1' THEN 'proven'
          WHEN 'false' THEN 'incomplete' WHEN '0' THEN 'incomplete' END) END AS revocation,
      CASE WHEN state = 'active' THEN ${j(['data', 'provisioned'])} END AS provisioned,
      CASE WHEN state = 'active' THEN ${j(['data', 'awaitingStart'])} END AS awaiting_start`;
  }

  /** Open as the URL's kind requires: the embedded store migrates itself, a shared one only on `detailee migrate`. */
  protected async ready(migrate: boolean): Promise<this> {
    if (migrate) await this.migrate();
    else checkSchemaVersion(await this.schemaVersion(), this.location, false);
    return this;
  }

  private async one(sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.db.all(sql, params))[0];
  }

  async schemaVersion(): Promise<number> {
    return versionOn(this.db, this.db.dialect.tableExists);
  }

  /** Apply pending migrations; safe to run from several processes at once. */
  async migrate(): Promise<{ from: number; to: number }> {
    const seen = await this.schemaVersion();
    checkSchemaVersion(seen, this.location, true);
    if (seen === LATEST_SCHEMA) return { from: seen, to: seen };
    return this.db.transaction(async (s) => {
      // Held to COMMIT: a second migrator waits here, then finds nothing left to do.
      await s.exclusive('migrate');
      if (this.db.dialect.beforeMigrate) await s.exec(this.db.dialect.beforeMigrate);
      await s.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const from = await versionOn(s, this.db.dialect.tableExists);
      checkSchemaVersion(from, this.location, true);
      for (const m of MIGRATIONS) {
        if (m.version <= from) continue;
        await s.exec(m[this.kind]);
        await s.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
      }
      return { from, to: Math.max(from, LATEST_SCHEMA) };
    });
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((s) => fn(this.tx(s)));
  }

  private tx(s: SqlSession): StoreTx {
    const one = async (sql: string, params: readonly unknown[] = []) => (await s.all(sql, params))[0];
    let auditHeld = false;
    return {
      getAssignment: async (id) => {
        const row = await one(`SELECT ${ASSIGNMENT_COLUMNS} FROM assignments WHERE id = ?`, [id]);
        return row ? assignmentFromRow(row) : undefined;
      },
      insertAssignment: async (rec) => {
        // DO NOTHING rather than catching the key violation: on PostgreSQL a failed statement
        // poisons the rest of the transaction. A concurrent insert of the same id waits for the
        // first to commit, then sees it.
        const n = await s.run(`INSERT INTO assignments (${ASSIGNMENT_COLUMNS}) VALUES (${placeholders(13)}) ON CONFLICT (id) DO NOTHING`, assignmentParams(rec));
        if (n !== 1) throw new StoreConflictError(`assignment ${rec.id} already exists`);
      },
      updateAssignment: async (rec, expectedVersion) => {
        const next = { ...rec, version: expectedVersion + 1 };
        const n = await s.run(
          `UPDATE assignments SET state = ?, username = ?, starts_at = ?, ends_at = ?, ends_at_ms = ?, last_day = ?, timezone = ?,
             renewals_used = ?, renewals_max = ?, revoked_at = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
          [...assignmentParams(next).slice(1), rec.id, expectedVersion],
        );
        if (n !== 1) throw new StoreConflictError(`assignment ${rec.id} changed since it was read`);
        return next.version;
      },
      appendAudit: async (input: AuditEventInput) => {
        if (!auditHeld) {
          // Read-the-head-then-insert must be one step across every process, or two writers
          // would both link to the same head and fork the chain.
          await s.exclusive('audit');
          auditHeld = true;
        }
        const head = await one('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
        const e = sealEvent(input, head ? { seq: Number(head.seq), hash: String(head.hash) } : undefined);
        await s.run(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${placeholders(8)})`, auditParams(e));
        return e;
      },
      appendJournal: async (entry) => {
        await insertJournal(s, entry);
      },
      nextFtiSeq: async (assignmentId) => {
        // Two officers recording for one detailee at once would otherwise get the same number.
        await s.exclusive(`fti/${assignmentId}`);
        const row = await one('SELECT MAX(seq) AS s FROM fti WHERE assignment_id = ?', [assignmentId]);
        return Number(row?.s ?? 0) + 1;
      },
      insertFti: async (f) => {
        await s.run('INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES (?, ?, ?, ?, ?)', [
          f.assignmentId,
          f.id,
          f.seq,
          f.recordedAt,
          JSON.stringify(f.data),
        ]);
      },
      insertCertificate: async (c) => {
        await s.run('INSERT INTO certificates (id, assignment_id, hash, issued_at, document) VALUES (?, ?, ?, ?, ?)', [
          c.id,
          c.assignmentId,
          c.hash,
          c.issuedAt,
          JSON.stringify(c.document),
        ]);
      },
      setMeta: async (key, value) => {
        await s.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
      },
      markNotice: async (assignmentId, noticeKey, at) =>
        (await s.run('INSERT INTO notices (assignment_id, notice_key, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [assignmentId, noticeKey, at])) === 1,
    };
  }

  async getAssignment(id: string) {
    const row = await this.one(`SELECT ${ASSIGNMENT_COLUMNS} FROM assignments WHERE id = ?`, [id]);
    return row ? assignmentFromRow(row) : undefined;
  }

  async listSummaries(states?: readonly AssignmentState[], page?: SummaryPage) {
    const b = this.db.dialect.bytes;
    const where: string[] = [];
    const params: unknown[] = [];
    if (states && states.length > 0) {
      // A page walks the id index: as a plain IN, SQLite would take the state index instead and
      // sort every row of those states for each page (100 ms a page at 100,000 rows, not 1 ms).
      where.push(page ? `CASE WHEN state IN (${placeholders(states.length)}) THEN 1 ELSE 0 END = 1` : `state IN (${placeholders(states.length)})`);
      params.push(...states);
    }
    if (page?.after !== undefined) {
      where.push(`id${b} > ?`);
      params.push(page.after);
    }
    if (page) params.push(page.limit);
    const sql = `SELECT ${this.summaryColumns} FROM assignments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id${b}${page ? ' LIMIT ?' : ''}`;
    return (await this.db.all(sql, params)).map(summaryFromRow);
  }

  async listEndingBy(before: string, states: readonly AssignmentState[], page?: EndingPage) {
    const after = page?.after;
    const keyset = after ? ` AND (ends_at_ms > ? OR (ends_at_ms = ? AND id${this.db.dialect.bytes} > ?))` : '';
    const params: unknown[] = [...states, Date.parse(before)];
    if (after) params.push(Date.parse(after.endsAt), Date.parse(after.endsAt), after.id);
    if (page) params.push(page.limit);
    const rows = await this.db.all(
      `SELECT ${this.summaryColumns} FROM assignments WHERE state IN (${placeholders(states.length)}) AND ends_at_ms <= ?${keyset}
         ORDER BY ends_at_ms, id${this.db.dialect.bytes}${page ? ' LIMIT ?' : ''}`,
      params,
    );
    return rows.map(summaryFromRow);
  }

  async listAwaitingStart() {
    // The same expression as the index of migration 2, so the planner reads only the rows it lists.
    const waiting = this.db.dialect.jsonText('doc', ['data', 'awaitingStart']);
    const rows = await this.db.all(`SELECT ${this.summaryColumns} FROM assignments WHERE state = 'active' AND ${waiting} IN ('true', '1') ORDER BY id${this.db.dialect.bytes}`);
    return rows.map(summaryFromRow);
  }

  async countEndingBy(before: string, states: readonly AssignmentState[]) {
    const row = await this.one(`SELECT COUNT(*) AS n FROM assignments WHERE state IN (${placeholders(states.length)}) AND ends_at_ms <= ?`, [
      ...states,
      Date.parse(before),
    ]);
    return Number(row?.n ?? 0);
  }

  async countAssignments() {
    return Number((await this.one('SELECT COUNT(*) AS n FROM assignments'))?.n ?? 0);
  }

  async auditHead() {
    const row = await this.one('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : undefined;
  }

  async readAudit(afterSeq: number, limit: number) {
    // Ordered by seq; verify still checks seq continuity, so a renumbered row shows.
    return (await this.db.all(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, [afterSeq, limit])).map(auditFromRow);
  }

  async readAuditStored(afterSeq: number, limit: number) {
    // The rows of readAudit, without an object from the driver per row nor a parse of `details`.
    const rows = await this.db.arrays(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, [afterSeq, limit]);
    return rows.map(storedAuditFromArray);
  }

  async auditFor(assignmentId: string) {
    return (await this.db.all(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE assignment_id = ? ORDER BY seq`, [assignmentId])).map(auditFromRow);
  }

  async journalFor(assignmentId: string) {
    return (await this.db.all('SELECT * FROM journal WHERE assignment_id = ? ORDER BY id', [assignmentId])).map(journalFromRow);
  }

  async appendJournal(entry: JournalEntry) {
    await insertJournal(this.db, entry);
  }

  async listFti(assignmentId: string) {
    return (await this.db.all('SELECT * FROM fti WHERE assignment_id = ? ORDER BY seq', [assignmentId])).map(ftiFromRow);
  }

  async getCertificate(assignmentId: string) {
    const row = await this.one(`SELECT * FROM certificates WHERE assignment_id = ? ORDER BY issued_at${this.db.dialect.bytes} DESC LIMIT 1`, [
      assignmentId,
    ]);
    return row ? certificateFromRow(row) : undefined;
  }

  async listCertificates() {
    const b = this.db.dialect.bytes;
    return (await this.db.all(`SELECT * FROM certificates ORDER BY issued_at${b}, id${b}`)).map(certificateFromRow);
  }

  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    const row = await this.one('SELECT value FROM meta WHERE key = ?', [key]);
    return row ? (JSON.parse(String(row.value)) as T) : undefined;
  }

  async noticesFor(assignmentId: string) {
    const rows = await this.db.all(`SELECT notice_key, at FROM notices WHERE assignment_id = ? ORDER BY at${this.db.dialect.bytes}`, [assignmentId]);
    return rows.map((r) => ({ noticeKey: String(r.notice_key), at: String(r.at) }));
  }

  /**
   * A named lease, the same on both engines: a row naming the holder, when it took the lease and
   * when the lease ends. A live lease of another holder refuses; the holder renews by acquiring
   * again. A holder that dies leaves its row: the lease stays until it ends, then the next holder
   * takes it and is told whose it was. The conditional upsert is one statement, so two takers
   * racing for a free or ended lease cannot both win (the second re-checks the first's new row).
   */
  async acquireLock(name: string, holder: string, now: Date, ttlMs: number): Promise<{ acquired: boolean; takenOver?: LockInfo }> {
    return this.db.transaction(async (s) => {
      const prev = (await s.all('SELECT holder, acquired_at, expires_at_ms FROM locks WHERE name = ?', [name]))[0];
      const changed = await s.run(
        `INSERT INTO locks (name, holder, acquired_at, expires_at_ms) VALUES (?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms,
             acquired_at = CASE WHEN locks.holder = excluded.holder THEN locks.acquired_at ELSE excluded.acquired_at END
           WHERE locks.holder = excluded.holder OR locks.expires_at_ms <= ?`,
        [name, holder, now.toISOString(), now.getTime() + ttlMs, now.getTime()],
      );
      if (changed !== 1) return { acquired: false };
      if (!prev || String(prev.holder) === holder) return { acquired: true };
      return {
        acquired: true,
        takenOver: {
          name,
          holder: String(prev.holder),
          acquiredAt: String(prev.acquired_at),
          expiresAt: new Date(Number(prev.expires_at_ms)).toISOString(),
        },
      };
    });
  }

  async releaseLock(name: string, holder: string) {
    await this.db.run('DELETE FROM locks WHERE name = ? AND holder = ?', [name, holder]);
  }

  /** Rows of one table in key order, verbatim, integer columns as numbers whatever the engine returns. */
  async exportRaw(table: RawTable, offset: number, limit: number): Promise<Row[]> {
    const spec = RAW_TABLES[table];
    const ints: readonly string[] = spec.ints;
    const order = spec.order
      .split(', ')
      .map((c) => (ints.includes(c) ? c : `${c}${this.db.dialect.bytes}`))
      .join(', ');
    const rows = await this.db.all(`SELECT ${spec.columns.join(', ')} FROM ${table} ORDER BY ${order} LIMIT ? OFFSET ?`, [limit, offset]);
    return rows.map((row) => normaliseRow(table, row));
  }

  async importRaw(batches: AsyncIterable<RawBatch>): Promise<void> {
    await this.db.transaction(async (s) => {
      let journal = false;
      for await (const { table, rows } of batches) {
        const cols = RAW_TABLES[table].columns;
        for (let i = 0; i < rows.length; i += IMPORT_CHUNK) {
          const chunk = rows.slice(i, i + IMPORT_CHUNK);
          const tuples = chunk.map(() => `(${placeholders(cols.length)})`).join(', ');
          await s.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples}`, chunk.flatMap((row) => rawValues(table, row)));
        }
        if (table === 'journal') journal = true;
      }
      if (journal && this.db.dialect.afterJournalImport) await s.exec(this.db.dialect.afterJournalImport);
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

async function versionOn(q: Pick<SqlSession, 'all'>, tableExists: string): Promise<number> {
  if ((await q.all(tableExists, ['schema_migrations'])).length === 0) return 0;
  const row = (await q.all('SELECT MAX(version) AS v FROM schema_migrations'))[0];
  return Number(row?.v ?? 0);
}

async function insertJournal(q: Pick<SqlSession, 'run'>, entry: JournalEntry): Promise<void> {
  await q.run(
    `INSERT INTO journal (run_id, assignment_id, operation, step_id, target, status, detail, at, error) VALUES (${placeholders(9)})`,
    journalParams(entry),
  );
}
