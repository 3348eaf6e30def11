// Fill a store with synthetic assignments (and audit events) through the Store interface.
import { ROOT } from './lib.mjs';
import { join } from 'node:path';

const { openStore } = await import(join(ROOT, 'dist/src/store/open.js'));
const { computeTerm } = await import(join(ROOT, 'dist/src/assignment/term.js'));

function record(i, { start, days }) {
  const id = `bench-${String(i).padStart(7, '0')}`;
  const term = computeTerm(start, days, 'America/New_York');
  return {
    id,
    state: 'active',
    username: `u${i}`,
    manifest: {
      apiVersion: 'detailee/v1', kind: 'Assignment', id,
      detailee: { givenName: 'Bench', familyName: `User${i}`, email: `u${i}@example.gov`, username: `u${i}`, homeAgency: 'GSA' },
      host: { agency: 'IRS', office: 'IT', sponsor: { name: 'S', email: 's@example.gov' }, approver: { name: 'A', title: 'CISO', email: 'a@example.gov' } },
      agreement: { reference: 'MOU-1' }, purpose: 'benchmark',
      term: { start, days, timezone: 'America/New_York', renewals: { max: 1, days: 120 } },
      access: { ldap: { groups: [] }, aws: { groups: [], policies: [] } },
      fti: { authorized: false }, prerequisites: {},
    },
    manifestSha256: '0'.repeat(64), signers: [{ name: 'bench', role: 'approver', form: 'jws' }],
    term, renewalsUsed: 0, renewalsMax: 1, createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z', version: 1,
    data: { provisioned: true },
  };
}

/** n assignments starting `start`, each with one audit event; the first `due` end before the others. */
export async function seedAssignments(url, n, { start = '2025-02-06', days = 120, due = 0, dueStart = '2024-01-01' } = {}) {
  const store = await openStore(url, { migrate: true });
  const BATCH = 1000;
  for (let i = 0; i < n; i += BATCH) {
    await store.transaction(async (tx) => {
      for (let j = i; j < Math.min(n, i + BATCH); j++) {
        const rec = record(j, j < due ? { start: dueStart, days: 10 } : { start, days });
        await tx.insertAssignment(rec);
        await tx.appendAudit({ at: rec.createdAt, actor: 'bench', kind: 'assignment.onboarded', assignmentId: rec.id, details: {} });
      }
    });
  }
  await store.close();
}

/** n bare audit events; `details(j)` is each one's details (stored as JSON.stringify writes them). */
export async function seedAudit(url, n, details = (j) => ({ j })) {
  const store = await openStore(url, { migrate: true });
  const BATCH = 10_000;
  for (let i = 0; i < n; i += BATCH) {
    await store.transaction(async (tx) => {
      for (let j = i; j < Math.min(n, i + BATCH); j++) {
        await tx.appendAudit({ at: '2025-01-01T00:00:00.000Z', actor: 'bench', kind: 'bench.event', assignmentId: `bench-${j % 1000}`, details: details(j) });
      }
    });
  }
  await store.close();
}
