import type { Pool, PoolClient, PoolConfig } from 'pg';
import { redactUrl } from '../config/resolve.js';
import { ActionError, DetaileeError, InputError } from '../errors.js';
import type { Dialect, Row, SqlDriver, SqlSession } from './driver.js';
import { SqlStore } from './sql-store.js';
import { StoreConflictError } from './types.js';

/**
 * The advisory-lock class of `exclusive` (the first key of the two-key form). The second key
 * hashes the schema and the name, so two stores sharing one database (one schema each) never
 * serialise each other, and the one-key space stays free for anything else on the server.
 */
const EXCLUSIVE_CLASS = 0x44540002;

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


/** `?` placeholders to pg's `$n`, skipping quoted text; the store's statements are a fixed set, so each is converted once. */
const numbered = new Map<string, string>();
function numberPlaceholders(sql: string): string {
  let out = numbered.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  out = sql.replace(/'(?:[^']|'')*'|"(?:[^"])*"|\?/g, (m) => (m === '?' ? `$${++n}` : m));
  numbered.set(sql, out);
  return out;
}

function postgresDialect(schema: string | undefined): Dialect {
  return {
    kind: 'postgres',
    // PostgreSQL sorts text by the database locale; "C" matches SQLite's byte order.
    bytes: ' COLLATE "C"',
    jsonText: (column, path) => `(${column}::jsonb #>> '{${path.join(',')}}')`,
    tableExists: 'SELECT 1 AS has WHERE to_regclass(?) IS NOT NULL',
    beforeMigrate: schema ? `CREATE SCHEMA IF NOT EXISTS "${schema}"` : undefined,
    // Explicit ids bypass the BIGSERIAL; move it past them so the next append does not collide.
    afterJournalImport: "SELECT setval(pg_get_serial_sequence('journal', 'id'), COALESCE((SELECT MAX(id) FROM journal), 0) + 1, false)",
  };
}

/** pg beneath the store: a pool; a transaction is BEGIN … COMMIT on one pooled session. */
class PostgresDriver implements SqlDriver {
  readonly dialect: Dialect;
  readonly location: string;
  private readonly pool: Pool;
  private readonly secret: string | undefined;
  /** The schema every `exclusive` name is scoped to. */
  scope = '';
  private closed = false;

  constructor(pool: Pool, location: string, schema: string | undefined, secret: string | undefined) {
    this.pool = pool;
    this.location = location;
    this.secret = secret;
    this.scope = schema ?? '';
    this.dialect = postgresDialect(schema);
  }

  wrap(e: unknown): unknown {
    return wrapPgError(e, this.location, this.secret);
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query<Row>(numberPlaceholders(sql), params as unknown[])).rows;
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async arrays(sql: string, params: readonly unknown[] = []): Promise<unknown[][]> {
    try {
      return (await this.pool.query<unknown[]>({ text: numberPlaceholders(sql), values: params as unknown[], rowMode: 'array' })).rows;
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return (await this.pool.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0;
    } catch (e) {
      throw this.wrap(e);
    }
  }

  /** ROLLBACK on any throw, and drop the connection if even that fails. */
  async transaction<T>(body: (s: SqlSession) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`the store ${this.location} is closed`);
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw this.wrap(e);
    }
    // A checked-out connection that dies between queries emits 'error'; unheard, that would end
    // the process. The next query reports the failure instead.
    const onError = (): void => undefined;
    client.on('error', onError);
    const session: SqlSession = {
      all: async (sql, params = []) => (await client.query<Row>(numberPlaceholders(sql), params as unknown[])).rows,
      run: async (sql, params = []) => (await client.query(numberPlaceholders(sql), params as unknown[])).rowCount ?? 0,
      exec: async (sql) => {
        await client.query(sql);
      },
      exclusive: async (name) => {
        await client.query(`SELECT pg_advisory_xact_lock(${EXCLUSIVE_CLASS}, hashtext($1))`, [`${this.scope}/${name}`]);
      },
    };
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await body(session);
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** The shared store. */
export class PostgresStore extends SqlStore {
  static async open(url: string, options: { migrate?: boolean } = {}): Promise<PostgresStore> {
    const { location, secret } = printableUrl(url);
    const { connectionString, schema } = withSchema(url, location);
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ ...(await connectionConfig(connectionString, location)), max: 10, connectionTimeoutMillis: 30_000 });
    // An idle pooled connection that dies (server restart) is dropped by the pool; without a
    // listener the 'error' event would crash the process instead.
    pool.on('error', () => undefined);
    const driver = new PostgresDriver(pool, location, schema, secret);
    try {
      if (schema === undefined) driver.scope = String((await driver.all('SELECT current_schema() AS s'))[0]?.s ?? '');
      return await new PostgresStore(driver).ready(options.migrate === true);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw driver.wrap(e);
    }
  }
}
