import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, prepare, type StepOutput } from '../helpers/scenario.js';
import { checkAnswers } from '../../src/offboarding/rules.js';
import type { FtiEntry } from '../../src/offboarding/fti.js';
import { CORPUS, corpusFile } from '../helpers/corpus.js';
import { tempDir } from '../helpers/manifest.js';
import type { Moto } from '../helpers/moto.js';
import { startCliServers } from '../helpers/servers.js';
import type { Slapd } from '../helpers/slapd.js';

/**
 * Every hostile input in test/corpus/cases.yaml, through the built CLI, against a real slapd and
 * moto holding one good, onboarded assignment. A refusal counts only if it has the documented exit
 * code, names the problem, and leaves every kind of state exactly as it was: a tool that prints
 * the right error after writing half a change has not refused anything.
 */

/** The good assignment is active, its FTI received; answers dated 2025-04-10 are in the past. */
const NOW = '2025-04-15T15:00:00Z';
const GOOD_ID = 'irs-2025-0042';

interface Case {
  name: string;
  file?: string;
  sign?: boolean;
  config?: string;
  args: string[];
  env?: Record<string, string>;
  json?: boolean;
  exit: number;
  message: string;
  forbid?: string[];
  absent?: string[];
}

const cases = (parse(readFileSync(join(CORPUS, 'cases.yaml'), 'utf8')) as { cases: Case[] }).cases;

let slapd: Slapd;
let moto: Moto;
let dir: string;
let approverKey: string;
let goodManifest: string;

beforeAll(async () => {
  const started = await startCliServers();
  ({ slapd, moto } = started);
  dir = tempDir('detailee-bad-input-');
  const prepared = prepare(dir, started.servers);
  goodManifest = prepared.manifest;
  approverKey = prepared.approverKey;
  // The corpus's signatures were made with this fixed key, so it must be the trusted one.
  copyFileSync(join(CORPUS, 'keys', 'test-approver.pem'), approverKey);
  chmodSync(approverKey, 0o600);
  copyFileSync(join(CORPUS, 'keys', 'test-approver.pub.pem'), join(dir, 'keys', 'alan.turing.pub.pem'));

  const setup = (args: string[], now: string) => {
    const r = cli(dir, [...args, '--json'], now);
    expect(r.exit, `${args.join(' ')}: ${JSON.stringify(r.json)} ${r.stderr}`).toBe(0);
    return r;
  };
  setup(['assignment', 'sign', goodManifest, '--key', approverKey, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z');
  setup(['onboard', goodManifest, '--yes'], '2025-02-05T15:00:00Z');
  const fti = (media: string, received: string) =>
    setup(
      ['fti', 'record', GOOD_ID, '--description', `extract on ${media}`, '--type', 'return transcripts', '--tax-years', '2021', '--records', '10', '--media', media, '--location', 'Bldg 2, Room 114', '--received', received],
      `${received}T16:00:00Z`,
    );
  fti('paper', '2025-03-03');
  fti('ssd', '2025-04-01');
  fti('usb', '2025-04-01');
}, 180_000);

afterAll(async () => {
  await Promise.all([slapd?.stop(), moto?.stop()]);
});

// ── State: everything a refused command must leave alone ─────────────────────────────────────────

function storeState(): Record<string, unknown> {
  const db = new DatabaseSync(join(dir, 'detailee.db'), { readOnly: true });
  try {
    const all = (sql: string) => db.prepare(sql).all();
    return {
      auditHead: all('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
      auditCount: all('SELECT COUNT(*) AS n FROM audit'),
      assignments: all('SELECT * FROM assignments ORDER BY id'),
      fti: all('SELECT * FROM fti ORDER BY assignment_id, id'),
      certificates: all('SELECT * FROM certificates ORDER BY id'),
      notices: all('SELECT * FROM notices ORDER BY assignment_id, notice_key'),
      journal: all('SELECT COUNT(*) AS n, MAX(id) AS last FROM journal'),
      meta: all('SELECT * FROM meta ORDER BY key'),
      locks: all('SELECT * FROM locks ORDER BY name'),
    };
  } finally {
    db.close();
  }
}

function fileState(): Record<string, unknown> {
  const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  const listing = (d: string) => (existsSync(d) ? readdirSync(d).sort() : null);
  return {
    config: digest(join(dir, 'detailee.yaml')),
    signingKey: digest(join(dir, 'keys', 'certificate-signing.pem')),
    keys: listing(join(dir, 'keys')),
    outbox: listing(join(dir, 'outbox')),
    certificates: listing(join(dir, 'certificates')),
    top: readdirSync(dir)
      .filter((f) => f !== 'cases' && !f.startsWith('detailee.db'))
      .sort(),
  };
}

/** Every entry in the directory with operational attributes: a modifyTimestamp or entryCSN moves on any write. */
async function ldapState(): Promise<unknown> {
  const r = await slapd.admin((c) => c.search(slapd.suffix, { scope: 'sub', attributes: ['*', '+'] }));
  return r.searchEntries.map((e) => JSON.parse(JSON.stringify(e)) as unknown).sort((a, b) => String((a as { dn: string }).dn).localeCompare(String((b as { dn: string }).dn)));
}

async function iamState(): Promise<unknown> {
  const sdk = await import('@aws-sdk/client-iam');
  const c = await moto.iam();
  try {
    const users = (await c.send(new sdk.ListUsersCommand({}))).Users ?? [];
    const out = [];
    for (const u of users.sort((a, b) => (a.UserName ?? '').localeCompare(b.UserName ?? ''))) {
      const UserName = u.UserName!;
      const user = (await c.send(new sdk.GetUserCommand({ UserName }))).User;
      const inline = (await c.send(new sdk.ListUserPoliciesCommand({ UserName }))).PolicyNames ?? [];
      const documents = [];
      for (const PolicyName of inline) documents.push((await c.send(new sdk.GetUserPolicyCommand({ UserName, PolicyName }))).PolicyDocument);
      const profile = await c.send(new sdk.GetLoginProfileCommand({ UserName })).then(
        () => true,
        () => false,
      );
      out.push({
        user: { ...user, CreateDate: undefined, PasswordLastUsed: undefined },
        tags: (await c.send(new sdk.ListUserTagsCommand({ UserName }))).Tags,
        inline,
        documents,
        attached: (await c.send(new sdk.ListAttachedUserPoliciesCommand({ UserName }))).AttachedPolicies,
        groups: ((await c.send(new sdk.ListGroupsForUserCommand({ UserName }))).Groups ?? []).map((g) => g.GroupName),
        keys: ((await c.send(new sdk.ListAccessKeysCommand({ UserName }))).AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId, k.Status]),
        profile,
      });
    }
    return out;
  } finally {
    c.destroy();
  }
}

async function snapshot() {
  const [ldap, iam] = await Promise.all([ldapState(), iamState()]);
  return { store: storeState(), files: fileState(), ldap, iam };
}

// ── Running one case ──────────────────────────────────────────────────────────────────────────────

function caseDir(name: string): string {
  const d = join(dir, 'cases', name.replace(/[^A-Za-z0-9._-]/g, '__'));
  mkdirSync(d, { recursive: true });
  return d;
}

function render(template: string): string {
  const values: Record<string, string> = {
    dir,
    ldapUrl: slapd.url,
    bindDN: slapd.bindDN,
    peopleDN: slapd.peopleDN,
    groupsDN: slapd.groupsDN,
    awsEndpoint: moto.endpoint,
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`unknown placeholder {{${k}}}`);
    return values[k]!;
  });
}

