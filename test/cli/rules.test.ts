import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/scenario.js';
import { MEDIA } from '../../src/offboarding/fti.js';
import type { RulesReport } from '../../src/offboarding/rules-report.js';
import { manifest, tempDir, writeManifest } from '../helpers/manifest.js';
import { startMoto, type Moto } from '../helpers/moto.js';

/**
 * The built CLI: `detailee rules`, the media flag of `fti record`, and an offboarding answers file
 * judged against the table. One target (moto's IAM) is configured, since onboarding refuses none:
 * the answers are checked before anything is revoked or recorded, which is what these cases are about.
 */
const ID = 'irs-2025-0042';
let dir: string;
let moto: Moto | undefined;

function run(args: string[], now = '2025-06-10T15:00:00Z') {
  return cli(dir, [...args, '--json'], now);
}

function errorOf(r: { json: unknown }): { code: string; message: string; exit: number } {
  return (r.json as { error: { code: string; message: string; exit: number } }).error;
}

/** Everything a refused offboarding must leave as it was. */
function state(): unknown {
  const db = new DatabaseSync(join(dir, 'detailee.db'), { readOnly: true });
  try {
    const all = (sql: string) => db.prepare(sql).all();
    const files = (d: string) => (existsSync(d) ? readdirSync(d).sort().map((f) => [f, createHash('sha256').update(readFileSync(join(d, f))).digest('hex')]) : null);
    return {
      audit: all('SELECT seq, hash FROM audit ORDER BY seq'),
      assignments: all('SELECT * FROM assignments ORDER BY id'),
      fti: all('SELECT * FROM fti ORDER BY assignment_id, id'),
      certificates: all('SELECT * FROM certificates ORDER BY id'),
      journal: all('SELECT COUNT(*) AS n FROM journal'),
      certificateFiles: files(join(dir, 'certificates')),
    };
  } finally {
    db.close();
  }
}

function answers(dispositions: Record<string, unknown>[]): string {
  const file = join(dir, `answers-${createHash('sha256').update(JSON.stringify(dispositions)).digest('hex').slice(0, 8)}.yaml`);
  const base = parse(readFileSync(join(import.meta.dirname, '../../examples/answers.yaml'), 'utf8')) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...base, dispositions, acknowledgement: { signedOn: '2025-06-09' } }));
  return file;
}

const verified = { tool: { name: 'Intimus 007S' }, date: '2025-06-09', verifiedBy: { name: 'Katherine Johnson', title: 'Security Specialist' } };
const paperShredded = { entry: 'F-0001', action: 'destroyed', method: 'Destroy', technique: 'cross-cut-shred', particleSize: '1 mm x 5 mm', destination: 'recycling facility', ...verified };

afterAll(async () => {
  await moto?.stop();
});

