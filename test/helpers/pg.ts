import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Client, QueryResultRow } from 'pg';
import type { Assignment } from '../../src/assignment/schema.js';
import { computeTerm } from '../../src/assignment/term.js';
import type { AssignmentRecord, AssignmentState } from '../../src/store/types.js';

const HOST = process.env.DETAILEE_TEST_PGHOST ?? '127.0.0.1';
const PORT = process.env.DETAILEE_TEST_PGPORT ?? '5432';
const DATABASE = 'test';

export interface TestSchema {
  /** A store URL whose connections all land in the schema (`?schema=`). */
  url: string;
  schema: string;
  user: string;
  /** Run SQL in the schema outside any store, e.g. to tamper with rows. */
  query<R extends QueryResultRow = QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

async function client(user: string, schema?: string): Promise<Client> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({
    host: HOST,
    port: Number(PORT),
    user,
    database: DATABASE,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  await c.connect();
  return c;
}

let cachedUser: string | undefined;

/** `postgres` on a stock server, the OS user where the server was set up for it. */
async function adminClient(): Promise<{ c: Client; user: string }> {
  const candidates = cachedUser ? [cachedUser] : ['postgres', userInfo().username];
  let last: unknown;
  for (const user of candidates) {
    try {
      const c = await client(user);
      cachedUser = user;
      return { c, user };
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`cannot reach PostgreSQL at ${HOST}:${PORT}/${DATABASE} as ${candidates.join(' or ')}: ${String(last)}`);
}

/** A fresh schema per call, so parallel test files and repeated runs never see each other's rows. */
export async function createTestSchema(): Promise<TestSchema> {
  const schema = `t_${process.pid}_${randomBytes(5).toString('hex')}`;
  const { c, user } = await adminClient();
  try {
    await c.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await c.end();
  }
  return {
    url: `postgres://${encodeURIComponent(user)}@${HOST}:${PORT}/${DATABASE}?schema=${schema}`,
    schema,
    user,
    async query<R extends QueryResultRow = QueryResultRow>(sql: string, values: unknown[] = []) {
      const sc = await client(user, schema);
      try {
        return (await sc.query<R>(sql, values)).rows;
      } finally {
        await sc.end();
      }
    },
    async drop() {
      const d = await client(user);
      try {
        await d.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await d.end();
      }
    },
  };
}

/** A minimal valid assignment record; the store treats the manifest as opaque JSON. */
export function makeRecord(
  id: string,
  opts: { state?: AssignmentState; start?: string; days?: number; username?: string; timezone?: string } = {},
): AssignmentRecord {
  const timezone = opts.timezone ?? 'America/New_York';
  const start = opts.start ?? '2025-01-06';
  const days = opts.days ?? 120;
  const username = opts.username ?? `u${id.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 32);
  const manifest: Assignment = {
    apiVersion: 'detailee/v1',
    kind: 'Assignment',
    id,
    detailee: { givenName: 'Ada', familyName: 'Lovelace', email: 'ada@example.org', username, homeAgency: 'Home' },
    host: {
      agency: 'Host',
      office: 'Office',
      sponsor: { name: 'Sponsor', email: 'sponsor@example.org' },
      approver: { name: 'Approver', title: 'Director', email: 'approver@example.org' },
    },
    agreement: { reference: 'MOU-1' },
    purpose: 'testing',
    term: { start, days, timezone, renewals: { max: 1, days: 120 } },
    access: { ldap: { groups: [] }, aws: { groups: [], policies: [] } },
    fti: { authorized: false },
    prerequisites: {},
  };
  return {
    id,
    state: opts.state ?? 'active',
    username,
    manifest,
    manifestSha256: 'a'.repeat(64),
    signers: [{ name: 'approver', role: 'approver', form: 'jws' }],
    term: computeTerm(start, days, timezone),
    renewalsUsed: 0,
    renewalsMax: 1,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    version: 1,
    data: {},
  };
}