function expand(args: string[], vars: Record<string, string>): string[] {
  return args.map((a) =>
    a.replace(/\{(\w+)\}/g, (whole, k: string) => {
      if (!(k in vars)) throw new Error(`unknown placeholder ${whole}`);
      return vars[k]!;
    }),
  );
}

/** With --json the error is the one document on stdout; without it, the message is on stderr. */
function messageOf(c: Case, r: StepOutput): string {
  if (c.json === false) return r.stderr;
  const doc = r.json as { error?: { message?: string } } | string;
  if (typeof doc === 'object' && doc !== null && doc.error?.message !== undefined) return doc.error.message;
  return JSON.stringify(doc);
}

function runCase(c: Case): { r: StepOutput; vars: Record<string, string> } {
  const work = caseDir(c.name);
  const vars: Record<string, string> = {
    corpus: CORPUS,
    dir,
    work,
    good: goodManifest,
    goodsig: `${goodManifest}.jws`,
    key: approverKey,
  };
  if (c.file) {
    vars.file = join(work, basename(c.file));
    copyFileSync(corpusFile(c.file), vars.file);
    if (c.sign) {
      const s = cli(dir, ['assignment', 'sign', vars.file, '--key', approverKey, '--kid', 'alan.turing', '--json'], NOW);
      expect(s.exit, `signing ${c.file}: ${s.stderr}`).toBe(0);
    }
  }
  if (c.config) {
    vars.config = join(work, 'detailee.yaml');
    const bytes = readFileSync(join(CORPUS, c.config));
    let text: string | undefined;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      // A config that is not text is the case itself: pass its bytes through untouched.
    }
    writeFileSync(vars.config, text === undefined ? bytes : render(text));
  }
  const args = expand(c.args, vars);
  return { r: cli(dir, c.json === false ? args : [...args, '--json'], NOW, c.env ?? {}), vars };
}

