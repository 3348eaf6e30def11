import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cli } from '../helpers/scenario.js';
import { buildCertificate } from '../../src/offboarding/certificate.js';
import { serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { signFileBytes } from '../../src/offboarding/file-signature.js';
import { pdfWith, zlibBomb } from '../helpers/hostile.js';
import { tempDir } from '../helpers/manifest.js';
import { certificateInput, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';

/** Hostile inputs through the built CLI: a decompression bomb, a JSON that says %PDF-, a malformed store URL. */
const NOW = '2025-06-10T12:00:00Z';
let dir: string;

beforeAll(() => {
  dir = tempDir('detailee-cli-hostile-');
  writeFileSync(join(dir, 'detailee.yaml'), stringify({ store: 'sqlite:detailee.db', timezone: 'America/New_York' }));
  writeFileSync(join(dir, 'issuer.pub.pem'), SIGNER_PUBLIC);
});

describe('certificate verify on hostile files', () => {
  it('a PDF whose attachment inflates to 1 GiB: exit 3, code certificate.pdf-bomb, fast', () => {
    const file = join(dir, 'bomb.pdf');
    writeFileSync(file, pdfWith([zlibBomb(1024)]));
    const t0 = performance.now();
    const out = cli(dir, ['certificate', 'verify', file, '--key', join(dir, 'issuer.pub.pem'), '--json'], NOW);
    const ms = performance.now() - t0;
    expect(out.exit, JSON.stringify(out.json)).toBe(3);
    expect(out.json).toMatchObject({ error: { code: 'certificate.pdf-bomb', message: expect.stringMatching(/inflates to more than/) } });
    // The whole process, start-up included; the inflation itself is bounded to a few MiB.
    expect(ms).toBeLessThan(5000);
  });

  it('a certificate JSON whose text contains %PDF- is read and verified as JSON', () => {
    const input = certificateInput();
    input.assignment.detailee.homeAgency = 'Office of %PDF-1.7 Archives';
    const file = join(dir, 'pdf-text.json');
    const bytes = Buffer.from(serializeSignedCertificate(signCertificate(buildCertificate(input), SIGNER_PRIVATE)));
    writeFileSync(file, bytes);
    // Issued with its detached signature, as offboard writes it.
    writeFileSync(`${file}.sig`, signFileBytes(bytes, SIGNER_PRIVATE));
    const out = cli(dir, ['certificate', 'verify', file, '--key', join(dir, 'issuer.pub.pem'), '--json'], NOW);
    expect(out.exit, JSON.stringify(out.json)).toBe(0);
    expect(out.json).toMatchObject({ valid: true, format: 'json', file: 'as-issued', fileSignature: 'verified' });
  });
});

describe('a malformed DETAILEE_DATABASE_URL', () => {
  it('is exit 2 naming the variable, with the password kept out of the output', () => {
    const out = cli(dir, ['status', '--json'], NOW, { DETAILEE_DATABASE_URL: 'postgres://ops:hunter2-secret@db.internal:5x432/detailee' });
    expect(out.exit, JSON.stringify(out.json)).toBe(2);
    expect(out.json).toMatchObject({ error: { code: 'config.store', message: expect.stringMatching(/\$DETAILEE_DATABASE_URL .*is not a well-formed URL/) } });
    expect(JSON.stringify(out.json) + out.stderr).not.toContain('hunter2-secret');
  });

  it('an empty sqlite path is exit 2 too, for any command that opens the store', () => {
    const out = cli(dir, ['show', 'irs-2025-0042', '--json'], NOW, { DETAILEE_DATABASE_URL: 'sqlite:' });
    expect(out.exit, JSON.stringify(out.json)).toBe(2);
    expect(out.json).toMatchObject({ error: { code: 'config.store', message: expect.stringMatching(/\$DETAILEE_DATABASE_URL.*names no file/) } });
  });
});
