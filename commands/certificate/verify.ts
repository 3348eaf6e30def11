import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { certificateSummary } from '../../src/offboarding/view.js';
import { verifyCertificate } from '../../src/offboarding/verify.js';
import { readBoundedFile } from '../../src/validation.js';

export default class CertificateVerify extends BaseCommand {
  static override summary = 'Check a destruction certificate (JSON, or the PDF with its attached JSON) offline.';
  static override description =
    'Recomputes the canonical hash and checks the Ed25519 signature of the signed record, then checks that the file is exactly as issued: the JSON byte for byte, the PDF re-rendered from its attached record and compared, so edited pages are caught too. With --key, the certificate must also be signed by that key (the issuing agency\'s published public key); without it, only self-consistency is proven. Any tampering exits 3.';
  static override args = { file: Args.string({ description: 'certificate .json or .pdf', required: true }) };
  static override flags = {
    key: Flags.string({ description: 'the issuer\'s public key (PEM) that must have signed it' }),
    'record-only': Flags.boolean({ description: 'check only the signed record, not that the file is as issued (for a PDF re-saved by another program)' }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(CertificateVerify);
    const bytes = readBoundedFile(args.file, 'certificate', 64 * 1024 * 1024);
    const key = flags.key ? readBoundedFile(flags.key, 'public key').toString('utf8') : undefined;
    const r = await verifyCertificate(bytes, key, { recordOnly: flags['record-only'] });
    const c = r.certificate as unknown as Record<string, unknown>;
    const file = r.file === 'as-issued' ? (r.format === 'pdf' ? 'pages as issued' : 'file as issued') : 'signed record only; the file itself was not compared';
    this.log(`Certificate ${String(c.id)}: VALID (${r.format}; ${file}); hash ${r.hash}; signed by ${r.keyId}${flags.key ? ' (the key given)' : ' (self-consistent; pass --key to check the issuer)'}`);
    for (const line of certificateSummary(r.certificate)) this.log(`  ${line}`);
    return { valid: true, format: r.format, file: r.file, hash: r.hash, keyId: r.keyId, trustedKey: Boolean(flags.key), certificate: r.certificate };
  }
}
