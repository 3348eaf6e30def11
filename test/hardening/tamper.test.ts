import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GENESIS, hashEvent } from '../../src/audit/chain.js';
import { verifyAssignmentFile } from '../../src/assignment/load.js';
import { signJws } from '../../src/crypto/jws.js';
import { loadConfig } from '../../src/config/load.js';
import { DetaileeError } from '../../src/errors.js';
import { buildCertificate } from '../../src/offboarding/certificate.js';
import { serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { signFileBytes } from '../../src/offboarding/file-signature.js';
import { renderPdf } from '../../src/offboarding/render-pdf.js';
import { verifyCertificate } from '../../src/offboarding/verify.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { cli, ROOT } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { certificateInput, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';

/**
 * Tampering with what detailee keeps and issues: the audit log of a real store (through the built
 * CLI's `audit verify`), certificates (every byte of the JSON, bytes all over the PDF), and a signed
 * manifest (every byte). Each change must be caught; none may pass as valid.
 */
const NOW = '2025-06-10T15:00:00Z';
const T0 = Date.parse('2025-02-06T12:00:00Z');
const EVENTS = 12;

let dir: string;

beforeAll(() => {
  dir = tempDir('detailee-tamper-');
});

/** The README's recipe, with the real openssl: status and what it printed. */
function openssl(publicKey: string, file: string, sig: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', publicKey, '-rawin', '-in', file, '-sigfile', sig], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A flipped byte: XOR with a value that keeps ASCII printable more often than not. */
function flipped(bytes: Buffer, at: number, mask = 0x01): Buffer {
  const b = Buffer.from(bytes);
  b[at] = b[at]! ^ mask;
  return b;
}

async function rejection(p: Promise<unknown>): Promise<DetaileeError> {
  const r = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(r instanceof DetaileeError)) throw new Error(`expected a detailee error, got ${r === undefined ? 'success' : String(r)}`);
  return r;
}

describe('the audit log of a real store, through `detailee audit verify`', () => {
  let work: string;
  let storePath: string;
  let checkpoint: string;
  let pristine: Buffer;

  beforeAll(async () => {
    work = join(dir, 'audit');
    storePath = join(work, 'detailee.db');
    const store = await SqliteStore.open(storePath);
    for (let i = 1; i <= EVENTS; i++) {
      await store.transaction((tx) =>
        tx.appendAudit({ at: new Date(T0 + i * 1000).toISOString(), actor: 'officer', kind: 'test.event', assignmentId: 'irs-2025-0042', details: { i } }),
      );
    }
    await store.close();
    const key = generateKeyPairSync('ed25519');
    writeFileSync(join(work, 'signing.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(work, 'other.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(work, 'detailee.yaml'), stringify({ store: 'sqlite:detailee.db', timezone: 'America/New_York', certificates: { signingKey: 'signing.pem', outputDir: 'certificates' } }));
    checkpoint = join(work, 'checkpoint.json');
    const cp = cli(work, ['audit', 'checkpoint', '--out', checkpoint, '--json'], NOW);
    expect(cp.exit, JSON.stringify(cp.json)).toBe(0);
    const ok = cli(work, ['audit', 'verify', '--checkpoint', checkpoint, '--json'], NOW);
    expect(ok.json).toMatchObject({ ok: true, events: EVENTS });
    pristine = readFileSync(storePath);
  });

  /** Run `audit verify` on a copy of the pristine store altered by `sql`. */
  function verifyAfter(sql: string, args: string[] = []): { exit: number; json: Record<string, unknown> } {
    writeFileSync(storePath, pristine);
    const db = new DatabaseSync(storePath);
    db.exec(sql);
    db.close();
    const r = cli(work, ['audit', 'verify', ...args, '--json'], NOW);
    return { exit: r.exit, json: r.json as Record<string, unknown> };
  }

  const forgedInsert = (seq: number, prev: string): string => {
    const e = { seq, at: new Date(T0).toISOString(), actor: 'intruder', kind: 'test.event', assignmentId: 'irs-2025-0042', details: { i: 'forged' }, prev };
    return `INSERT INTO audit VALUES (${seq}, '${e.at}', 'intruder', 'test.event', 'irs-2025-0042', '{"i":"forged"}', '${prev}', '${hashEvent(e)}')`;
  };

  const cases: { name: string; sql: string; firstBadSeq: number; reason: RegExp }[] = [
    { name: 'an edited detail', sql: `UPDATE audit SET details = '{"i":99}' WHERE seq = 4`, firstBadSeq: 4, reason: /event 4 was altered/ },
    { name: 'an edited actor', sql: `UPDATE audit SET actor = 'someone-else' WHERE seq = 9`, firstBadSeq: 9, reason: /event 9 was altered/ },
    { name: 'an edited time', sql: `UPDATE audit SET at = '2024-01-01T00:00:00.000Z' WHERE seq = 1`, firstBadSeq: 1, reason: /event 1 was altered/ },
    { name: 'a deleted event', sql: 'DELETE FROM audit WHERE seq = 6', firstBadSeq: 6, reason: /event 6 is missing/ },
    { name: 'two events swapped', sql: 'UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = -1;', firstBadSeq: 3, reason: /event 3/ },
  ];
  for (const c of cases) {
    it(`${c.name}: exit 3, naming event ${c.firstBadSeq}`, () => {
      const r = verifyAfter(c.sql);
      expect(r.exit).toBe(3);
      expect(r.json).toMatchObject({ ok: false, firstBadSeq: c.firstBadSeq, reason: expect.stringMatching(c.reason) });
    });
  }

  it('an event inserted with a self-consistent hash: exit 3 at the event after it', () => {
    // Shift 6.. up by one and slip a forged event in at 6 that links correctly to 5: only 7's link breaks.
    writeFileSync(storePath, pristine);
    const read = new DatabaseSync(storePath);
    const five = read.prepare('SELECT hash FROM audit WHERE seq = 5').get() as { hash: string };
    read.close();
    const r = verifyAfter(`UPDATE audit SET seq = seq + 100 WHERE seq >= 6; UPDATE audit SET seq = seq - 99 WHERE seq >= 106; ${forgedInsert(6, five.hash)}`);
    expect(r.exit).toBe(3);
    expect(r.json).toMatchObject({ ok: false, firstBadSeq: 7 });
  });

  it('the tail cut off: the chain alone still verifies, the checkpoint catches it (exit 3)', () => {
    expect(verifyAfter(`DELETE FROM audit WHERE seq > ${EVENTS - 3}`).exit).toBe(0);
    const r = verifyAfter(`DELETE FROM audit WHERE seq > ${EVENTS - 3}`, ['--checkpoint', checkpoint]);
    expect(r.exit).toBe(3);
    expect(JSON.stringify(r.json)).toMatch(/truncated or rolled back/);
  });

  it('the whole history rewritten consistently: the checkpoint catches it (exit 3)', () => {
    let sql = 'DELETE FROM audit;';
    let prev = GENESIS;
    for (let seq = 1; seq <= EVENTS; seq++) {
      sql += `${forgedInsert(seq, prev)};`;
      const e = { seq, at: new Date(T0).toISOString(), actor: 'intruder', kind: 'test.event', assignmentId: 'irs-2025-0042', details: { i: 'forged' }, prev };
      prev = hashEvent(e);
    }
    expect(verifyAfter(sql).exit).toBe(0);
    const r = verifyAfter(sql, ['--checkpoint', checkpoint]);
    expect(r.exit).toBe(3);
    expect(JSON.stringify(r.json)).toMatch(/rewritten behind the checkpoint/);
  });

  it('a checkpoint forged with another key, or edited after signing: exit 3', () => {
    writeFileSync(storePath, pristine);
    const forged = join(work, 'forged.json');
    const other = cli(work, ['audit', 'checkpoint', '--out', forged, '--key', join(work, 'other.pem'), '--json'], NOW);
    expect(other.exit, JSON.stringify(other.json)).toBe(0);
    const r = cli(work, ['audit', 'verify', '--checkpoint', forged, '--json'], NOW);
    expect(r.exit).toBe(3);
    expect((r.json as { error: { code: string } }).error.code).toBe('audit.checkpoint-signature');

    const edited = join(work, 'edited.json');
    const cp = JSON.parse(readFileSync(checkpoint, 'utf8')) as { checkpoint: { size: number } };
    cp.checkpoint.size = EVENTS - 3;
    writeFileSync(edited, JSON.stringify(cp));
    expect(cli(work, ['audit', 'verify', '--checkpoint', edited, '--json'], NOW).exit).toBe(3);
  });
});

describe('certificates: one changed byte anywhere', () => {
  const signed = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
  const json = Buffer.from(serializeSignedCertificate(signed), 'utf8');
  const jsonSig = signFileBytes(json, SIGNER_PRIVATE);
  let pdf: Buffer;
  let pdfSig: Buffer;

  beforeAll(async () => {
    pdf = await renderPdf(signed);
    pdfSig = signFileBytes(pdf, SIGNER_PRIVATE);
    expect(await verifyCertificate(json, SIGNER_PUBLIC, { signature: jsonSig })).toMatchObject({ format: 'json', file: 'as-issued', fileSignature: 'verified' });
    expect(await verifyCertificate(pdf, SIGNER_PUBLIC, { signature: pdfSig })).toMatchObject({ format: 'pdf', file: 'as-issued', fileSignature: 'verified' });
  });

  it(`JSON: every one of its bytes changed in turn is rejected with exit 3`, async () => {
    const accepted: number[] = [];
    const codes = new Set<string>();
    for (let at = 0; at < json.length; at++) {
      try {
        await verifyCertificate(flipped(json, at), SIGNER_PUBLIC, { signature: jsonSig });
        accepted.push(at);
      } catch (e) {
        expect((e as DetaileeError).exit, `byte ${at}`).toBe(3);
        codes.add((e as DetaileeError).code);
      }
    }
    expect(accepted).toEqual([]);
    expect(codes).toContain('certificate.hash');
  });

  it('JSON: the same record laid out differently (re-indented, CRLF) is refused by its .sig and by --deep; --record-only accepts it', async () => {
    for (const relaid of [Buffer.from(JSON.stringify(signed)), Buffer.from(json.toString('utf8').replace(/\n/g, '\r\n'))]) {
      expect((await rejection(verifyCertificate(relaid, SIGNER_PUBLIC, { signature: jsonSig }))).code).toBe('certificate.file-signature');
      expect((await rejection(verifyCertificate(relaid, SIGNER_PUBLIC, { deep: true }))).code).toBe('certificate.file-altered');
      expect(await verifyCertificate(relaid, SIGNER_PUBLIC, { recordOnly: true })).toMatchObject({ format: 'json', file: 'not-checked', hash: signed.hash });
    }
  });

  it('PDF: a byte changed at 1,500 places spread over the file (pages, fonts, attachment, cross-reference table) is rejected with exit 3', async () => {
    const accepted: number[] = [];
    const codes = new Set<string>();
    const step = Math.max(1, Math.floor(pdf.length / 1500));
    for (let at = 0; at < pdf.length; at += step) {
      try {
        await verifyCertificate(flipped(pdf, at), SIGNER_PUBLIC, { signature: pdfSig });
        accepted.push(at);
      } catch (e) {
        expect(e, `byte ${at}`).toBeInstanceOf(DetaileeError);
        expect((e as DetaileeError).exit, `byte ${at}`).toBe(3);
        codes.add((e as DetaileeError).code);
      }
    }
    expect(accepted).toEqual([]);
    expect(codes).toContain('certificate.file-signature');
  });

  it('PDF: --deep also re-renders and compares, so a changed byte is caught without the .sig too', async () => {
    const step = Math.max(1, Math.floor(pdf.length / 100));
    const codes = new Set<string>();
    for (let at = 0; at < pdf.length; at += step) codes.add((await rejection(verifyCertificate(flipped(pdf, at), SIGNER_PUBLIC, { deep: true }))).code);
    expect(codes).toContain('certificate.pdf-altered');
    expect(await verifyCertificate(pdf, SIGNER_PUBLIC, { deep: true, signature: pdfSig })).toMatchObject({ file: 'as-issued', fileSignature: 'verified', rendering: 'identical' });
  });

  it('PDF: the visible text edited with the attachment left alone is rejected; --record-only checks the attachment alone and says so', async () => {
    // The pages' text sits in compressed content streams; the XMP metadata, which readers show as
    // the document's properties, is plain text and easy to edit in place.
    const s = pdf.toString('latin1');
    const at = s.indexOf('<pdf:Keywords>detailee certificate');
    expect(at).toBeGreaterThan(0);
    const edited = Buffer.from(s.slice(0, at) + s.slice(at).replace('detailee certificate', 'detailee certifikate'), 'latin1');
    expect(edited.length).toBe(pdf.length);
    expect((await rejection(verifyCertificate(edited, SIGNER_PUBLIC, { signature: pdfSig }))).code).toBe('certificate.file-signature');
    expect((await rejection(verifyCertificate(edited, SIGNER_PUBLIC, { deep: true }))).code).toBe('certificate.pdf-altered');
    expect(await verifyCertificate(edited, SIGNER_PUBLIC, { recordOnly: true })).toMatchObject({ file: 'not-checked', hash: signed.hash });
  });

  it('PDF re-saved by qpdf: refused by the .sig and by --deep, accepted with --record-only, through the CLI', () => {
    const original = join(dir, 'cert.pdf');
    const resaved = join(dir, 'cert-resaved.pdf');
    writeFileSync(original, pdf);
    writeFileSync(`${original}.sig`, pdfSig);
    execFileSync('qpdf', ['--object-streams=generate', original, resaved]);
    const key = join(dir, 'signer.pub.pem');
    writeFileSync(key, SIGNER_PUBLIC);
    const ok = cli(dir, ['certificate', 'verify', original, '--key', key, '--json'], NOW);
    expect(ok.exit).toBe(0);
    expect(ok.json).toMatchObject({ valid: true, format: 'pdf', file: 'as-issued', fileSignature: 'verified', signatureFile: `${original}.sig`, rendering: 'not-compared', trustedKey: true });
    const deep = cli(dir, ['certificate', 'verify', original, '--key', key, '--deep', '--json'], NOW);
    expect(deep.exit).toBe(0);
    expect(deep.json).toMatchObject({ file: 'as-issued', fileSignature: 'verified', rendering: 'identical' });
    // Re-saved, with no .sig of its own: a v3 certificate is refused until told what to check.
    const missing = cli(dir, ['certificate', 'verify', resaved, '--key', key, '--json'], NOW);
    expect(missing.exit).toBe(3);
    expect((missing.json as { error: { code: string } }).error.code).toBe('certificate.sig-missing');
    const byDeep = cli(dir, ['certificate', 'verify', resaved, '--key', key, '--deep', '--json'], NOW);
    expect(byDeep.exit).toBe(3);
    expect((byDeep.json as { error: { code: string } }).error.code).toBe('certificate.pdf-altered');
    writeFileSync(`${resaved}.sig`, pdfSig);
    const strict = cli(dir, ['certificate', 'verify', resaved, '--key', key, '--json'], NOW);
    expect(strict.exit).toBe(3);
    expect((strict.json as { error: { code: string; actions: string[] } }).error).toMatchObject({ code: 'certificate.file-signature', actions: expect.arrayContaining([expect.stringMatching(/--record-only/)]) });
    const loose = cli(dir, ['certificate', 'verify', resaved, '--key', key, '--record-only', '--json'], NOW);
    expect(loose.exit).toBe(0);
    expect(loose.json).toMatchObject({ valid: true, file: 'not-checked', hash: signed.hash });
    // The human output names the fields, and says what was and was not compared.
    const human = cli(dir, ['certificate', 'verify', resaved, '--key', key, '--record-only'], NOW);
    expect(human.exit).toBe(0);
    const text = String(human.json);
    expect(text).toMatch(/VALID \(pdf; signed record only; the file itself was not compared\)/);
    expect(text).toMatch(/Detailee: Alex Rivera/);
    expect(text).toMatch(/item 1, F-0001 .*: Destroy: cross-cut-shred on /);
  });
});

describe('checkpoint files and their .sig, through the CLI', () => {
  let work: string;
  let checkpoint: string;

  beforeAll(async () => {
    work = join(dir, 'checkpoint-sig');
    const store = await SqliteStore.open(join(work, 'detailee.db'));
    await store.transaction((tx) => tx.appendAudit({ at: new Date(T0).toISOString(), actor: 'officer', kind: 'test.event', assignmentId: 'irs-2025-0042', details: {} }));
    await store.close();
    const key = generateKeyPairSync('ed25519');
    writeFileSync(join(work, 'signing.pem'), key.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(work, 'detailee.yaml'), stringify({ store: 'sqlite:detailee.db', timezone: 'America/New_York', certificates: { signingKey: 'signing.pem', outputDir: 'certificates' } }));
    checkpoint = join(work, 'checkpoint.json');
    const cp = cli(work, ['audit', 'checkpoint', '--out', checkpoint, '--json'], NOW);
    expect(cp.exit, JSON.stringify(cp.json)).toBe(0);
  });

  it('writes checkpoint.json.sig, publishes signing-key.pub.pem, and openssl verifies the file with them', () => {
    expect(readFileSync(`${checkpoint}.sig`)).toHaveLength(64);
    const pub = join(work, 'certificates', 'signing-key.pub.pem');
    expect(readFileSync(pub, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    expect(openssl(pub, checkpoint, `${checkpoint}.sig`)).toMatchObject({ status: 0, out: expect.stringContaining('Signature Verified Successfully') });
    const ok = cli(work, ['audit', 'verify', '--checkpoint', checkpoint, '--json'], NOW);
    expect(ok.exit).toBe(0);
    expect(ok.json).toMatchObject({ ok: true, checkpoint: { ok: true, fileSignature: 'verified' } });
  });

  it('bytes added to the checkpoint file (its signed content intact) or a changed .sig: exit 3, and openssl refuses too', () => {
    const padded = join(work, 'padded.json');
    writeFileSync(padded, Buffer.concat([readFileSync(checkpoint), Buffer.from('\n')]));
    writeFileSync(`${padded}.sig`, readFileSync(`${checkpoint}.sig`));
    const r = cli(work, ['audit', 'verify', '--checkpoint', padded, '--json'], NOW);
    expect(r.exit).toBe(3);
    expect((r.json as { error: { code: string } }).error.code).toBe('audit.checkpoint-file-signature');
    expect(openssl(join(work, 'certificates', 'signing-key.pub.pem'), padded, `${padded}.sig`).status).not.toBe(0);
    const badSig = join(work, 'bad-sig.json');
    writeFileSync(badSig, readFileSync(checkpoint));
    writeFileSync(`${badSig}.sig`, flipped(readFileSync(`${checkpoint}.sig`), 5));
    expect(cli(work, ['audit', 'verify', '--checkpoint', badSig, '--json'], NOW).exit).toBe(3);
  });

  it('a configured signing key that is missing: exit 3 with the reason, never a pass', () => {
    const broken = join(work, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'detailee.yaml'), stringify({ store: `sqlite:${join(work, 'detailee.db')}`, timezone: 'America/New_York', certificates: { signingKey: 'gone.pem', outputDir: 'certificates' } }));
    const r = cli(broken, ['audit', 'verify', '--checkpoint', checkpoint, '--json'], NOW);
    expect(r.exit).toBe(3);
    expect((r.json as { error: { code: string; message: string } }).error).toMatchObject({ code: 'certificate.configured-key', message: expect.stringMatching(/gone\.pem.*does not exist/) });
  });
});

describe('certificate verify: the configured key fails closed, old versions stay verifiable', () => {
  const corpus = join(ROOT, 'test', 'corpus');
  let work: string;

  beforeAll(() => {
    work = join(dir, 'verify-key');
    mkdirSync(work, { recursive: true });
  });

  function configured(name: string, signingKey: string): string {
    const d = join(work, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'detailee.yaml'), stringify({ store: 'sqlite:detailee.db', timezone: 'America/New_York', certificates: { signingKey, outputDir: 'certificates' } }));
    return d;
  }

  const v2json = join(corpus, 'certificates', 'valid-v2.json');

  for (const c of [
    { name: 'missing', setup: (_d: string) => 'absent.pem', reason: /absent\.pem cannot be used: the file does not exist/ },
    { name: 'a directory', setup: (d: string) => (mkdirSync(join(d, 'keydir'), { recursive: true }), 'keydir'), reason: /keydir cannot be used: .*EISDIR|illegal operation on a directory/ },
    { name: 'not a key', setup: (d: string) => (writeFileSync(join(d, 'junk.pem'), 'not a key'), 'junk.pem'), reason: /junk\.pem cannot be used/ },
    {
      name: 'not Ed25519',
      setup: (d: string) => (writeFileSync(join(d, 'rsa.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' })), 'rsa.pem'),
      reason: /rsa\.pem cannot be used: it is ec, not Ed25519/,
    },
  ]) {
    it(`a configured certificates.signingKey that is ${c.name}: exit 3 with the reason, in JSON and for humans`, () => {
      const d = join(work, c.name.replace(/\W+/g, '-'));
      mkdirSync(d, { recursive: true });
      const key = c.setup(d);
      configured(c.name.replace(/\W+/g, '-'), key);
      const r = cli(d, ['certificate', 'verify', v2json, '--json'], NOW);
      expect(r.exit).toBe(3);
      expect((r.json as { error: { code: string; message: string } }).error).toMatchObject({ code: 'certificate.configured-key', message: expect.stringMatching(c.reason) });
      const human = cli(d, ['certificate', 'verify', v2json], NOW);
      expect(human.exit).toBe(3);
      expect(`${String(human.json)}${human.stderr}`).not.toMatch(/VALID/);
    });
  }

  it('v1 and v2 certificates without a .sig: the signed record verifies and the output says the file bytes were NOT checked', () => {
    const v1 = cli(work, ['certificate', 'verify', join(corpus, 'certificates', 'valid.json'), '--key', join(corpus, 'keys', 'test-certificate-signing.pub.pem'), '--json'], NOW);
    expect(v1.exit).toBe(0);
    expect(v1.json).toMatchObject({ valid: true, file: 'not-checked', fileSignature: 'absent', rendering: 'not-compared', signatureFile: null });
    const v2 = cli(work, ['certificate', 'verify', join(corpus, 'certificates', 'valid-v2.pdf'), '--key', join(corpus, 'keys', 'test-fixture-signing.pub.pem')], NOW);
    expect(v2.exit).toBe(0);
    expect(String(v2.json)).toMatch(/VALID \(pdf; signed record only; the file's bytes were NOT checked/);
    expect(String(v2.json)).not.toMatch(/as issued/);
  });

  it('--deep re-renders v1 and v2 PDFs to the bytes they were issued with', () => {
    for (const [file, key] of [
      ['valid.pdf', 'test-certificate-signing.pub.pem'],
      ['valid-v2.pdf', 'test-fixture-signing.pub.pem'],
    ] as const) {
      const r = cli(work, ['certificate', 'verify', join(corpus, 'certificates', file), '--key', join(corpus, 'keys', key), '--deep', '--json'], NOW);
      expect(r.exit, JSON.stringify(r.json)).toBe(0);
      expect(r.json).toMatchObject({ valid: true, format: 'pdf', file: 'as-issued', rendering: 'identical' });
    }
    const both = cli(work, ['certificate', 'verify', v2json, '--deep', '--record-only', '--json'], NOW);
    expect(both.exit).toBe(2);
  });
});

describe('a signed manifest: every byte changed in turn', () => {
  it('is never accepted: each change fails the signature (exit 3) or, when it breaks the document, the schema (exit 2)', async () => {
    const work = join(dir, 'manifest');
    const approver = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'approver.pub.pem'), approver.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'trust.yaml'), stringify({ store: 'sqlite:unused.db', timezone: 'America/New_York', trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] } }));
    const config = loadConfig(join(dir, 'trust.yaml'), {}, dir);
    const original = readFileSync(join(ROOT, 'examples', 'assignment.yaml'));
    const signature = join(dir, 'assignment.yaml.jws');
    writeFileSync(signature, signJws(original, undefined, approver.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'alan.turing'));
    const file = `${work}.yaml`;
    const now = new Date('2025-02-05T15:00:00Z');
    writeFileSync(file, original);
    expect((await verifyAssignmentFile(file, [signature], config, now)).report.valid).toBe(true);

    const accepted: number[] = [];
    const exits = new Map<number, number>();
    for (let at = 0; at < original.length; at++) {
      writeFileSync(file, flipped(original, at));
      let r: Awaited<ReturnType<typeof verifyAssignmentFile>> | undefined;
      try {
        r = await verifyAssignmentFile(file, [signature], config, now);
      } catch (e) {
        expect(e, `byte ${at}`).toBeInstanceOf(DetaileeError);
        const exit = (e as DetaileeError).exit;
        expect([2, 3], `byte ${at}`).toContain(exit);
        exits.set(exit, (exits.get(exit) ?? 0) + 1);
        continue;
      }
      if (r.report.valid) accepted.push(at);
      else exits.set(3, (exits.get(3) ?? 0) + 1);
    }
    expect(accepted).toEqual([]);
    // Many changes leave a well-formed manifest: it is the signature that catches those.
    expect(exits.get(3) ?? 0).toBeGreaterThan(original.length / 3);
  });
});
