import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DetaileeError } from '../../src/errors.js';
import { buildCertificate } from '../../src/offboarding/certificate.js';
import { serializeSignedCertificate, signCertificate } from '../../src/offboarding/certificate-sign.js';
import { signFileBytes } from '../../src/offboarding/file-signature.js';
import { renderPdf } from '../../src/offboarding/render-pdf.js';
import { verifyCertificate, type VerifyOptions } from '../../src/offboarding/verify.js';
import { certificateInput, SIGNER_PRIVATE, SIGNER_PUBLIC } from '../helpers/offboarding-fixtures.js';

/**
 * Properties of `certificate verify` over a v3 certificate file and its `.sig`: whatever single
 * byte is changed, wherever either file is cut short, whatever bytes are appended to either, the
 * result is a refusal with exit 3, never a pass; and the untouched pair always passes. Checked with
 * and without a trusted key (without one, the record's own key must still bind the file's bytes).
 */

type Mutation = { kind: 'byte'; at: number; xor: number } | { kind: 'truncate'; keep: number } | { kind: 'append'; extra: Uint8Array };

function mutation(length: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat({ max: length - 1 }), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat({ max: length - 1 }) }),
    fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  );
}

function apply(bytes: Buffer, m: Mutation): Buffer {
  if (m.kind === 'truncate') return Buffer.from(bytes.subarray(0, m.keep));
  if (m.kind === 'append') return Buffer.concat([bytes, m.extra]);
  const b = Buffer.from(bytes);
  b[m.at] = b[m.at]! ^ m.xor;
  return b;
}

/** The refusal, or a failure naming what passed. */
async function refused(bytes: Buffer, key: string | undefined, options: VerifyOptions): Promise<DetaileeError> {
  const r = await verifyCertificate(bytes, key, options).then(
    (ok) => ok,
    (e: unknown) => e,
  );
  if (!(r instanceof DetaileeError)) throw new Error(`expected a refusal, got ${r instanceof Error ? r.stack : `a pass: ${JSON.stringify(r).slice(0, 200)}`}`);
  return r;
}

const signed = signCertificate(buildCertificate(certificateInput()), SIGNER_PRIVATE);
const files: Record<'json' | 'pdf', { bytes: Buffer; sig: Buffer }> = { json: { bytes: Buffer.alloc(0), sig: Buffer.alloc(0) }, pdf: { bytes: Buffer.alloc(0), sig: Buffer.alloc(0) } };

beforeAll(async () => {
  const json = Buffer.from(serializeSignedCertificate(signed), 'utf8');
  const pdf = await renderPdf(signed);
  files.json = { bytes: json, sig: signFileBytes(json, SIGNER_PRIVATE) };
  files.pdf = { bytes: pdf, sig: signFileBytes(pdf, SIGNER_PRIVATE) };
});

const trust = fc.constantFrom<string | undefined>(SIGNER_PUBLIC, undefined);

describe.each(['json', 'pdf'] as const)('certificate verify over a v3 %s file and its .sig (property)', (format) => {
  it('the untouched file and .sig pass, as issued, with and without the trusted key', async () => {
    for (const key of [SIGNER_PUBLIC, undefined]) {
      expect(await verifyCertificate(files[format].bytes, key, { signature: files[format].sig })).toMatchObject({ format, file: 'as-issued', fileSignature: 'verified' });
    }
  });

  it('any single-byte change, truncation or appended bytes in the certificate file is refused with exit 3', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(files[format].bytes.length), trust, async (m, key) => {
        const e = await refused(apply(files[format].bytes, m), key, { signature: files[format].sig });
        expect(e.exit).toBe(3);
      }),
      { numRuns: format === 'pdf' ? 150 : 300 },
    );
  });

  it('any single-byte change, truncation or appended bytes in the .sig is refused with exit 3', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(files[format].sig.length), trust, async (m, key) => {
        const e = await refused(files[format].bytes, key, { signature: apply(files[format].sig, m) });
        expect(e.exit).toBe(3);
        expect(e.code).toBe('certificate.file-signature');
      }),
      { numRuns: 300 },
    );
  });

  it('with --deep and no .sig, any such change to the file is refused with exit 3 as well', async () => {
    await fc.assert(
      fc.asyncProperty(mutation(files[format].bytes.length), trust, async (m, key) => {
        const e = await refused(apply(files[format].bytes, m), key, { deep: true });
        expect(e.exit).toBe(3);
      }),
      { numRuns: 100 },
    );
  });
});
