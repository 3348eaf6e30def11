import type { Pool, PoolClient, PoolConfig, QueryResult } from 'pg';
import { sealEvent } from '../audit/chain.js';
import { redactUrl } from '../config/resolve.js';
import { ActionError, DetaileeError, InputError } from '../errors.js';
import { normaliseRow, rawValues, type RawStore } from './copy.js';
import { RAW_TABLES, type RawBatch, type RawTable } from './raw-tables.js';
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
  type LockInfo,
  type Store,
  type StoreTx,
} from './types.js';
import { checkSchemaVersion } from './version.js';

/**
 * Advisory lock classes (the first key of the two-key form). The second key hashes the schema,
 * so two stores sharing one database (one schema each) never serialise each other, and the
 * one-key space stays free for anything else on the server.
 */
const ADVISORY = {
  migrate: 0x44540001,
  audit: 0x44540002,
  fti: 0x44540003,
  named: 0x44540004,
} as const;

const ASSIGNMENT_COLUMNS =
  'id, state, username, starts_at, ends_at, ends_at_ms, last_day, timezone, renewals_used, renewals_max, revoked_at, version, doc';
// As in the SQLite store: the revocation's condition and whether onboarding finished, from the document.
const SUMMARY_COLUMNS = `id, state, username, starts_at, ends_at, last_day, timezone, renewals_used, renewals_max, revoked_at,
  CASE WHEN state = 'active' THEN NULL ELSE coalesce(doc::jsonb #>> '{data,revocation,condition}',
    CASE doc::jsonb #>> '{data,revocation,complete}' WHEN 'true' THEN 'proven' WHEN 'false' THEN 'incomplete' END) END AS revocation,
  CASE WHEN state = 'active' THEN (doc::jsonb #>> '{data,provisioned}') END AS provisioned`;
const AUDIT_COLUMNS = 'seq, at, actor, kind, assignment_id, details, prev, hash';

/** PostgreSQL sorts text by the database locale; "C" matches SQLite's byte order, so both stores list alike. */
const C = 'COLLATE "C"';

function params(n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
}

type Queryable = Pick<PoolClient, 'query'>;

/** The parts of a pg error that say what went wrong; pg sets `code` to a SQLSTATE or a Node errno. */
function errCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

const NET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/**
 * Turn environment failures into ActionError (exit 1) with a message a person can act on. pg
 * messages never carry the password, but one from the URL is masked anyway in case a server does.
 */
function wrapPgError(e: unknown, location: string, secret: string | undefined): unknown {
  if (!(e instanceof Error) || e instanceof DetaileeError || e instanceof StoreConflictError) return e;
  const code = errCode(e);
  const msg = secret && secret.length >= 3 ? e.message.split(secret).join('***') : e.message;
  if (code === '53100' || code === '25006' || code === '58030' || code.startsWith('53')) {
    return new ActionError(`The store ${location} could not be written: ${msg}. Nothing was changed.`, {
      code: 'store.write',
      actions: ['Free disk space on the database server or make it writable (not a read-only replica), then run the command again.'],
      cause: e,
    });
  }
  if (code.startsWith('28')) {
    return new ActionError(`The store ${location} refused the login: ${msg}.`, {
      code: 'store.auth',
      actions: ['Check the user and password (in the URL, PGPASSWORD or PGPASSFILE) and pg_hba.conf.'],
      cause: e,
    });
  }
  if (
    NET_ERRORS.has(code) ||
    code.startsWith('08') ||
    code.startsWith('57P') ||
    code === '3D000' ||
    /connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i.test(e.message)
  ) {
    return new ActionError(`Cannot reach the store ${location}: ${msg}.`, {
      code: 'store.connect',
      actions: ['Check that PostgreSQL is running, the URL names the right host and database, then run the command again.'],
      cause: e,
    });
  }
  if (code === '40P01' || code === '40001') {
    return new ActionError(`The store ${location} aborted the change because another run wrote at the same time: ${msg}.`, {
      code: 'store.busy',
      actions: ['Nothing was changed; run the command again.'],
      cause: e,
    });
  }
  return e;
}