describe('the corpus', () => {
  it('has at least 60 cases, each with a unique name, an existing file and a valid regex', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) {
      if (c.file) expect(existsSync(corpusFile(c.file)), c.name).toBe(true);
      if (c.config) expect(existsSync(join(CORPUS, c.config)), c.name).toBe(true);
      expect([2, 3], c.name).toContain(c.exit);
      expect(() => new RegExp(c.message, 'i'), c.name).not.toThrow();
    }
  });

  // Controls: the fixtures the cases break are themselves sound, so each refusal is for the one defect.
  it('control: the valid signature over signatures/manifest.yaml verifies', () => {
    const r = cli(dir, ['assignment', 'verify', join(CORPUS, 'signatures', 'manifest.yaml'), '--signature', join(CORPUS, 'signatures', 'valid.jws'), '--json'], NOW);
    expect(r.exit, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ valid: true, signers: [{ name: 'alan.turing' }] });
  });

  it('control: the reference answers pass every rule against the seeded FTI log', () => {
    const db = new DatabaseSync(join(dir, 'detailee.db'), { readOnly: true });
    const rows = db.prepare('SELECT data FROM fti WHERE assignment_id = ? ORDER BY seq').all(GOOD_ID) as { data: string }[];
    db.close();
    const entries = rows.map((r) => JSON.parse(r.data) as FtiEntry);
    expect(entries.map((e) => [e.id, e.media])).toEqual([
      ['F-0001', 'paper'],
      ['F-0002', 'ssd'],
      ['F-0003', 'usb'],
    ]);
    const answers = parse(readFileSync(join(CORPUS, 'answers', '_valid-reference.yaml'), 'utf8')) as unknown;
    expect(() => checkAnswers(answers, entries, '2025-04-15')).not.toThrow();
  });

  it('control: the reference config works against the servers', () => {
    const cfg = join(caseDir('control-config'), 'detailee.yaml');
    writeFileSync(cfg, render(readFileSync(join(CORPUS, 'configs', '_valid-reference.yaml'), 'utf8')));
    const r = cli(dir, ['reconcile', '--config', cfg, '--json'], NOW);
    expect(r.exit, `${JSON.stringify(r.json)} ${r.stderr}`).toBe(0);
  });

  it('control: the untampered certificate verifies with its issuer key', () => {
    const r = cli(dir, ['certificate', 'verify', join(CORPUS, 'certificates', 'valid.json'), '--key', join(CORPUS, 'keys', 'test-certificate-signing.pub.pem'), '--json'], NOW);
    expect(r.exit, r.stderr).toBe(0);
  });
});

describe('hostile and broken input is refused and changes nothing', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const before = await snapshot();
      const { r, vars } = runCase(c);
      const detail = `${c.name}: exit ${r.exit}\nstdout: ${typeof r.json === 'string' ? r.json : JSON.stringify(r.json)}\nstderr: ${r.stderr}`;
      expect(r.exit, detail).toBe(c.exit);
      if (c.json !== false) expect(typeof r.json, `--json must print exactly one JSON document\n${detail}`).toBe('object');
      expect(messageOf(c, r), detail).toMatch(new RegExp(c.message, 'i'));
      for (const secret of c.forbid ?? []) {
        expect(`${JSON.stringify(r.json)}\n${r.stderr}`, `${c.name} echoed ${secret}`).not.toContain(secret);
      }
      for (const p of expand(c.absent ?? [], vars)) expect(existsSync(p), `${c.name} left ${p} behind`).toBe(false);
      const after = await snapshot();
      expect(after.store, `${c.name} changed the store`).toEqual(before.store);
      expect(after.files, `${c.name} changed files beside the store`).toEqual(before.files);
      expect(after.ldap, `${c.name} changed LDAP`).toEqual(before.ldap);
      expect(after.iam, `${c.name} changed IAM`).toEqual(before.iam);
    });
  }

  it('afterwards the good assignment is still active and matches LDAP and IAM', () => {
    const st = cli(dir, ['show', GOOD_ID, '--json'], NOW);
    expect(st.json).toMatchObject({ state: 'active', lastDay: '2025-06-05' });
    const rec = cli(dir, ['reconcile', '--json'], NOW);
    expect(rec.exit, `${JSON.stringify(rec.json)} ${rec.stderr}`).toBe(0);
    expect(rec.json).toMatchObject({ drift: [], orphans: [], missing: [] });
    expect(cli(dir, ['audit', 'verify', '--json'], NOW).json).toMatchObject({ ok: true });
  });
});