beforeAll(async () => {
  moto = await startMoto();
  await moto.createGroup('detailee-readonly');
  dir = tempDir('detailee-cli-rules-');
  expect(run(['init', '--dir', dir, '--timezone', 'America/New_York'], '2025-02-01T14:00:00Z').exit).toBe(0);
  const k = generateKeyPairSync('ed25519');
  const key = join(dir, 'approver.pem');
  writeFileSync(key, k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'approver.pub.pem'), k.publicKey.export({ type: 'spki', format: 'pem' }));
  const cfgPath = join(dir, 'detailee.yaml');
  const cfg = parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  cfg.trust = { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] };
  cfg.targets = { aws: { region: 'us-east-1', endpoint: moto.endpoint, path: '/detailees/' } };
  writeFileSync(cfgPath, stringify(cfg));
  const m = writeManifest(dir, manifest());
  expect(run(['assignment', 'sign', m, '--key', key, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z').exit).toBe(0);
  expect(run(['onboard', m, '--yes'], '2025-02-05T15:00:00Z').exit).toBe(0);
  const fti = (media: string, received: string) => {
    const r = run(
      ['fti', 'record', ID, '--description', `extract on ${media}`, '--type', 'return transcripts', '--tax-years', '2021', '--records', '10', '--media', media, '--location', 'Bldg 2, Room 114', '--received', received],
      `${received}T16:00:00Z`,
    );
    expect(r.exit, r.stderr).toBe(0);
  };
  fti('paper', '2025-03-03');
  fti('ssd', '2025-04-01');
}, 120_000);

describe('detailee rules', () => {
  it('--json prints the table as one document with every accepted value', () => {
    const r = run(['rules']);
    expect(r.exit).toBe(0);
    const report = r.json as RulesReport;
    expect(report.vocabulary.media).toEqual([...MEDIA]);
    expect(report.vocabulary.methods).toEqual(['Clear', 'Purge', 'Destroy']);
    expect(report.vocabulary.techniques).toEqual(expect.arrayContaining(['cross-cut-shred', 'degauss', 'crypto-erase', 'pulp']));
    expect(report.vocabulary.units).toEqual(['mm', 'cm', 'in']);
    const ssd = report.media.find((m) => m.id === 'ssd')!;
    expect(ssd.accepted.map((a) => a.technique)).not.toContain('degauss');
    expect(ssd.never).toEqual([expect.objectContaining({ technique: 'degauss', source: expect.stringMatching(/SP 800-88 Rev\. 1 Tables A-3 and A-8/) })]);
    const paper = report.media.find((m) => m.id === 'paper')!;
    expect(paper.accepted).toContainEqual(expect.objectContaining({ technique: 'cross-cut-shred', method: 'Destroy', particleSizeMax: '1 mm x 5 mm', source: expect.stringMatching(/Table A-1.*Pub 1075/) }));
    expect(new Set(paper.accepted.map((a) => a.method))).toEqual(new Set(['Destroy']));
    for (const m of report.media) for (const a of m.accepted) expect(a.source, `${m.id}/${a.technique}`).not.toBe('');
  });

  it('prints the accepted media, methods, techniques and units as text, and one media with --media', () => {
    const r = cli(dir, ['rules'], '2025-06-10T15:00:00Z');
    expect(r.exit).toBe(0);
    const out = String(r.json);
    expect(out).toContain(`Media: ${MEDIA.join(', ')}`);
    expect(out).toContain('Methods: Clear, Purge, Destroy');
    expect(out).toMatch(/Size units: mm, cm, in/);
    expect(out).toMatch(/never degauss: flash memory is not magnetic/);
    const one = run(['rules', '--media', 'optical']);
    expect((one.json as RulesReport).media.map((m) => m.id)).toEqual(['optical']);
  });

  it('refuses an unknown media with exit 2 naming the accepted values', () => {
    const r = run(['rules', '--media', 'floppy']);
    expect(r.exit).toBe(2);
    expect(errorOf(r).message).toContain(`one of: ${MEDIA.join(', ')}`);
  });
});

describe('fti record --media', () => {
  it('refuses a media outside the vocabulary with exit 2 naming the accepted values, recording nothing', () => {
    const before = state();
    const r = run(['fti', 'record', ID, '--description', 'x', '--type', 'x', '--tax-years', '2021', '--records', '1', '--media', 'flash', '--location', 'x', '--received', '2025-04-01']);
    expect(r.exit).toBe(2);
    expect(errorOf(r).message).toContain(`one of: ${MEDIA.join(', ')}`);
    expect(state()).toEqual(before);
  });
});

describe('offboard --answers against the rules table', () => {
  it.each([
    ['degaussing an SSD', { entry: 'F-0002', action: 'destroyed', method: 'Purge', technique: 'degauss', destination: 'internal reuse', ...verified }, /entry F-0002, ssd\): degauss is never valid for ssd: flash memory is not magnetic.*accepted for ssd: overwrite \(Clear\), ata-secure-erase \(Clear\), block-erase \(Purge\), crypto-erase \(Purge\)/],
    ['"de-gauss"', { entry: 'F-0002', action: 'destroyed', method: 'Purge', technique: 'de-gauss', destination: 'internal reuse', ...verified }, /technique "de-gauss" is not a term of the vocabulary; accepted for ssd/],
    ['the wrong method for the technique', { entry: 'F-0002', action: 'destroyed', method: 'Purge', technique: 'ata-secure-erase', destination: 'internal reuse', ...verified }, /ata-secure-erase of ssd is Clear, not Purge/],
  ])('refuses %s with exit 2, naming the accepted values, and changes nothing', (_, ssd, why) => {
    const before = state();
    const r = run(['offboard', ID, '--answers', answers([paperShredded, ssd])]);
    expect(r.exit).toBe(2);
    expect(errorOf(r).code).toBe('answers.rule');
    expect(errorOf(r).message).toMatch(why);
    expect(state()).toEqual(before);
  });

  it('refuses a particle size in centimetres that is coarser than 1 mm x 5 mm, and changes nothing', () => {
    const before = state();
    const ssd = { entry: 'F-0002', action: 'destroyed', method: 'Purge', technique: 'crypto-erase', destination: 'internal reuse', ...verified };
    const r = run(['offboard', ID, '--answers', answers([{ ...paperShredded, particleSize: '1x5 cm' }, ssd])]);
    expect(r.exit).toBe(2);
    expect(errorOf(r).message).toMatch(/particleSize "1x5 cm" is 10 mm x 50 mm, coarser than the 1 mm x 5 mm/);
    expect(state()).toEqual(before);
  });
});
