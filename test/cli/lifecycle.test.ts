import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, prepare, runLifecycle, type Servers, type StepOutput } from '../helpers/scenario.js';
import { certificateId, type SignedCertificate } from '../../src/offboarding/certificate.js';
import { generateSigningKey, serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { signFileBytes } from '../../src/offboarding/file-signature.js';
import { tempDir } from '../helpers/manifest.js';
import type { Moto } from '../helpers/moto.js';
import { startCliServers } from '../helpers/servers.js';
import type { Slapd } from '../helpers/slapd.js';

/** The built CLI through the whole lifecycle against a real slapd and moto. */
let slapd: Slapd;
let moto: Moto;
let servers: Servers;

beforeAll(async () => {
  const started = await startCliServers();
  ({ slapd, moto } = started);
  servers = started.servers;
});
afterAll(async () => {
  await Promise.all([slapd?.stop(), moto?.stop()]);
});

describe('detailee CLI: the whole lifecycle', () => {
  let dir: string;
  let steps: StepOutput[];
  beforeAll(() => {
    dir = tempDir('detailee-e2e-');
    steps = runLifecycle(dir, servers);
  });
  const step = (prefix: string, nth = 0) => steps.filter((s) => s.args.join(' ').startsWith(prefix))[nth]!;

  it('every step exits 0', () => {
    expect(steps.map((s) => [s.args.slice(0, 2).join(' '), s.exit])).toEqual(steps.map((s) => [s.args.slice(0, 2).join(' '), 0]));
  });

  it('verify shows the signer and the computed term', () => {
    expect(step('assignment verify').json).toMatchObject({ valid: true, term: { lastDay: '2025-06-05', endsAt: '2025-06-06T00:00:00-04:00' } });
  });

  it('onboard provisions both targets', () => {
    const r = step('onboard').json as { targets: { target: string; ok: boolean }[] };
    expect(r.targets.map((t) => [t.target, t.ok])).toEqual([
      ['ldap', true],
      ['aws', true],
    ]);
  });

  it('the first expire run sends the 30-day notice; the second revokes at end of term', () => {
    const first = step('expire', 0).json as { notices: { key: string }[]; revoked: unknown[] };
    expect(first.notices.map((n) => n.key)).toEqual(['pre-expiry:2025-06-06T00:00:00-04:00:30']);
    expect(first.revoked).toEqual([]);
    const outbox = readdirSync(join(dir, 'outbox'));
    expect(outbox).toHaveLength(1);
    const eml = readFileSync(join(dir, 'outbox', outbox[0]!), 'utf8');
    expect(eml).toMatch(/^To: .*ada\.byron@gsa\.example\.gov/m);
    const second = step('expire', 1).json as { revoked: { id: string; complete: boolean }[]; failed: unknown[] };
    expect(second.revoked).toEqual([expect.objectContaining({ id: 'irs-2025-0042', complete: true })]);
    expect(second.failed).toEqual([]);
  });

  it('offboard issues a certificate that verifies offline, as JSON and as PDF', () => {
    const off = step('offboard').json as { state: string; certificate: { id: string; hash: string; files: Record<string, string> } };
    expect(off.state).toBe('closed');
    for (const f of Object.values(off.certificate.files)) expect(existsSync(f)).toBe(true);
    expect(step('certificate verify').json).toMatchObject({ valid: true, format: 'pdf', hash: off.certificate.hash, trustedKey: true });
    const json = cli(dir, ['certificate', 'verify', off.certificate.files.json!, '--json'], '2025-06-10T15:00:00Z');
    expect(json.exit).toBe(0);
    expect(execFileSync('qpdf', ['--check', off.certificate.files.pdf!], { encoding: 'utf8' })).toMatch(/No syntax or stream encoding errors/);
    expect(execFileSync('pdftotext', [off.certificate.files.pdf!, '-'], { encoding: 'utf8' })).toMatch(/Byron/);
    // examples/answers.yaml gives no signature dates: both are dated on the offboarding day.
    const cert = (JSON.parse(readFileSync(off.certificate.files.json!, 'utf8')) as SignedCertificate).certificate;
    expect(cert.certificateVersion).toBe('detailee/certificate/v3');
    expect([cert.performedBy.signedOn, cert.validatedBy.signedOn]).toEqual(['2025-06-10', '2025-06-10']);
    // Revoked by the nightly job after the last day: access ended at the end of term, in the host zone.
    expect(cert.assignment.term.timezone).toBe('America/New_York');
    expect(cert.accessEnded).toEqual({ at: '2025-06-06T00:00:00-04:00', reason: 'end of term' });
    expect(execFileSync('pdftotext', [off.certificate.files.pdf!, '-'], { encoding: 'utf8' })).toMatch(/2025-06-06 00:00:00 EDT \(America\/New_York; 2025-06-06 04:00:00\s+UTC\), at the end of term/);
  });

  it('beside every certificate file a .sig that the real openssl verifies with signing-key.pub.pem from the certificates folder', () => {
    const off = step('offboard').json as { certificate: { files: Record<string, string>; signatures: Record<string, string>; publicKey: string } };
    expect(off.certificate.publicKey).toBe(join(dir, 'certificates', 'signing-key.pub.pem'));
    expect(readFileSync(off.certificate.publicKey, 'utf8')).toBe(readFileSync(join(dir, 'keys', 'certificate-signing.pub.pem'), 'utf8'));
    for (const kind of ['json', 'markdown', 'pdf']) {
      const file = off.certificate.files[kind]!;
      expect(off.certificate.signatures[kind]).toBe(`${file}.sig`);
      // The README's recipe, word for word, run in the certificates folder.
      const ok = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pub.pem', '-rawin', '-in', basename(file), '-sigfile', `${basename(file)}.sig`], { cwd: join(dir, 'certificates'), encoding: 'utf8' });
      expect(ok.status, `${kind}: ${ok.stderr}`).toBe(0);
      expect(ok.stdout).toContain('Signature Verified Successfully');
      const tampered = join(dir, `tampered-${basename(file)}`);
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x04;
      writeFileSync(tampered, bytes);
      const bad = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', off.certificate.publicKey, '-rawin', '-in', tampered, '-sigfile', `${file}.sig`], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(`${bad.stdout}${bad.stderr}`).toContain('Signature Verification Failure');
    }
    // certificate verify checks the same .sig; without it, this v3 certificate is refused (exit 3).
    expect(step('certificate verify').json).toMatchObject({ fileSignature: 'verified', file: 'as-issued', rendering: 'not-compared' });
    const bare = join(dir, 'bare');
    mkdirSync(bare, { recursive: true });
    const copy = join(bare, basename(off.certificate.files.pdf!));
    writeFileSync(copy, readFileSync(off.certificate.files.pdf!));
    const missing = cli(dir, ['certificate', 'verify', copy, '--json'], '2025-06-10T15:00:00Z');
    expect(missing.exit).toBe(3);
    expect((missing.json as { error: { code: string } }).error.code).toBe('certificate.sig-missing');
    expect(cli(dir, ['certificate', 'verify', copy, '--deep', '--json'], '2025-06-10T15:00:00Z').json).toMatchObject({ valid: true, file: 'as-issued', rendering: 'identical', fileSignature: 'absent' });
  });

  it('without --key, the config\'s own signing key is the issuer: a copy edited and re-signed with another key exits 3', () => {
    const off = step('offboard').json as { certificate: { files: Record<string, string> } };
    const genuine = cli(dir, ['certificate', 'verify', off.certificate.files.json!, '--json'], '2025-06-10T15:00:00Z');
    expect(genuine.exit).toBe(0);
    expect(genuine.json).toMatchObject({ trustedKey: true, trustedKeySource: expect.stringMatching(/configured certificates\.signingKey/) });
    const signed = JSON.parse(readFileSync(off.certificate.files.json!, 'utf8')) as SignedCertificate;
    // Edited, its id derived again and signed with a key of the forger's own: self-consistent.
    const { id: _id, ...content } = { ...signed.certificate, performedBy: { ...signed.certificate.performedBy, name: 'Someone Else' } };
    void _id;
    const forgedPath = join(dir, 'forged.json');
    const forger = generateSigningKey().privatePem;
    const forgedBytes = Buffer.from(serializeSignedCertificate(signCertificate({ ...content, id: certificateId(content) }, forger)));
    writeFileSync(forgedPath, forgedBytes);
    // A forger signs the file's bytes too: that makes it self-consistent, never trusted.
    writeFileSync(`${forgedPath}.sig`, signFileBytes(forgedBytes, forger));
    const forged = cli(dir, ['certificate', 'verify', forgedPath, '--json'], '2025-06-10T15:00:00Z');
    expect(forged.exit).toBe(3);
    expect((forged.json as { error: { code: string } }).error.code).toBe('certificate.untrusted-key');
    // Elsewhere, with no config at all, only self-consistency can be shown, and the output says so.
    const elsewhere = tempDir('detailee-verify-elsewhere-');
    const out = cli(elsewhere, ['certificate', 'verify', forgedPath], '2025-06-10T15:00:00Z');
    expect(out.exit).toBe(0);
    expect(String(out.json)).toMatch(/self-consistent only; pass --key/);
  });

  it('one changed byte in the certificate is rejected with exit 3', () => {
    const off = step('offboard').json as { certificate: { files: Record<string, string> } };
    const copy = join(dir, 'tampered.json');
    writeFileSync(copy, readFileSync(off.certificate.files.json!, 'utf8').replace('Byron', 'Byrom'));
    expect(cli(dir, ['certificate', 'verify', copy, '--json'], '2025-06-10T15:00:00Z').exit).toBe(3);
  });

  it('fti list shows the recorded entries, and the certificate.issued event carries the certificate hash', () => {
    const list = cli(dir, ['fti', 'list', 'irs-2025-0042', '--json'], '2025-06-10T15:00:00Z');
    expect(list.exit).toBe(0);
    expect(list.json).toEqual([
      expect.objectContaining({ id: 'F-0001', media: 'paper', records: 250, taxYears: [2021], received: '2025-03-03', location: 'Bldg 2, Room 114, safe 3' }),
      expect.objectContaining({ id: 'F-0002', media: 'ssd', records: 1200, taxYears: [2019, 2020, 2021], received: '2025-04-01' }),
    ]);
    const human = cli(dir, ['fti', 'list', 'irs-2025-0042'], '2025-06-10T15:00:00Z');
    expect(String(human.json)).toMatch(/F-0001[\s\S]*paper[\s\S]*F-0002[\s\S]*ssd/);

    const off = step('offboard').json as { certificate: { id: string; hash: string } };
    const exported = cli(dir, ['audit', 'export'], '2025-06-10T15:00:00Z');
    expect(exported.exit).toBe(0);
    const events = String(exported.json).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; details: Record<string, unknown> });
    expect(events.filter((e) => e.kind === 'certificate.issued')).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ certificateId: off.certificate.id, certificateHash: off.certificate.hash }) }),
    ]);
    expect(events.filter((e) => e.kind === 'fti.recorded').map((e) => e.details.entry)).toEqual(['F-0001', 'F-0002']);
  });

  it('the audit log verifies and tells the story', () => {
    expect(step('audit verify').json).toMatchObject({ ok: true });
    const show = cli(dir, ['show', 'irs-2025-0042', '--json'], '2025-06-10T15:00:00Z').json as { state: string; timeline: { kind: string }[] };
    expect(show.state).toBe('closed');
    const kinds = show.timeline.map((t) => t.kind);
    for (const k of ['assignment.onboarding', 'assignment.onboarded', 'fti.recorded', 'notice.sent', 'assignment.expiring', 'revocation.verified', 'offboarding.started', 'certificate.issued']) {
      expect(kinds).toContain(k);
    }
  });

  it('the certificate\'s FTI log is the chain\'s: certificate verify --against-store proves it, and each disposition is an fti.disposed event', () => {
    const off = step('offboard').json as { certificate: { id: string; files: Record<string, string> } };
    const r = cli(dir, ['certificate', 'verify', off.certificate.files.json!, '--against-store', '--json'], '2025-06-10T15:00:00Z');
    expect(r.exit).toBe(0);
    expect(r.json).toMatchObject({ valid: true, chain: { assignmentId: 'irs-2025-0042', entries: 2, issuedEvent: expect.any(Number) } });
    const events = String(cli(dir, ['audit', 'export'], '2025-06-10T15:00:00Z').json).trim().split('\n').map((l) => JSON.parse(l) as { kind: string; details: Record<string, unknown> });
    expect(events.filter((e) => e.kind === 'fti.disposed').map((e) => [e.details.entry, e.details.certificateId])).toEqual([
      ['F-0001', off.certificate.id],
      ['F-0002', off.certificate.id],
    ]);
    // Without --against-store nothing is read from the store.
    expect(cli(dir, ['certificate', 'verify', off.certificate.files.json!, '--json'], '2025-06-10T15:00:00Z').json).toMatchObject({ chain: null });
  });

  it('finding things: show names each object, its last proof and the certificate files; certificate list checks every file; fti list --all', () => {
    const at = '2025-06-10T15:00:00Z';
    const off = step('offboard').json as { certificate: { id: string; hash: string; files: Record<string, string> } };
    const shown = cli(dir, ['show', 'irs-2025-0042', '--json'], at);
    expect(shown.exit).toBe(0);
    const s = shown.json as {
      targets: { target: string; object: string; proof: { ok: boolean; readAt: string; server: string } | null }[];
      certificate: { id: string; hash: string; files: Record<string, string>; missing: string[] };
    };
    expect(s.targets.map((t) => [t.target, t.object])).toEqual([
      ['ldap', expect.stringMatching(/^uid=[^,]+,ou=/)],
      ['aws', expect.stringMatching(/^arn:aws:iam::\d{12}:user\//)],
    ]);
    for (const t of s.targets) expect(t.proof, t.target).toMatchObject({ ok: true, readAt: expect.any(String), server: expect.stringMatching(/127\.0\.0\.1/) });
    expect(s.certificate).toMatchObject({ id: off.certificate.id, hash: off.certificate.hash, missing: [] });
    expect(Object.values(s.certificate.files).sort()).toEqual(Object.values(off.certificate.files).sort());
    const human = String(cli(dir, ['show', 'irs-2025-0042'], at).json);
    expect(human).toMatch(/last proof: PROVEN, read .* from .*127\.0\.0\.1/);
    expect(human).toContain(`certificate: ${off.certificate.id}`);

    const listed = cli(dir, ['certificate', 'list', '--json'], at);
    expect(listed.exit).toBe(0);
    expect(listed.json).toEqual([expect.objectContaining({ id: off.certificate.id, assignmentId: 'irs-2025-0042', hash: off.certificate.hash, state: 'verified', missing: [], problems: [] })]);

    // A .sig taken away: the certificate is no longer verified, and both views say which file.
    const sig = `${off.certificate.files.pdf!}.sig`;
    const kept = readFileSync(sig);
    rmSync(sig);
    try {
      const missing = cli(dir, ['certificate', 'list', '--json'], at);
      expect(missing.exit).toBe(1);
      expect(missing.json).toEqual([expect.objectContaining({ state: 'missing file', missing: [sig] })]);
      expect((cli(dir, ['show', 'irs-2025-0042', '--json'], at).json as typeof s).certificate.missing).toEqual([sig]);
      // A .sig over other bytes is a failure, not "missing".
      writeFileSync(sig, readFileSync(`${off.certificate.files.json!}.sig`));
      const forged = cli(dir, ['certificate', 'list', '--json'], at);
      expect(forged.exit).toBe(1);
      expect(forged.json).toEqual([expect.objectContaining({ state: expect.stringMatching(/^failed: /) })]);
    } finally {
      writeFileSync(sig, kept);
    }
    expect(cli(dir, ['certificate', 'list'], at).exit).toBe(0);

    const all = cli(dir, ['fti', 'list', '--json'], at);
    expect(all.exit).toBe(0);
    expect((all.json as { assignmentId: string; id: string }[]).map((e) => [e.assignmentId, e.id])).toEqual([
      ['irs-2025-0042', 'F-0001'],
      ['irs-2025-0042', 'F-0002'],
    ]);
    expect(cli(dir, ['fti', 'list', '--all', '--json'], at).json).toEqual(all.json);
    const both = cli(dir, ['fti', 'list', 'irs-2025-0042', '--all', '--json'], at);
    expect(both.exit).toBe(2);
    expect(both.json).toMatchObject({ error: { code: 'fti.list-scope' } });
  });

  // Last in this block: it leaves the store tampered with.
  it('an FTI row deleted from the store after issue: the file alone still verifies, --against-store and audit verify exit 3 naming it', () => {
    const off = step('offboard').json as { certificate: { files: Record<string, string> } };
    const db = new DatabaseSync(join(dir, 'detailee.db'));
    db.exec(`DELETE FROM fti WHERE id = 'F-0002'`);
    db.close();
    expect(cli(dir, ['certificate', 'verify', off.certificate.files.json!, '--json'], '2025-06-10T15:00:00Z').exit).toBe(0);
    const r = cli(dir, ['certificate', 'verify', off.certificate.files.json!, '--against-store', '--json'], '2025-06-10T15:00:00Z');
    expect(r.exit).toBe(3);
    expect(r.json).toMatchObject({ error: { code: 'certificate.chain-broken', message: expect.stringContaining('FTI entry F-0002 of irs-2025-0042 was deleted') } });
    const audit = cli(dir, ['audit', 'verify', '--json'], '2025-06-10T15:00:00Z');
    expect(audit.exit).toBe(3);
    expect(audit.json).toMatchObject({ fti: { findings: [expect.objectContaining({ entry: 'F-0002', problem: 'deleted' })] } });
  });
});

