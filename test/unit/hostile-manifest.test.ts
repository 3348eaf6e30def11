import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAmendment, loadAssignment, termOf } from '../../src/assignment/load.js';
import { assertPolicy, assignmentPolicy } from '../../src/assignment/policy.js';
import { InputError } from '../../src/errors.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';

/**
 * Manifests written to get something past the checks: control and bidirectional characters in
 * text, YAML 1.1 features, wrong types that must be named as such, and the admission policy.
 */
const dir = tempDir('detailee-hostile-');

function refusal(text: string, name = 'm.yaml'): InputError {
  const p = join(dir, name);
  writeFileSync(p, text);
  try {
    loadAssignment(p);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exit).toBe(2);
    return e as InputError;
  }
  throw new Error('expected the manifest to be refused');
}

const issuesOf = (e: InputError) => (e.details as { issues: { path: string; message: string }[] }).issues;

/** The example manifest with `path` (dotted) set to `value`. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const m = structuredClone(manifest());
  const keys = path.split('.');
  let node = m as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return m;
}

const TEXT_FIELDS = [
  'detailee.givenName',
  'detailee.familyName',
  'detailee.homeAgency',
  'host.agency',
  'host.office',
  'host.sponsor.name',
  'host.approver.name',
  'host.approver.title',
  'agreement.reference',
  'purpose',
  'fti.scope',
  'prerequisites.backgroundInvestigation.tier',
];

describe('control characters in manifest text', () => {
  const chars: [string, string][] = [
    ['\u0000', 'U\\+0000 NUL \\(C0 control\\)'],
    ['\r\n', 'U\\+000D carriage return'],
    ['\n', 'U\\+000A line feed'],
    ['\t', 'U\\+0009 tab'],
    ['\u001b', 'U\\+001B escape'],
    ['\u007f', 'U\\+007F DEL'],
    ['\u0085', 'U\\+0085 next line \\(C1 control\\)'],
    ['\u009b', 'U\\+009B \\(C1 control\\)'],
    ['\u202e', 'U\\+202E right-to-left override \\(bidirectional control\\)'],
    ['\u2066', 'U\\+2066 \\(bidirectional control\\)'],
    ['\u200f', 'U\\+200F \\(bidirectional control\\)'],
    ['\u2028', 'U\\+2028 line separator'],
  ];
  for (const field of TEXT_FIELDS) {
    it(`refuses each kind in ${field}, naming the field`, () => {
      for (const [c, named] of chars) {
        const p = writeManifest(dir, withField(field, `Ada${c}Byron`), 'cc.json');
        let err: InputError | undefined;
        try {
          loadAssignment(p);
        } catch (e) {
          err = e as InputError;
        }
        expect(err, `${field} ${JSON.stringify(c)}`).toBeInstanceOf(InputError);
        expect(err!.exit).toBe(2);
        expect(issuesOf(err!)).toContainEqual({ path: field, message: expect.stringMatching(new RegExp(`^contains the ${named}.* at character 4;`)) });
        expect(err!.message).toContain(`- ${field}: contains the `);
      }
    });
  }

  it('refuses escaped characters in YAML double-quoted text, and in lists and the username', () => {
    const yaml = stringify(manifest()).replace(/^purpose: .*$/m, 'purpose: "Support\\0IT"');
    expect(issuesOf(refusal(yaml))).toContainEqual({ path: 'purpose', message: expect.stringMatching(/U\+0000 NUL/) });
    const lists = writeManifest(dir, withField('access.ldap.groups', ['ok', 'bad\u202egroup']), 'list.json');
    expect(() => loadAssignment(lists)).toThrow(/access\.ldap\.groups\[1\]: contains the U\+202E/);
    const user = writeManifest(dir, withField('detailee.username', 'ab\u202eyron'), 'user.json');
    expect(() => loadAssignment(user)).toThrow(/detailee\.username: contains the U\+202E/);
  });

  it('refuses a block scalar, whose line break is a control character too', () => {
    const yaml = stringify(manifest()).replace(/^purpose: .*$/m, 'purpose: |\n  line one\n  line two');
    expect(issuesOf(refusal(yaml))[0]).toMatchObject({ path: 'purpose', message: expect.stringMatching(/line feed.*write it on one line/) });
  });

  it('accepts ordinary non-ASCII text (accents, CJK, right-to-left scripts without controls)', () => {
    const p = writeManifest(dir, withField('detailee.givenName', 'Zoë 李 עדה'), 'ok.json');
    expect(loadAssignment(p).doc.detailee.givenName).toBe('Zoë 李 עדה');
  });

  it('refuses control characters in amendments too', () => {
    const p = join(dir, 'amend.yaml');
    writeFileSync(p, stringify({ apiVersion: 'detailee/v1', kind: 'Amendment', assignment: 'irs-2025-0042', renewalDays: 30, reason: 'extend\u202e' }));
    expect(() => loadAmendment(p)).toThrow(/reason: contains the U\+202E/);
  });
});

describe('YAML 1.2 core schema only', () => {
  const base = stringify(manifest());

  it('refuses a %YAML 1.1 directive, naming it', () => {
    const e = refusal(`%YAML 1.1\n---\n${base}`);
    expect(e.code).toBe('document.yaml-version');
    expect(e.message).toMatch(/declares %YAML 1\.1, and only YAML 1\.2 \(core schema\) is read/);
    expect(() => loadAssignment(writeManifestText(`%YAML 1.2\n---\n${base}`))).not.toThrow();
  });

  it('refuses merge keys, with their line', () => {
    const yaml = `${base}x-person: &p {name: Grace Hopper, email: g@irs.example.gov}\n`.replace(/^host:\n/m, 'host:\n  <<: {agency: X}\n');
    const e = refusal(yaml);
    expect(e.code).toBe('document.merge-key');
    expect(e.message).toMatch(/\(line \d+, column 3\): merge keys \(<<\) are not YAML 1\.2/);
    // A quoted "<<" is an ordinary key, which the schema then refuses as unknown.
    expect(refusal(base.replace(/^host:\n/m, 'host:\n  "<<": {agency: X}\n')).message).toMatch(/Unrecognized key: "<<"/);
  });

  it('refuses duplicate keys in YAML and in JSON', () => {
    expect(refusal(base.replace(/^purpose: (.*)$/m, 'purpose: $1\npurpose: other')).message).toMatch(/Map keys must be unique/);
    expect(refusal(`{"id": "a", "id": "b"}`, 'dup.json').message).toMatch(/Map keys must be unique/);
  });

  it('reads 1:30 as text and 2025-02-06 as a date string, never sexagesimal or a timestamp', () => {
    const e = refusal(base.replace(/^purpose: .*$/m, 'purpose: 1:30').replace(/^ {2}days: 120$/m, '  days: 1:30'));
    expect(issuesOf(e)).toContainEqual({ path: 'term.days', message: expect.stringMatching(/whole number/) });
  });

  it('refuses explicit tags such as !!timestamp, !!binary and local tags', () => {
    for (const tag of ['!!timestamp', '!!binary', '!custom', '!!set']) {
      const e = refusal(base.replace(/^purpose: .*$/m, `purpose: ${tag} x`));
      expect(e.code, tag).toBe('document.tag');
      expect(e.message).toMatch(/explicit tags are not read/);
    }
  });

  it('refuses a mapping key that is a list or mapping', () => {
    expect(refusal(`${base}? [a, b]\n: 1\n`).code).toBe('document.key');
  });
});

describe('type messages', () => {
  it('a numeric tier says "must be text", not "is required"', () => {
    const e = refusal(stringify(withField('prerequisites.backgroundInvestigation.tier', 2)));
    expect(issuesOf(e)).toEqual([{ path: 'prerequisites.backgroundInvestigation.tier', message: 'must be text, not a number (quote it: "...")' }]);
  });

  it('a missing tier says "is required"; a list says "must be text, not a list"', () => {
    const m = withField('prerequisites.backgroundInvestigation', { adjudicated: '2025-01-15' });
    expect(issuesOf(refusal(stringify(m)))).toEqual([{ path: 'prerequisites.backgroundInvestigation.tier', message: 'is required' }]);
    expect(issuesOf(refusal(stringify(withField('purpose', ['a'])))) [0]!.message).toMatch(/must be text, not a list/);
  });
});

describe('admission policy (assignment verify and onboard)', () => {
  const load = (m: Record<string, unknown>) => loadAssignment(writeManifest(dir, m, 'policy.json')).doc;
  const NOW = new Date('2025-02-01T15:00:00Z');

  it('accepts the example manifest before its start', () => {
    const doc = load(manifest());
    expect(assignmentPolicy(doc, termOf(doc, { timezone: 'America/New_York' }), NOW)).toEqual([]);
  });

  it('refuses a prerequisite dated in the future, even when it precedes the start', () => {
    const doc = load(withField('term.start', '2025-03-01'));
    doc.prerequisites.confidentialityAgreement = '2025-02-02';
    expect(assignmentPolicy(doc, termOf(doc, { timezone: 'America/New_York' }), NOW)).toEqual([
      { field: 'prerequisites.confidentialityAgreement', message: expect.stringMatching(/\(2025-02-02\) is in the future \(today is 2025-02-01\)/) },
    ]);
  });

  it('counts "today" in the term zone: 2025-02-02 is today in Tokyo at 15:00Z on 1 February', () => {
    const doc = load(withField('term', { start: '2025-03-01', timezone: 'Asia/Tokyo' }));
    doc.prerequisites.confidentialityAgreement = '2025-02-02';
    expect(assignmentPolicy(doc, termOf(doc, { timezone: 'UTC' }), NOW)).toEqual([]);
  });

  it('refuses a start more than a year ahead; a start exactly a year ahead is accepted', () => {
    const far = load(withField('term.start', '2026-02-02'));
    const problems = assignmentPolicy(far, termOf(far, { timezone: 'UTC' }), NOW);
    expect(problems).toEqual([{ field: 'term.start', message: 'term.start (2026-02-02) is more than 1 year ahead of today (2025-02-01); the latest start accepted today is 2026-02-01' }]);
    const edge = load(withField('term.start', '2026-02-01'));
    expect(assignmentPolicy(edge, termOf(edge, { timezone: 'UTC' }), NOW)).toEqual([]);
    expect(() => assertPolicy(far, termOf(far, { timezone: 'UTC' }), NOW, 'onboarded')).toThrow(expect.objectContaining({ exit: 2, code: 'assignment.policy' }));
  });

  it('refuses missing and after-start prerequisites, each named', () => {
    const doc = load(withField('prerequisites', { disclosureTraining: '2025-01-20', confidentialityAgreement: '2025-02-07' }));
    const problems = assignmentPolicy(doc, termOf(doc, { timezone: 'UTC' }), new Date('2025-03-01T00:00:00Z'));
    expect(problems.map((p) => p.field)).toEqual(['prerequisites.backgroundInvestigation.adjudicated', 'prerequisites.confidentialityAgreement']);
    expect(problems[1]!.message).toMatch(/is after the term start \(2025-02-06\)/);
  });
});

function writeManifestText(text: string): string {
  const p = join(dir, 'text.yaml');
  writeFileSync(p, text);
  return p;
}
