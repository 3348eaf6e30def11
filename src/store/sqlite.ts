import { accessSync, chmodSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { sealEvent } from '../audit/chain.js';
import { ActionError } from '../errors.js';
import { LATEST_SCHEMA, MIGRATIONS } from './migrations.js';
import {
  assignmentFromRow,
  assignmentParams,
  auditFromRow,
  auditParams,
  certificateFromRow,
  ftiFromRow,
  journalFromRow,
  journalParams,
  summaryFromRow,
  type Row,
} from './rows.js';
import {
  StoreConflictError,
  type AssignmentRecord,
  type AssignmentState,
  type AuditEventInput,
  type EndingPage,
  type JournalEntry,
  type Store,
  type StoreTx,
} from './types.js';
import { checkSchemaVersion } from './version.js';
import { sqliteExportRaw, sqliteImportRaw } from './copy.js';
import type { RawBatch, RawTable } from './raw-tables.js';

const ASSIGNMENT_COLUMNS =
  'id, state, username, starts_at, ends_at, ends_at_ms, last_day, timezone, renewals_used, renewals_max, revoked_at, version, doc';
// The revocation's condition and whether onboarding finished live in the document; each is read
// only for the rows where it matters, so active rows cost no JSON parse.
const SUMMARY_COLUMNS = `id, state, username, starts_at, ends_at, last_day, timezone, renewals_used, renewals_max, revoked_at,
  CASE WHEN state = 'active' THEN NULL ELSE coalesce(json_extract(doc, '$.data.revocation.condition'),
    CASE json_extract(doc, '$.data.revocation.complete') WHEN 1 THEN 'proven' WHEN 0 THEN 'incomplete' END) END AS revocation,
  CASE WHEN state = 'active' THEN json_extract(doc, '$.data.provisioned') END AS provisioned`;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

const MAX_CACHED_STATEMENTS = 64;

/** The embedded store: one file, WAL, created readable by its owner only. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private readonly db: DatabaseSync;
  /** node:sqlite is synchronous, but a transaction body is async: serialise bodies in-process. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Prepared statements by SQL text. A statement holds native memory that is only freed when its
   * JS wrapper is collected, and the wrappers are too small to make V8 collect them: preparing
   * per call let a long night (one lookup and several writes per assignment) grow with its size.
   */
  private readonly statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync, location: string) {
    this.db = db;
    this.location = location;
  }

  static async open(path: string, options: { migrate?: boolean } = {}): Promise<SqliteStore> {
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
    const store = new SqliteStore(db, path);
    if (options.migrate !== false) await store.migrate();
    else checkSchemaVersion(await store.schemaVersion(), store.location, false);
    return store;
  }

  async schemaVersion(): Promise<number> {
    const has = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (!has) return 0;
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as Row | undefined;
    return Number(row?.v ?? 0);
  }

  async migrate(): Promise<{ from: number; to: number }> {
    const seen = await this.schemaVersion();
    checkSchemaVersion(seen, this.location, true);
    if (seen === LATEST_SCHEMA) return { from: seen, to: seen };
    this.db.exec('BEGIN IMMEDIATE');
    let from: number;
    try {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      // Re-read under the write lock: another process may have migrated since the first look.
      from = await this.schemaVersion();
      for (const m of MIGRATIONS) {
        if (m.version <= from) continue;
        this.db.exec(m.sqlite);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
    return { from, to: LATEST_SCHEMA };
  }

  private prepare(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      // The SQL texts are a fixed set (IN lists vary only by the number of states); the bound is a guard.
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private run(sql: string, params: unknown[]): void {
    this.prepare(sql).run(...(params as SQLInputValue[]));
  }

  private all(sql: string, params: unknown[] = []): Row[] {
    return this.prepare(sql).all(...(params as SQLInputValue[])) as Row[];
  }

  private one(sql: string, params: unknown[] = []): Row | undefined {
    return this.prepare(sql).get(...(params as SQLInputValue[])) as Row | undefined;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.tx());
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

  private tx(): StoreTx {
    return {
      getAssignment: async (id) => this.getAssignmentSync(id),
      insertAssignment: async (rec) => {
        if (this.one('SELECT id FROM assignments WHERE id = ?', [rec.id])) {
          throw new StoreConflictError(`assignment ${rec.id} already exists`);
        }
        this.run(`INSERT INTO assignments (${ASSIGNMENT_COLUMNS}) VALUES (${placeholders(13)})`, assignmentParams(rec));
      },
      updateAssignment: async (rec, expectedVersion) => {
        const next = { ...rec, version: expectedVersion + 1 };
        const p = assignmentParams(next);
        const r = this
          .prepare(
            `UPDATE assignments SET state = ?, username = ?, starts_at = ?, ends_at = ?, ends_at_ms = ?, last_day = ?, timezone = ?,
               renewals_used = ?, renewals_max = ?, revoked_at = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
          )
          .run(...([...p.slice(1), rec.id, expectedVersion] as SQLInputValue[]));
        if (Number(r.changes) !== 1) throw new StoreConflictError(`assignment ${rec.id} changed since it was read`);
        return next.version;
      },
      appendAudit: async (input: AuditEventInput) => {
        const head = this.auditHeadSync();
        const e = sealEvent(input, head);
        this.run('INSERT INTO audit (seq, at, actor, kind, assignment_id, details, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', auditParams(e));
        return e;
      },
      appendJournal: async (entry) => this.appendJournalSync(entry),
      nextFtiSeq: async (assignmentId) => {
        const row = this.one('SELECT MAX(seq) AS s FROM fti WHERE assignment_id = ?', [assignmentId]);
        return Number(row?.s ?? 0) + 1;
      },
      insertFti: async (f) => {
        this.run('INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES (?, ?, ?, ?, ?)', [
          f.assignmentId,
          f.id,
          f.seq,
          f.recordedAt,
          JSON.stringify(f.data),
        ]);
      },
      insertCertificate: async (c) => {
        this.run('INSERT INTO certificates (id, assignment_id, hash, issued_at, document) VALUES (?, ?, ?, ?, ?)', [
          c.id,
          c.assignmentId,
          c.hash,
          c.issuedAt,
          JSON.stringify(c.document),
        ]);
      },
      setMeta: async (key, value) => {
        this.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
      },
      markNotice: async (assignmentId, noticeKey, at) => {
        const r = this
          .prepare('INSERT INTO notices (assignment_id, notice_key, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
          .run(assignmentId, noticeKey, at);
        return Number(r.changes) === 1;
      },
    };
  }

  private getAssignmentSync(id: string): AssignmentRecord | undefined {
    const row = this.one(`SELECT ${ASSIGNMENT_COLUMNS} FROM assignments WHERE id = ?`, [id]);
    return row ? assignmentFromRow(row) : undefined;
  }

  private auditHeadSync(): { seq: number; hash: string } | undefined {
    const row = this.one('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : undefined;
  }

  private appendJournalSync(entry: JournalEntry): void {
    this.run(
      'INSERT INTO journal (run_id, assignment_id, operation, step_id, target, status, detail, at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      journalParams(entry),
    );
  }

  async getAssignment(id: string) {
    return this.getAssignmentSync(id);
  }

  async listSummaries(states?: readonly AssignmentState[]) {
    const where = states && states.length > 0 ? `WHERE state IN (${placeholders(states.length)})` : '';
    return this.all(`SELECT ${SUMMARY_COLUMNS} FROM assignments ${where} ORDER BY id`, [...(states ?? [])]).map(summaryFromRow);
  }

  async listEndingBy(before: string, states: readonly AssignmentState[], page?: EndingPage) {
    const after = page?.after;
    const keyset = after ? ' AND (ends_at_ms > ? OR (ends_at_ms = ? AND id > ?))' : '';
    const params: unknown[] = [...states, Date.parse(before)];
    if (after) params.push(Date.parse(after.endsAt), Date.parse(after.endsAt), after.id);
    if (page) params.push(page.limit);
    return this.all(
      `SELECT ${SUMMARY_COLUMNS} FROM assignments WHERE state IN (${placeholders(states.length)}) AND ends_at_ms <= ?${keyset} ORDER BY ends_at_ms, id${page ? ' LIMIT ?' : ''}`,
      params,
    ).map(summaryFromRow);
  }

  async countEndingBy(before: string, states: readonly AssignmentState[]) {
    const row = this.one(`SELECT COUNT(*) AS n FROM assignments WHERE state IN (${placeholders(states.length)}) AND ends_at_ms <= ?`, [...states, Date.parse(before)]);
    return Number(row?.n ?? 0);
  }

  async countAssignments() {
    return Number(this.one('SELECT COUNT(*) AS n FROM assignments')?.n ?? 0);
  }

  async auditHead() {
    return this.auditHeadSync();
  }

  async readAudit(afterSeq: number, limit: number) {
    // Ordered by rowid-backed seq; verify still checks seq continuity, so a renumbered row shows.
    return this.all('SELECT seq, at, actor, kind, assignment_id, details, prev, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?', [
      afterSeq,
      limit,
    ]).map(auditFromRow);
  }

  async auditFor(assignmentId: string) {
    return this.all('SELECT seq, at, actor, kind, assignment_id, details, prev, hash FROM audit WHERE assignment_id = ? ORDER BY seq', [
      assignmentId,
    ]).map(auditFromRow);
  }

  async journalFor(assignmentId: string) {
    return this.all('SELECT * FROM journal WHERE assignment_id = ? ORDER BY id', [assignmentId]).map(journalFromRow);
  }

  async appendJournal(entry: JournalEntry) {
    await this.transaction(async (tx) => tx.appendJournal(entry));
  }

  async listFti(assignmentId: string) {
    return this.all('SELECT * FROM fti WHERE assignment_id = ? ORDER BY seq', [assignmentId]).map(ftiFromRow);
  }

  async getCertificate(assignmentId: string) {
    const row = this.one('SELECT * FROM certificates WHERE assignment_id = ? ORDER BY issued_at DESC LIMIT 1', [assignmentId]);
    return row ? certificateFromRow(row) : undefined;
  }

  async listCertificates() {
    return this.all('SELECT * FROM certificates ORDER BY issued_at, id').map(certificateFromRow);
  }

  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    const row = this.one('SELECT value FROM meta WHERE key = ?', [key]);
    return row ? (JSON.parse(String(row.value)) as T) : undefined;
  }

  async noticesFor(assignmentId: string) {
    return this.all('SELECT notice_key, at FROM notices WHERE assignment_id = ? ORDER BY at', [assignmentId]).map((r) => ({
      noticeKey: String(r.notice_key),
      at: String(r.at),
    }));
  }

  async acquireLock(name: string, holder: string, now: Date, ttlMs: number) {
    return this.transaction(async () => {
      const row = this.one('SELECT name, holder, acquired_at, expires_at_ms FROM locks WHERE name = ?', [name]);
      if (row && Number(row.expires_at_ms) > now.getTime() && String(row.holder) !== holder) return { acquired: false };
      const takenOver =
        row && String(row.holder) !== holder
          ? {
              name,
              holder: String(row.holder),
              acquiredAt: String(row.acquired_at),
              expiresAt: new Date(Number(row.expires_at_ms)).toISOString(),
            }
          : undefined;
      this.run(
        'INSERT INTO locks (name, holder, acquired_at, expires_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at_ms = excluded.expires_at_ms',
        [name, holder, now.toISOString(), now.getTime() + ttlMs],
      );
      return takenOver ? { acquired: true, takenOver } : { acquired: true };
    });
  }

  async releaseLock(name: string, holder: string) {
    await this.transaction(async () => {
      this.run('DELETE FROM locks WHERE name = ? AND holder = ?', [name, holder]);
    });
  }

  async exportRaw(table: RawTable, offset: number, limit: number) {
    return sqliteExportRaw(this.db, table, offset, limit);
  }

  importRaw(batches: AsyncIterable<RawBatch>): Promise<void> {
    const next = this.queue.then(() => sqliteImportRaw(this.db, batches)).catch((e: unknown) => {
      throw wrapIo(e);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close() {
    await this.queue;
    if (this.db.isOpen) this.db.close();
  }
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
