import { Flags } from '@oclif/core';
import { dirname } from 'node:path';
import { BaseCommand } from '../../src/cli/base.js';
import { ExitCode, InputError } from '../../src/errors.js';
import { configuredCertificateKey } from '../../src/offboarding/certificate-key.js';
import { listIssued } from '../../src/offboarding/issued.js';
import { readBoundedFile } from '../../src/text-file.js';
import { table } from '../../src/ui/table.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class CertificateList extends BaseCommand {
  static override summary = 'List every issued destruction certificate, each checked against its files.';
  static override description =
    'Every certificate the store records, with the files offboard wrote for it in certificates.outputDir (<id>.json, .md and .pdf, each with its .sig). Each is checked as `certificate verify` checks it: the signed record kept in the store and in each file must verify with the issuer\'s key (certificates.signingKey, or --key) and be the same record, and every file must verify over its bytes with its .sig. STATE is "verified", "missing file" (a file or its .sig is not there) or "failed: <reason>". Exits 1 when any certificate is not verified.';
  static override examples = [
    '<%= config.bin %> certificate list',
    '<%= config.bin %> certificate list --key keys/certificate-signing.pub.pem --json',
  ];
  static override flags = {
    key: Flags.string({ description: 'the issuer\'s public key (PEM); default: the public half of certificates.signingKey' }),
  };

  async run(): Promise<JsonOutputs['certificate list']> {
    const { flags } = await this.parse(CertificateList);
    const config = await this.loadConfig();
    const explicitKey = flags.key === undefined ? undefined : readBoundedFile(flags.key, 'public key').toString('utf8');
    const store = await this.openStore();
    const certificates = await store.listCertificates();
    if (certificates.length === 0) {
      this.log('No certificates issued.');
      return [];
    }
    const { outputDir, signingKey } = config.certificates;
    if (!outputDir) {
      throw new InputError('certificates.outputDir is not set, so the certificate files cannot be found and nothing can be verified.', {
        code: 'config.certificates',
        actions: ['Set certificates.outputDir in the config to the folder offboard wrote the certificates to.'],
      });
    }
    if (explicitKey === undefined && !signingKey) {
      throw new InputError('No key to verify with: certificates.signingKey is not set and --key was not given.', {
        code: 'certificate.key',
        actions: ['Pass --key with the issuing office\'s public key (signing-key.pub.pem in the certificates folder), or set certificates.signingKey.'],
      });
    }
    const list = await listIssued(certificates, outputDir, explicitKey ?? configuredCertificateKey(signingKey!));
    this.log(
      table(
        ['CERTIFICATE', 'ASSIGNMENT', 'ISSUED AT', 'FILES', 'STATE'],
        list.map((c) => [c.id, c.assignmentId, c.issuedAt, `${dirname(c.files.json)}/${c.id}.{json,md,pdf}`, c.state]),
      ),
    );
    for (const c of list.filter((x) => x.state !== 'verified')) {
      for (const m of c.missing) this.log(`  ${c.id}: missing ${m}`);
      for (const p of c.problems) this.log(`  ${c.id}: ${p}`);
    }
    const bad = list.filter((c) => c.state !== 'verified').length;
    if (bad > 0) {
      this.note(`${bad} of ${list.length} certificate${list.length === 1 ? '' : 's'} not verified; run \`detailee certificate verify FILE\` on a file for the full check.`);
      this.setExit(ExitCode.actionFailed);
    }
    return list;
  }
}
