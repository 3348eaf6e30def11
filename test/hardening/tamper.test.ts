import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GENESIS, hashEvent } from '../../src/audit/chain.js';
import { verifyAssignmentFile } from '../../src/assignment/load.js';
import { signJws } from '../../src/assignment/signatures.js';
import { loadConfig } from '../../src/config/load.js';
import { DetaileeError } from '../../src/errors.js';
import { buildCertificate, serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate.js';
import { renderPdf } from '../../src/offboarding/render-pdf.js';
import { verifyCertificate } from '../../src/offboarding/verify.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { cli, ROOT } from '../../scripts/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { certificateInput, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../unit/offboarding-fixtures.js';

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
  let pdf: Buffer;

  beforeAll(async () => {
    pdf = await renderPdf(signed);
    expect(await verifyCertificate(json, SIGNER_PUBLIC)).toMatchObject({ format: 'json', file: 'as-issued' });
    expect(await verifyCertificate(pdf, SIGNER_PUBLIC)).toMatchObject({ format: 'pdf', file: 'as-issued' });
  });

  it(`JSON: every one of its bytes changed in turn is rejected with exit 3`, async () => {
    const accepted: number[] = [];
    const codes = new Set<string>();
    for (let at = 0; at < json.length; at++) {
      try {
        await verifyCertificate(flipped(json, at), SIGNER_PUBLIC);
        accepted.push(at);
      } catch (e) {
        expect((e as DetaileeError).exit, `byte ${at}`).toBe(3);
        codes.add((e as DetaileeError).code);
      }
    }
    expect(accepted).toEqual([]);
    expect(codes).toContain('certificate.hash');
  });

  it('JSON: the same record laid out differently (re-indented, CRLF) is refused as not as issued; --record-only accepts it', async () => {
    for (const relaid of [Buffer.from(JSON.stringify(signed)), Buffer.from(json.toString('utf8').replace(/\n/g, '\r\n'))]) {
      expect((await rejection(verifyCertificate(relaid, SIGNER_PUBLIC))).code).toBe('certificate.file-altered');
      expect(await verifyCertificate(relaid, SIGNER_PUBLIC, { recordOnly: true })).toMatchObject({ format: 'json', file: 'not-checked', hash: signed.hash });
    }
  });

  it('PDF: a byte changed at 1,500 places spread over the file (pages, fonts, attachment, cross-reference table) is rejected with exit 3', async () => {
    const accepted: number[] = [];
    const codes = new Set<string>();
    const step = Math.max(1, Math.floor(pdf.length / 1500));
    for (let at = 0; at < pdf.length; at += step) {
      try {
        await verifyCertificate(flipped(pdf, at), SIGNER_PUBLIC);
        accepted.push(at);
      } catch (e) {
        expect(e, `byte ${at}`).toBeInstanceOf(DetaileeError);
        expect((e as DetaileeError).exit, `byte ${at}`).toBe(3);
        codes.add((e as DetaileeError).code);
      }
    }
    expect(accepted).toEqual([]);
    expect(codes).toContain('certificate.pdf-altered');
  });

  it('PDF: the visible text edited with the attachment left alone is rejected; --record-only checks the attachment alone and says so', async () => {
    // The pages' text sits in compressed content streams; the XMP metadata, which readers show as
    // the document's properties, is plain text and easy to edit in place.
    const s = pdf.toString('latin1');
    const at = s.indexOf('<pdf:Keywords>detailee certificate');
    expect(at).toBeGreaterThan(0);
    const edited = Buffer.from(s.slice(0, at) + s.slice(at).replace('detailee certificate', 'detailee certifikate'), 'latin1');
    expect(edited.length).toBe(pdf.length);
    expect((await rejection(verifyCertificate(edited, SIGNER_PUBLIC))).code).toBe('certificate.pdf-altered');
    expect(await verifyCertificate(edited, SIGNER_PUBLIC, { recordOnly: true })).toMatchObject({ file: 'not-checked', hash: signed.hash });
  });

  it('PDF re-saved by qpdf: refused as not as issued, accepted with --record-only, through the CLI', () => {
    const original = join(dir, 'cert.pdf');
    const resaved = join(dir, 'cert-resaved.pdf');
    writeFileSync(original, pdf);
    execFileSync('qpdf', ['--object-streams=generate', original, resaved]);
    const key = join(dir, 'signer.pub.pem');
    writeFileSync(key, SIGNER_PUBLIC);
    const ok = cli(dir, ['certificate', 'verify', original, '--key', key, '--json'], NOW);
    expect(ok.exit).toBe(0);
    expect(ok.json).toMatchObject({ valid: true, format: 'pdf', file: 'as-issued', trustedKey: true });
    const strict = cli(dir, ['certificate', 'verify', resaved, '--key', key, '--json'], NOW);
    expect(strict.exit).toBe(3);
    expect((strict.json as { error: { code: string; actions: string[] } }).error).toMatchObject({ code: 'certificate.pdf-altered', actions: expect.arrayContaining([expect.stringMatching(/--record-only/)]) });
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
