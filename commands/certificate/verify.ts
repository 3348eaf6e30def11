import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { loadEd25519PrivateKey } from '../../src/audit/audit.js';
import { InputError } from '../../src/errors.js';
import { BaseCommand } from '../../src/cli/base.js';
import { certificateSummary } from '../../src/offboarding/view.js';
import { verifyCertificate } from '../../src/offboarding/verify.js';
import { readBoundedFile } from '../../src/validation.js';

export default class CertificateVerify extends BaseCommand {
  static override summary = 'Check a destruction certificate (JSON, or the PDF with its attached JSON) offline.';
  static override examples = [
    '<%= config.bin %> certificate verify certificates/irs-2025-0042.pdf',
    '<%= config.bin %> certificate verify irs-2025-0042.json --key keys/certificate-signing.pub.pem',
  ];
  static override description =
    'Recomputes the canonical hash and checks the Ed25519 signature of the signed record, then checks that the file is exactly as issued: the JSON byte for byte, the PDF re-rendered from its attached record and compared, so edited pages are caught too. With --key, the certificate must also be signed by that key (the issuing agency\'s published public key); without it, by the signing key of the config (certificates.signingKey) when there is one; with neither, only self-consistency is proven. Any tampering exits 3.';
  static override args = { file: Args.string({ description: 'certificate .json or .pdf', required: true }) };
  static override flags = {
    key: Flags.string({ description: 'the issuer\'s public key (PEM) that must have signed it' }),
    'record-only': Flags.boolean({ description: 'check only the signed record, not that the file is as issued (for a PDF re-saved by another program)' }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(CertificateVerify);
    const bytes = readBoundedFile(args.file, 'certificate', 64 * 1024 * 1024);
    const trusted = flags.key ? { pem: readBoundedFile(flags.key, 'public key').toString('utf8'), source: 'the key given' } : await this.configuredKey(flags.config);
    const r = await verifyCertificate(bytes, trusted?.pem, { recordOnly: flags['record-only'] });
    const c = r.certificate as unknown as Record<string, unknown>;
    const file = r.file === 'as-issued' ? (r.format === 'pdf' ? 'pages as issued' : 'file as issued') : 'signed record only; the file itself was not compared';
    this.log(`Certificate ${String(c.id)}: VALID (${r.format}; ${file}); hash ${r.hash}; signed by ${r.keyId}${trusted ? ` (${trusted.source})` : ' (self-consistent only; pass --key with the issuing office\'s public key to check who signed it)'}`);
    for (const line of certificateSummary(r.certificate)) this.log(`  ${line}`);
    return { valid: true, format: r.format, file: r.file, hash: r.hash, keyId: r.keyId, trustedKey: trusted !== undefined, trustedKeySource: trusted?.source ?? null, certificate: r.certificate };
  }

  /**
   * Where this machine issues certificates, the config's signing key is the issuer: without --key,
   * its public half is what the certificate must be signed by. A verifier elsewhere has no config
   * (and may not need one); then only self-consistency is proven, and the output says so.
   */
  private async configuredKey(explicitConfig: string | undefined): Promise<{ pem: string; source: string } | undefined> {
    let config;
    try {
      config = await this.loadConfig();
    } catch (e) {
      if (e instanceof InputError && (e.code === 'config.missing' || e.code === 'config.none') && explicitConfig === undefined) return undefined;
      throw e;
    }
    const path = config.certificates.signingKey;
    if (!path || !existsSync(path)) return undefined;
    const pem = createPublicKey(loadEd25519PrivateKey(path)).export({ type: 'spki', format: 'pem' }).toString();
    return { pem, source: `the configured certificates.signingKey ${path}` };
  }
}
