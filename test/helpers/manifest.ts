import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export function tempDir(prefix = 'detailee-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A valid assignment manifest; override any part with a deep-ish merge of the top-level keys. */
export function manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    apiVersion: 'detailee/v1',
    kind: 'Assignment',
    id: 'irs-2025-0042',
    detailee: {
      givenName: 'Ada',
      familyName: 'Byron',
      email: 'ada.byron@home.example.gov',
      username: 'abyron',
      homeAgency: 'General Services Administration',
    },
    host: {
      agency: 'Internal Revenue Service',
      office: 'IT Modernization',
      sponsor: { name: 'Grace Hopper', email: 'grace.hopper@irs.example.gov' },
      approver: { name: 'Alan Turing', title: 'Chief Information Security Officer', email: 'alan.turing@irs.example.gov' },
    },
    agreement: { reference: 'MOU-2025-017' },
    purpose: 'Support IT modernisation of the account system.',
    term: { start: '2025-02-06', days: 120, timezone: 'America/New_York', renewals: { max: 1, days: 120 } },
    access: { ldap: { groups: ['modernization'] }, aws: { groups: [], policies: [] } },
    fti: { authorized: true, scope: 'anonymized extracts only' },
    prerequisites: {
      backgroundInvestigation: { tier: 'Tier 2', adjudicated: '2025-01-15' },
      disclosureTraining: '2025-01-20',
      confidentialityAgreement: '2025-01-21',
    },
  };
  return { ...base, ...overrides };
}

export function writeManifest(dir: string, doc: Record<string, unknown>, name = 'assignment.yaml'): string {
  const p = join(dir, name);
  writeFileSync(p, name.endsWith('.json') ? JSON.stringify(doc, null, 2) : stringify(doc));
  return p;
}

/**
 * Overrides for `manifest()` (or the world's signedManifest) giving a fresh detailee: its own id
 * and username, in both LDAP groups and the IAM read-only group the test servers create.
 */
export function detaileeDoc(id: string, username: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    detailee: { givenName: 'Ada', familyName: 'Byron', email: `${username}@gsa.example.gov`, username, homeAgency: 'GSA' },
    access: { ldap: { groups: ['modernization', 'analysts'] }, aws: { groups: ['detailee-readonly'], policies: [] } },
    ...extra,
  };
}