describe('detailee CLI: killed at every step of onboarding', () => {
  it('a SIGKILL after step N, then a re-run, converges with no duplicate', () => {
    const dir = tempDir('detailee-kill-');
    const { manifest, approverKey } = prepare(dir, servers);
    // A distinct detailee so this test does not meet the lifecycle test's accounts.
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('id: irs-2025-0042', 'id: irs-2025-0777').replace('username: abyron', 'username: killme'));
    expect(cli(dir, ['assignment', 'sign', manifest, '--key', approverKey, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z').exit).toBe(0);
    const dry = cli(dir, ['onboard', manifest, '--dry-run', '--json'], '2025-02-05T15:00:00Z');
    const total = (dry.json as { plan: unknown[] }).plan.length;
    expect(total).toBeGreaterThan(4);
    for (const n of [1, Math.ceil(total / 2), total]) {
      const killed = cli(dir, ['onboard', manifest, '--yes', '--json'], '2025-02-05T15:00:00Z', { DETAILEE_FAULT_AFTER_STEP: String(n) });
      expect(killed.exit).not.toBe(0);
      const resumed = cli(dir, ['onboard', manifest, '--yes', '--json'], '2025-02-05T15:00:00Z');
      expect(resumed.exit, `after a kill at step ${n}: ${JSON.stringify(resumed.json)} ${resumed.stderr}`).toBe(0);
      const done = (resumed.json as { targets: { steps: unknown[] }[] }).targets.flatMap((t) => t.steps).length;
      expect(done).toBe(n === total ? 0 : total - n);
      // Reset for the next N: revoke and purge are not what this test is about, so use a new id.
      const next = `irs-2025-0${778 + n}`;
      writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/id: irs-2025-\d+/, `id: ${next}`).replace(/username: \w+/, `username: kill${n}`));
      expect(cli(dir, ['assignment', 'sign', manifest, '--key', approverKey, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z').exit).toBe(0);
    }
    const journal = cli(dir, ['show', 'irs-2025-0777', '--json'], '2025-02-05T16:00:00Z').json as { journal: { status: string; step: string }[] };
    const doneSteps = journal.journal.filter((j) => j.status === 'done').map((j) => j.step);
    expect(new Set(doneSteps).size).toBe(doneSteps.length);
    expect(cli(dir, ['audit', 'verify', '--json'], '2025-02-05T16:00:00Z').exit).toBe(0);
  });
});
