import { Args, Flags } from '@oclif/core';
import { InputError } from '../../src/errors.js';
import { BaseCommand } from '../../src/cli/base.js';
import { configuredCertificateKey } from '../../src/offboarding/certificate-key.js';
import { readSignatureFile, signaturePath } from '../../src/offboarding/file-signature.js';
import { certificateSummary } from '../../src/offboarding/view.js';
import { verifyCertificate, type FileVerification } from '../../src/offboarding/verify.js';
import { checkCertificateAgainstChain } from '../../src/offboarding/certificate-chain.js';
import { readBoundedFile } from '../../src/text-file.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class CertificateVerify extends BaseCommand {
  static override summary = 'Check a destruction certificate (JSON, or the PDF with its attached JSON) offline.';
  static override examples = [
    '<%= config.bin %> certificate verify certificates/irs-2025-0042.pdf',
    '<%= config.bin %> certificate verify irs-2025-0042.json --key keys/certificate-signing.pub.pem',
  ];
  static override description =
    'Recomputes the canonical hash and checks the Ed25519 signature of the signed record, then checks the file\'s own bytes against FILE.sig beside it (the same key, over the exact bytes, so a PDF\'s pages are covered too). With --deep, the record is also re-rendered and compared byte for byte. Certificates issued before v3 have no .sig: their signed record is verified and the output says the file\'s bytes were not checked (pass --deep to check them). With --key, the certificate must be signed by that key (the issuing agency\'s published public key); without it, by the signing key of the config (certificates.signingKey) when one is set, and a configured key that cannot be read fails the check (exit 3); with neither, only self-consistency is proven. Any tampering exits 3.';
  static override args = { file: Args.string({ description: 'certificate .json or .pdf', required: true }) };
  static override flags = {
    key: Flags.string({ description: 'the issuer\'s public key (PEM) that must have signed it' }),
    'record-only': Flags.boolean({ description: 'check only the signed record, not the file\'s bytes (for a PDF re-saved by another program)', exclusive: ['deep'] }),
    deep: Flags.boolean({ description: 'also re-render the record and compare the file with it byte for byte', exclusive: ['record-only'] }),
    'against-store': Flags.boolean({
      description: 'also check, in the configured store, that the audit chain recorded this certificate and that its FTI log is the one in force in the chain when it was issued',
    }),
  };

  async run(): Promise<JsonOutputs['certificate verify']> {
    const { args, flags } = await this.parse(CertificateVerify);
    const bytes = readBoundedFile(args.file, 'certificate', 64 * 1024 * 1024);
    const trusted = flags.key ? { pem: readBoundedFile(flags.key, 'public key').toString('utf8'), source: 'the key given' } : await this.configuredKey(flags.config);
    const signature = flags['record-only'] ? null : readSignatureFile(args.file);
    const r = await verifyCertificate(bytes, trusted?.pem, { recordOnly: flags['record-only'], deep: flags.deep, signature });
    this.log(`Certificate ${r.certificate.id}: VALID (${r.format}; ${fileText(r)}); hash ${r.hash}; signed by ${r.keyId}${trusted ? ` (${trusted.source})` : ' (self-consistent only; pass --key with the issuing office\'s public key to check who signed it)'}`);
    const chain = flags['against-store'] ? await checkCertificateAgainstChain(await this.openStore(), r.certificate, r.hash) : null;
    for (const line of certificateSummary(r.certificate)) this.log(`  ${line}`);
    if (chain) this.log(`Audit chain: VALID; issued at event ${chain.issuedEvent}; its ${chain.entries} FTI log entr${chain.entries === 1 ? 'y matches' : 'ies match'} the chain (${chain.events} events verified)`);
    return {
      valid: true,
      format: r.format,
      file: r.file,
      fileSignature: r.fileSignature,
      signatureFile: r.fileSignature === 'verified' ? signaturePath(args.file) : null,
      rendering: r.rendering,
      hash: r.hash,
      keyId: r.keyId,
      trustedKey: trusted !== undefined,
      trustedKeySource: trusted?.source ?? null,
      chain,
      certificate: r.certificate,
    };
  }

  /**
   * Where this machine issues certificates, the config's signing key is the issuer: without --key,
   * its public half is what the certificate must be signed by, and a configured key that cannot be
   * read is a failed check, never a quiet fall-back to self-consistency. A verifier elsewhere has
   * no config (and may not need one); then only self-consistency is proven, and the output says so.
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
    if (!path) return undefined;
    return { pem: configuredCertificateKey(path), source: `the configured certificates.signingKey ${path}` };
  }
}

function fileText(r: FileVerification): string {
  const checked = [r.fileSignature === 'verified' ? 'its .sig verifies over its bytes' : '', r.rendering === 'identical' ? 're-rendered and identical' : ''].filter(Boolean);
  if (checked.length > 0) return `${r.format === 'pdf' ? 'pages' : 'file'} as issued: ${checked.join(', ')}`;
  return r.fileSignature === 'not-checked'
    ? 'signed record only; the file itself was not compared'
    : "signed record only; the file's bytes were NOT checked (issued before .sig files; pass --deep to re-render and compare)";
}
