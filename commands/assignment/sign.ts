import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { signJws } from '../../src/crypto/jws.js';
import { warnIfReadableByOthers } from '../../src/config/load.js';
import { checkOutputPath, readBoundedFile } from '../../src/text-file.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class AssignmentSign extends BaseCommand {
  static override summary = 'Add a detached JWS signature (EdDSA or ES256) over FILE to FILE.jws.';
  static override examples = [
    '<%= config.bin %> assignment sign irs-2025-0042.yaml --key keys/alan.turing.pem --kid alan.turing',
  ];
  static override description =
    'Creates FILE.jws when absent; signing again with the same --kid replaces that signer\'s entry. The key is read from a PEM file and never printed. Works on amendments as well as assignments.';
  static override args = { file: Args.string({ description: 'manifest or amendment to sign', required: true }) };
  static override flags = {
    key: Flags.string({ description: 'private key, PKCS#8 PEM (Ed25519 or P-256)', required: true }),
    kid: Flags.string({ description: 'signer name, as listed in trust.signers', required: true }),
    out: Flags.string({ description: 'signature file to write (default FILE.jws)' }),
  };

  async run(): Promise<JsonOutputs['assignment sign']> {
    const { args, flags } = await this.parse(AssignmentSign);
    const payload = readBoundedFile(args.file, 'document to sign');
    const out = flags.out ?? `${args.file}.jws`;
    checkOutputPath(out, 'the signature');
    const existing = existsSync(out) ? readFileSync(out, 'utf8') : undefined;
    const keyPem = readBoundedFile(flags.key, 'signing key').toString('utf8');
    warnIfReadableByOthers(flags.key, 'signing key');
    writeFileSync(out, signJws(payload, existing, keyPem, flags.kid));
    this.log(`Signed ${args.file} as ${flags.kid}: ${out}`);
    return { file: args.file, signature: out, kid: flags.kid };
  }
}