/**
 * redactUrl is regex-based and leaves part of a password containing '@' in view; when the URL
 * parses, mask the password the way the driver reads it.
 */
function printableUrl(url: string): { location: string; secret: string | undefined } {
  try {
    const u = new URL(url);
    if (!u.password) return { location: redactUrl(url), secret: undefined };
    const secret = decodeURIComponent(u.password);
    u.password = '***';
    return { location: u.toString(), secret };
  } catch {
    // Not parseable: pg will refuse it with its own message, and redactUrl does its best.
    return { location: redactUrl(url), secret: undefined };
  }
}

/**
 * Asked only when the server demands a password and the URL has none: PGPASSWORD, else the
 * PGPASSFILE (~/.pgpass) line for this host, port, database and user. Left to the driver, a
 * missing password surfaced as a 30-second hang and an internal error, and reading PGPASSFILE
 * implicitly is deprecated in pg 8.
 */
async function passwordFromEnvironment(location: string, params: object): Promise<string> {
  const fromEnv = process.env.PGPASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const { default: pgpass } = await import('pgpass');
  // The driver passes the connection's parameters (host, port, database, user); pgpass matches on them.
  const found = await new Promise<string | undefined>((resolve) => pgpass(params, resolve));
  if (found === undefined) throw missingPassword(location);
  return found;
}

/**
 * The URL's own fields, with a password function when the URL has no password. pg would let an
 * empty password from the parsed URL override a password option, so the URL is parsed here with
 * pg's own parser (libpq semantics kept) and the function put in its place.
 */
async function connectionConfig(connectionString: string, location: string): Promise<PoolConfig> {
  const { parse } = await import('pg-connection-string');
  let parsed: Record<string, unknown>;
  try {
    parsed = { ...parse(connectionString) };
  } catch {
    return { connectionString }; // the driver refuses it with its own message
  }
  if (typeof parsed.password === 'string' && parsed.password !== '') return { connectionString };
  delete parsed.password;
  return { ...(parsed as PoolConfig), password: passwordFor(location) };
}

/** pg calls the password function with the connection's parameters, though its types declare none. */
function passwordFor(location: string): () => Promise<string> {
  return ((params: object) => passwordFromEnvironment(location, params)) as unknown as () => Promise<string>;
}

function missingPassword(location: string): ActionError {
  return new ActionError(`The store ${location} asks for a password and none was given.`, {
    code: 'store.auth',
    actions: ['Give it in PGPASSWORD or PGPASSFILE (a line host:port:database:user:password in a file of mode 0600), or in the store URL; never in the config file.'],
  });
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `?schema=NAME` is ours, not libpq's: turn it into the startup option `-c search_path=NAME`
 * (which libpq URLs already allow as `options=`), so every pooled connection lands in the schema
 * before its first query, with no per-connection SET to race against.
 */
function withSchema(url: string, location: string): { connectionString: string; schema: string | undefined } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { connectionString: url, schema: undefined };
  }
  const schema = u.searchParams.get('schema');
  if (schema === null) return { connectionString: url, schema: undefined };
  if (!SCHEMA_NAME.test(schema)) {
    throw new InputError(`The store ${location} names schema ${JSON.stringify(schema)}, which is not a plain lower-case identifier.`, {
      code: 'store.url',
      actions: ['Use a schema name of lower-case letters, digits and "_", starting with a letter or "_".'],
    });
  }
  u.searchParams.delete('schema');
  const options = u.searchParams.get('options');
  u.searchParams.set('options', `${options ? `${options} ` : ''}-c search_path=${schema}`);
  return { connectionString: u.toString(), schema };
}

