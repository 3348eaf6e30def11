import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSchemas } from '../../scripts/schemas.js';
import { jsonOutputProblems, schemaNameFor } from '../helpers/json-schemas.js';

const root = join(import.meta.dirname, '..', '..');

describe('the JSON Schemas of --json outputs (schemas/)', () => {
  it('are what the TypeScript types say: a changed type is a reviewed diff of schemas/ (npm run schemas)', () => {
    const want = buildSchemas(root);
    const have = readdirSync(join(root, 'schemas')).filter((f) => f.endsWith('.schema.json')).sort();
    expect(have).toEqual([...want.keys()].sort());
    for (const [f, text] of want) expect(readFileSync(join(root, 'schemas', f), 'utf8'), f).toBe(text);
  }, 120_000);

  it('cover every command that takes --json, and the error envelope', () => {
    const commands = readdirSync(join(root, 'commands'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3).replaceAll('/', ' '));
    for (const c of commands) expect(schemaNameFor([...c.split(' '), '--json']), c).toBe(c.replaceAll(' ', '-'));
  });

  it('refuse an output that strays from its type: a missing key, a key too many, a wrong type, an unknown state', () => {
    const row = { id: 'a', username: 'u', state: 'active', display: 'active', start: '2025-01-06', lastDay: '2025-05-05', endsAt: '2025-05-06T00:00:00-04:00', daysLeft: 3, renewalsLeft: 1, nextAction: 'none' };
    expect(jsonOutputProblems(['status', '--json'], [row])).toEqual([]);
    const { nextAction: _n, ...missing } = row;
    expect(jsonOutputProblems(['status', '--json'], [missing]).join()).toMatch(/nextAction/);
    expect(jsonOutputProblems(['status', '--json'], [{ ...row, extra: 1 }]).join()).toMatch(/extra/);
    expect(jsonOutputProblems(['status', '--json'], [{ ...row, daysLeft: '3' }]).join()).toMatch(/daysLeft/);
    expect(jsonOutputProblems(['status', '--json'], [{ ...row, state: 'paused' }]).join()).toMatch(/state/);
    // Any command's failure is the error envelope.
    expect(jsonOutputProblems(['show', 'x', '--json'], { error: { code: 'assignment.unknown', message: 'm', exit: 2, fault: 'user', actions: [] } })).toEqual([]);
    expect(jsonOutputProblems(['show', 'x', '--json'], { error: { message: 'm', exit: 2 } }).join()).toMatch(/code/);
  });
});
