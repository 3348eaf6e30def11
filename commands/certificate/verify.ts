import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { verifyCertificateFile } from '../../src/offboarding/verify.js';
import { readBoundedFile } from '../../src/validation.js';

export default class CertificateVerify extends BaseCommand {
  static override summary = 'Check a destruction certificate (JSON, or the PDF with its attached JSON) offline.';
  static override description =
    'Recomputes the canonical hash and checks the Ed25519 signature. With --key, the certificate must also be signed by that key (the issuing agency\'s published public key); without it, only self-consistency is proven. Any tampering exits 3.';
  static override args = { file: Args.string({ description: 'certificate .json or .pdf', required: true }) };
  static override flags = { key: Flags.string({ description: 'the issuer\'s public key (PEM) that must have signed it' }) };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(CertificateVerify);
    const bytes = readBoundedFile(args.file, 'certificate', 64 * 1024 * 1024);
    const key = flags.key ? readBoundedFile(flags.key, 'public key').toString('utf8') : undefined;
    const r = verifyCertificateFile(bytes, key);
    const c = r.certificate as unknown as Record<string, unknown>;
    this.log(`Certificate ${String(c.id)}: VALID (${r.format}); hash ${r.hash}; signed by ${r.keyId}${flags.key ? ' (the key given)' : ' (self-consistent; pass --key to check the issuer)'}`);
    return { valid: true, format: r.format, hash: r.hash, keyId: r.keyId, trustedKey: Boolean(flags.key), certificate: r.certificate };
  }
}