async function versionOn(q: Queryable): Promise<number> {
  const has = await q.query<{ has: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS has");
  if (!has.rows[0]?.has) return 0;
  const r = await q.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  return Number(r.rows[0]?.v ?? 0);
}

interface HeldLock {
  holder: string;
  client: PoolClient;
  onError: () => void;
}

/**
 * The shared store. Writers in different processes are serialised where the model needs one
 * order (the audit chain, FTI numbering) by transaction-scoped advisory locks, and elsewhere by
 * row-level conflicts (primary keys, optimistic versions).
 */
export class PostgresStore implements Store, RawStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly pool: Pool;
  private readonly schema: string | undefined;
  private readonly secret: string | undefined;
  /** current_schema(): the advisory-lock namespace of this store. */
  private scope = '';
  private readonly locks = new Map<string, HeldLock>();
  private closed = false;

  private constructor(pool: Pool, location: string, schema: string | undefined, secret: string | undefined) {
    this.pool = pool;
    this.location = location;
    this.schema = schema;
    this.secret = secret;
  }

  static async open(url: string, options: { migrate?: boolean } = {}): Promise<PostgresStore> {
    const { location, secret } = printableUrl(url);
    const { connectionString, schema } = withSchema(url, location);
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ ...(await connectionConfig(connectionString, location)), max: 10, connectionTimeoutMillis: 30_000 });
    // An idle pooled connection that dies (server restart) is dropped by the pool; without a
    // listener the 'error' event would crash the process instead.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, location, schema, secret);
    try {
      if (options.migrate) await store.migrate();
      else checkSchemaVersion(await store.schemaVersion(), location, false);
      const r = await pool.query<{ s: string | null }>('SELECT current_schema() AS s');
      store.scope = r.rows[0]?.s ?? '';
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw store.wrap(e);
    }
    return store;
  }

  private wrap(e: unknown): unknown {
    return wrapPgError(e, this.location, this.secret);
  }

  private async q(sql: string, values: unknown[] = []): Promise<QueryResult<Row>> {
    try {
      return await this.pool.query<Row>(sql, values);
    } catch (e) {
      throw this.wrap(e);
    }
  }

  private async connect(): Promise<PoolClient> {
    if (this.closed) throw new Error(`the store ${this.location} is closed`);
    try {
      return await this.pool.connect();
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async schemaVersion(): Promise<number> {
    try {
      return await versionOn(this.pool);
    } catch (e) {
      throw this.wrap(e);
    }
  }

  /** BEGIN … COMMIT on one pooled connection; ROLLBACK on any throw, and drop the connection if even that fails. */
  private async inTransaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    // A checked-out connection that dies between queries emits 'error'; unheard, that would end
    // the process. The next query reports the failure instead.
    const onError = (): void => undefined;
    client.on('error', onError);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw this.wrap(e);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Apply pending migrations; safe to run from several processes at once. */
  async migrate(): Promise<{ from: number; to: number }> {
    return this.inTransaction(async (client) => {
      // Held to COMMIT: a second migrator waits here, then finds nothing left to do.
      await client.query(`SELECT pg_advisory_xact_lock(${ADVISORY.migrate}, 0)`);
      if (this.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      const from = await versionOn(client);
      checkSchemaVersion(from, this.location, true);
      for (const m of MIGRATIONS) {
        if (m.version <= from) continue;
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      }
      return { from, to: Math.max(from, LATEST_SCHEMA) };
    });
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.inTransaction((client) => fn(this.tx(client)));
  }

  private tx(client: PoolClient): StoreTx {
    const one = async (sql: string, values: unknown[] = []): Promise<Row | undefined> =>
      (await client.query<Row>(sql, values)).rows[0];
    let auditLocked = false;
    return {
      getAssignment: async (id) => {
        const row = await one(`SELECT ${ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1`, [id]);
        return row ? assignmentFromRow(row) : undefined;
      },
      insertAssignment: async (rec) => {
        // DO NOTHING rather than catching 23505: a failed statement would poison the rest of the
        // transaction. A concurrent insert of the same id waits for the first to commit, then sees it.
        const r = await client.query(
          `INSERT INTO assignments (${ASSIGNMENT_COLUMNS}) VALUES (${params(13)}) ON CONFLICT (id) DO NOTHING`,
          assignmentParams(rec),
        );
        if (r.rowCount !== 1) throw new StoreConflictError(`assignment ${rec.id} already exists`);
      },
      updateAssignment: async (rec: AssignmentRecord, expectedVersion: number) => {
        const next = { ...rec, version: expectedVersion + 1 };
        const p = assignmentParams(next);
        const r = await client.query(
          `UPDATE assignments SET state = $1, username = $2, starts_at = $3, ends_at = $4, ends_at_ms = $5, last_day = $6, timezone = $7,
             renewals_used = $8, renewals_max = $9, revoked_at = $10, version = $11, doc = $12 WHERE id = $13 AND version = $14`,
          [...p.slice(1), rec.id, expectedVersion],
        );
        if (r.rowCount !== 1) throw new StoreConflictError(`assignment ${rec.id} changed since it was read`);
        return next.version;
      },
      appendAudit: async (input: AuditEventInput) => {
        if (!auditLocked) {
          // Read-the-head-then-insert must be one step across every process, or two writers would
          // both link to the same head and fork the chain. Released at COMMIT/ROLLBACK.
          await client.query(`SELECT pg_advisory_xact_lock(${ADVISORY.audit}, hashtext($1))`, [this.scope]);
          auditLocked = true;
        }
        const head = await one('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
        const e = sealEvent(input, head ? { seq: Number(head.seq), hash: String(head.hash) } : undefined);
        await client.query(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${params(8)})`, auditParams(e));
        return e;
      },
      appendJournal: async (entry) => {
        await this.insertJournal(client, entry);
      },
      nextFtiSeq: async (assignmentId) => {
        // Two officers recording for one detailee at once would otherwise get the same number.
        await client.query(`SELECT pg_advisory_xact_lock(${ADVISORY.fti}, hashtext($1))`, [`${this.scope}/${assignmentId}`]);
        const row = await one('SELECT MAX(seq) AS s FROM fti WHERE assignment_id = $1', [assignmentId]);
        return Number(row?.s ?? 0) + 1;
      },
      insertFti: async (f) => {
        await client.query('INSERT INTO fti (assignment_id, id, seq, recorded_at, data) VALUES ($1, $2, $3, $4, $5)', [
          f.assignmentId,
          f.id,
          f.seq,
          f.recordedAt,
          JSON.stringify(f.data),
        ]);
      },
      insertCertificate: async (c) => {
        await client.query('INSERT INTO certificates (id, assignment_id, hash, issued_at, document) VALUES ($1, $2, $3, $4, $5)', [
          c.id,
          c.assignmentId,
          c.hash,
          c.issuedAt,
          JSON.stringify(c.document),
        ]);
      },
      setMeta: async (key, value) => {
        await client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
          key,
          JSON.stringify(value),
        ]);
      },
      markNotice: async (assignmentId, noticeKey, at) => {
        const r = await client.query('INSERT INTO notices (assignment_id, notice_key, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          assignmentId,
          noticeKey,
          at,
        ]);
        return r.rowCount === 1;
      },
    };
  }

  private async insertJournal(q: Queryable, entry: JournalEntry): Promise<void> {
    await q.query(
      `INSERT INTO journal (run_id, assignment_id, operation, step_id, target, status, detail, at, error) VALUES (${params(9)})`,
      journalParams(entry),
    );
  }

  async getAssignment(id: string) {
    const row = (await this.q(`SELECT ${ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1`, [id])).rows[0];
    return row ? assignmentFromRow(row) : undefined;
  }

  async listSummaries(states?: readonly AssignmentState[]) {
    const filtered = states !== undefined && states.length > 0;
    const r = await this.q(
      `SELECT ${SUMMARY_COLUMNS} FROM assignments ${filtered ? 'WHERE state = ANY($1::text[])' : ''} ORDER BY id ${C}`,
      filtered ? [[...states]] : [],
    );
    return r.rows.map(summaryFromRow);
  }

  async listEndingBy(before: string, states: readonly AssignmentState[], page?: EndingPage) {
    const after = page?.after;
    const params: unknown[] = [[...states], Date.parse(before)];
    let keyset = '';
    if (after) {
      params.push(Date.parse(after.endsAt), after.id);
      keyset = ` AND (ends_at_ms > $3 OR (ends_at_ms = $3 AND id ${C} > $4))`;
    }
    if (page) params.push(page.limit);
    const r = await this.q(
      `SELECT ${SUMMARY_COLUMNS} FROM assignments WHERE state = ANY($1::text[]) AND ends_at_ms <= $2${keyset} ORDER BY ends_at_ms, id ${C}${page ? ` LIMIT $${params.length}` : ''}`,
      params,
    );
    return r.rows.map(summaryFromRow);
  }

  async countEndingBy(before: string, states: readonly AssignmentState[]) {
    const r = await this.q('SELECT COUNT(*) AS n FROM assignments WHERE state = ANY($1::text[]) AND ends_at_ms <= $2', [[...states], Date.parse(before)]);
    return Number(r.rows[0]?.n ?? 0);
  }

  async countAssignments() {
    return Number((await this.q('SELECT COUNT(*) AS n FROM assignments')).rows[0]?.n ?? 0);
  }

  async auditHead() {
    const row = (await this.q('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0];
    return row ? { seq: Number(row.seq), hash: String(row.hash) } : undefined;
  }

  async readAudit(afterSeq: number, limit: number) {
    return (await this.q(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit])).rows.map(auditFromRow);
  }

  async auditFor(assignmentId: string) {
    return (await this.q(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE assignment_id = $1 ORDER BY seq`, [assignmentId])).rows.map(auditFromRow);
  }

  async journalFor(assignmentId: string) {
    return (await this.q('SELECT * FROM journal WHERE assignment_id = $1 ORDER BY id', [assignmentId])).rows.map(journalFromRow);
  }

  async appendJournal(entry: JournalEntry) {
    try {
      await this.insertJournal(this.pool, entry);
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async listFti(assignmentId: string) {
    return (await this.q('SELECT * FROM fti WHERE assignment_id = $1 ORDER BY seq', [assignmentId])).rows.map(ftiFromRow);
  }

  async getCertificate(assignmentId: string) {
    const row = (await this.q(`SELECT * FROM certificates WHERE assignment_id = $1 ORDER BY issued_at ${C} DESC LIMIT 1`, [assignmentId]))
      .rows[0];
    return row ? certificateFromRow(row) : undefined;
  }

  async listCertificates() {
    return (await this.q(`SELECT * FROM certificates ORDER BY issued_at ${C}, id ${C}`)).rows.map(certificateFromRow);
  }

  async getMeta<T = unknown>(key: string): Promise<T | undefined> {
    const row = (await this.q('SELECT value FROM meta WHERE key = $1', [key])).rows[0];
    return row ? (JSON.parse(String(row.value)) as T) : undefined;
  }

  async noticesFor(assignmentId: string) {
    const r = await this.q(`SELECT notice_key, at FROM notices WHERE assignment_id = $1 ORDER BY at ${C}`, [assignmentId]);
    return r.rows.map((row) => ({ noticeKey: String(row.notice_key), at: String(row.at) }));
  }

  /**
   * A session-level advisory lock on a connection kept for the purpose: the server drops it the
   * moment that session ends, so a crashed run never blocks the next night and `ttlMs` is not
   * needed (it is only recorded, for display). The `locks` row says who held it; finding one left
   * by another holder means that holder ended without releasing, reported as `takenOver`.
   */
  async acquireLock(name: string, holder: string, now: Date, ttlMs: number): Promise<{ acquired: boolean; takenOver?: LockInfo }> {
    const held = this.locks.get(name);
    const record = async (q: Queryable) =>
      q.query(
        'INSERT INTO locks (name, holder, acquired_at, expires_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at_ms = excluded.expires_at_ms',
        [name, holder, now.toISOString(), now.getTime() + ttlMs],
      );
    if (held) {
      if (held.holder !== holder) return { acquired: false };
      try {
        await record(held.client);
      } catch (e) {
        throw this.wrap(e);
      }
      return { acquired: true };
    }
    const client = await this.connect();
    try {
      const r = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${ADVISORY.named}, hashtext($1)) AS ok`, [
        `${this.scope}/${name}`,
      ]);
      if (!r.rows[0]?.ok) {
        client.release();
        return { acquired: false };
      }
      const prev = (await client.query<Row>('SELECT holder, acquired_at, expires_at_ms FROM locks WHERE name = $1', [name])).rows[0];
      await record(client);
      // The session is gone, and the server has dropped the lock with it: forget it here too.
      const onError = (): void => {
        if (this.locks.get(name) === entry) {
          this.locks.delete(name);
          client.release(true);
        }
      };
      const entry: HeldLock = { holder, client, onError };
      this.locks.set(name, entry);
      client.on('error', onError);
      if (prev && String(prev.holder) !== holder) {
        return {
          acquired: true,
          takenOver: {
            name,
            holder: String(prev.holder),
            acquiredAt: String(prev.acquired_at),
            expiresAt: new Date(Number(prev.expires_at_ms)).toISOString(),
          },
        };
      }
      return { acquired: true };
    } catch (e) {
      // Destroy rather than return to the pool: a pooled connection must never carry the lock.
      client.release(true);
      throw this.wrap(e);
    }
  }

  async releaseLock(name: string, holder: string) {
    const held = this.locks.get(name);
    if (!held || held.holder !== holder) return;
    this.locks.delete(name);
    try {
      await held.client.query('DELETE FROM locks WHERE name = $1 AND holder = $2', [name, holder]);
      // Unlock explicitly: the session ends asynchronously, and the next holder may ask at once.
      await held.client.query('SELECT pg_advisory_unlock_all()');
      held.client.off('error', held.onError);
      held.client.release();
    } catch (e) {
      // Ending the session releases the lock whatever went wrong above.
      held.client.release(true);
      throw this.wrap(e);
    }
  }

  /** Raw rows for `store copy` (see copy.ts). */
  async exportRaw(table: RawTable, offset: number, limit: number): Promise<Row[]> {
    const spec = RAW_TABLES[table];
    const order = spec.order
      .split(', ')
      .map((c) => `${c} ${spec.ints.some((i) => i === c) ? '' : C}`)
      .join(', ');
    const r = await this.q(`SELECT ${spec.columns.join(', ')} FROM ${table} ORDER BY ${order} LIMIT $1 OFFSET $2`, [limit, offset]);
    return r.rows.map((row) => normaliseRow(table, row));
  }

  async importRaw(batches: AsyncIterable<RawBatch>): Promise<void> {
    await this.inTransaction(async (client) => {
      let journal = false;
      for await (const { table, rows } of batches) {
        const cols = RAW_TABLES[table].columns;
        // Bounded so one statement stays far below PostgreSQL's 65535 bind parameters.
        for (let i = 0; i < rows.length; i += 200) {
          const chunk = rows.slice(i, i + 200);
          const values = chunk.flatMap((row) => rawValues(table, row));
          const tuples = chunk.map((_, k) => `(${params(cols.length, k * cols.length + 1)})`).join(', ');
          await client.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples}`, values);
        }
        if (table === 'journal') journal = true;
      }
      if (journal) {
        // Explicit ids bypass the BIGSERIAL; move it past them so the next append does not collide.
        await client.query("SELECT setval(pg_get_serial_sequence('journal', 'id'), COALESCE((SELECT MAX(id) FROM journal), 0) + 1, false)");
      }
    });
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    // Give the locks up as a crash would: the locks row stays, so the next holder is told it took
    // over. Unlocked explicitly because the session itself ends asynchronously.
    for (const held of this.locks.values()) {
      await held.client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      held.client.release(true);
    }
    this.locks.clear();
    await this.pool.end();
  }
}
