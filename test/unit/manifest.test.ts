import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAssignment, loadAmendment } from '../../src/assignment/load.js';
import { InputError } from '../../src/errors.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';

const dir = tempDir();

function refused(doc: Record<string, unknown> | string, name = 'a.yaml'): InputError {
  const p = typeof doc === 'string' ? join(dir, name) : writeManifest(dir, doc, name);
  if (typeof doc === 'string') writeFileSync(p, doc);
  try {
    loadAssignment(p);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exit).toBe(2);
    return e as InputError;
  }
  throw new Error('expected the manifest to be refused');
}

describe('assignment manifest v1', () => {
  it('accepts a valid YAML and JSON manifest and applies defaults', () => {
    const m = manifest();
    const t = m.term as Record<string, unknown>;
    delete t.days;
    delete t.renewals;
    const y = loadAssignment(writeManifest(dir, m, 'ok.yaml'));
    expect(y.doc.term.days).toBe(120);
    expect(y.doc.term.renewals).toEqual({ max: 1, days: 120 });
    const j = loadAssignment(writeManifest(dir, manifest(), 'ok.json'));
    expect(j.doc.id).toBe('irs-2025-0042');
    expect(j.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads an unquoted YAML date as the date it spells', () => {
    writeFileSync(join(dir, 'date.yaml'), writeManifestText().replace("start: '2025-02-06'", 'start: 2025-02-06'));
    expect(loadAssignment(join(dir, 'date.yaml')).doc.term.start).toBe('2025-02-06');
  });

  it('refuses malformed YAML and JSON with the position', () => {
    expect(refused('id: [unclosed\n', 'bad.yaml').message).toMatch(/not valid YAML or JSON \(line \d+/);
    expect(refused('{"id": ', 'bad.json').message).toMatch(/not valid YAML or JSON/);
  });

  it('refuses an unknown apiVersion or kind', () => {
    expect(refused(manifest({ apiVersion: 'detailee/v2' })).message).toMatch(/apiVersion: must be "detailee\/v1"/);
    expect(refused(manifest({ kind: 'Amendment' })).message).toMatch(/kind: must be "Assignment"/);
  });

  it('names each missing required field', () => {
    const m = manifest();
    delete m.purpose;
    delete (m.detailee as Record<string, unknown>).email;
    const msg = refused(m).message;
    expect(msg).toMatch(/purpose:/);
    expect(msg).toMatch(/detailee\.email:/);
  });

  it.each(['a*b', 'a(b', 'a)b', 'a\\b', 'a,b', 'a=b', 'a+b', 'a<b', 'a>b', 'a#b', 'a;b', 'a"b', 'Abyron', 'a'.repeat(33)])(
    'refuses username %j',
    (u) => {
      const m = manifest();
      (m.detailee as Record<string, unknown>).username = u;
      expect(refused(m).message).toMatch(/detailee\.username: must be 1–32 characters/);
    },
  );

  it.each(['a/b', '../etc', 'a..b', '.hidden', ''])('refuses id %j', (id) => {
    expect(refused(manifest({ id })).message).toMatch(/^[\s\S]*id: /m);
  });

  it.each([0, 121, -5, 1.5])('refuses term.days %s', (days) => {
    const m = manifest();
    (m.term as Record<string, unknown>).days = days;
    expect(refused(m).message).toMatch(/term\.days: must be/);
  });

  it('refuses an unknown time zone and a start that is not a date', () => {
    const m = manifest();
    (m.term as Record<string, unknown>).timezone = 'Mars/Olympus_Mons';
    expect(refused(m).message).toMatch(/term\.timezone: is not a known IANA time zone/);
    const n = manifest();
    (n.term as Record<string, unknown>).start = '2025-02-30';
    expect(refused(n).message).toMatch(/term\.start: is not a calendar date/);
    const o = manifest();
    (o.term as Record<string, unknown>).start = 'next tuesday';
    expect(refused(o).message).toMatch(/term\.start: must be a date/);
  });

  it('refuses unknown fields, so a typo cannot silently fall back to a default', () => {
    expect(refused(manifest({ termm: {} })).message).toMatch(/termm|Unrecognized key/);
  });

  it('refuses NUL bytes, non-UTF-8 and alias bombs', () => {
    expect(refused('id: a\u0000b\n', 'nul.yaml').message).toMatch(/NUL byte/);
    const p = join(dir, 'latin1.yaml');
    writeFileSync(p, Buffer.from([0x69, 0x64, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(() => loadAssignment(p)).toThrow(/not valid UTF-8/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    expect(refused(bomb.join('\n'), 'bomb.yaml').message).toMatch(/anchors|alias|Excessive/i);
  });

  it('validates amendments', () => {
    const p = writeManifest(dir, { apiVersion: 'detailee/v1', kind: 'Amendment', assignment: 'irs-2025-0042', renewalDays: 120, reason: 'extended' }, 'am.yaml');
    expect(loadAmendment(p).doc.renewalDays).toBe(120);
    const q = writeManifest(dir, { apiVersion: 'detailee/v1', kind: 'Amendment', assignment: 'irs-2025-0042', renewalDays: 121, reason: 'x' }, 'am2.yaml');
    expect(() => loadAmendment(q)).toThrow(/renewalDays: must be at most 120/);
  });
});

function writeManifestText(): string {
  const p = writeManifest(dir, manifest(), 'text.yaml');
  return readFileSync(p, 'utf8');
}
