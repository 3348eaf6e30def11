import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allowedExits, parseRegistry, scanErrorCodes, type CodeUse, type RegistryRow } from '../../scripts/error-codes.js';

/**
 * docs/errors.md is the registry scripts rely on. The source is read (TypeScript's own parser and
 * type checker), so a code added, renamed, dropped or raised with another exit shows up here
 * until the table says so: every change to a code is a reviewed diff of that file.
 */
const root = join(import.meta.dirname, '..', '..');
let uses: CodeUse[];
let rows: RegistryRow[];

beforeAll(() => {
  uses = scanErrorCodes(root);
  rows = parseRegistry(readFileSync(join(root, 'docs', 'errors.md'), 'utf8'));
}, 120_000);

describe('the error code registry (docs/errors.md)', () => {
  it('the scan finds the codes it must (a scan that finds nothing would pass everything)', () => {
    const codes = new Set(uses.map((u) => u.code));
    for (const c of ['manifest.invalid', 'certificate.signature', 'assignment.locked', 'usage', 'internal', 'fti.list-scope', 'status.state']) expect(codes, c).toContain(c);
    expect(codes.size).toBeGreaterThan(150);
    expect(uses.find((u) => u.code === 'certificate.signature')?.exit).toBe(3);
    expect(uses.find((u) => u.code === 'assignment.locked')?.exit).toBe(4);
  });

  it('lists every code the source raises', () => {
    const listed = new Set(rows.map((r) => r.code));
    const missing = [...new Set(uses.filter((u) => !listed.has(u.code)).map((u) => `${u.code} (${u.file}:${u.line})`))];
    expect(missing, 'add these rows to docs/errors.md (node scripts/error-codes.ts prints them)').toEqual([]);
  });

  it('names no code that nothing raises any more, and each code once', () => {
    const raised = new Set(uses.map((u) => u.code));
    expect(rows.filter((r) => !raised.has(r.code)).map((r) => r.code)).toEqual([]);
    const seen = new Set<string>();
    expect(rows.filter((r) => seen.size === seen.add(r.code).size).map((r) => r.code)).toEqual([]);
  });

  it('gives each code the exit it is raised with, and a fix', () => {
    const wrong: string[] = [];
    for (const u of uses) {
      const row = rows.find((r) => r.code === u.code);
      if (!row || u.exit === undefined) continue;
      const allowed = allowedExits(row);
      if (allowed !== 'any' && !allowed.includes(u.exit)) wrong.push(`${u.code}: raised with exit ${u.exit} at ${u.file}:${u.line}, listed as ${row.exit}`);
    }
    expect(wrong).toEqual([]);
    expect(rows.filter((r) => r.fix.length < 10).map((r) => r.code)).toEqual([]);
    expect(rows.map((r) => r.code)).toEqual([...rows.map((r) => r.code)].sort((a, b) => a.localeCompare(b)));
  });
});
