import { mkdirSync, writeFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { clockFromEnv } from '../../src/time/clock.js';
import { loadEd25519PrivateKey, makeCheckpoint } from '../../src/audit/audit.js';
import { askPassphrase, readSigningKey } from '../../src/config/signing-key.js';
import { InputError } from '../../src/errors.js';
import { publishPublicKey, signaturePath, signFileBytes } from '../../src/offboarding/file-signature.js';
import { checkOutputPath } from '../../src/text-file.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class AuditCheckpoint extends BaseCommand {
  static override summary = 'Write a signed checkpoint of the audit log\'s head (size and hash).';
  static override examples = [
    '<%= config.bin %> audit checkpoint --out /mnt/worm/detailee-checkpoint.json',
  ];
  static override description =
    'Keep checkpoints somewhere the store\'s writers cannot change (another host, WORM storage): `audit verify --checkpoint` then detects truncation or rollback of the log behind them. With --out FILE, FILE.sig is written beside it (raw Ed25519 over the file\'s bytes), which `openssl pkeyutl -verify -rawin` checks with the public key; signed with the configured key, that key is published as signing-key.pub.pem in the certificates folder.';
  static override flags = {
    out: Flags.string({ description: 'file to write (default: stdout)' }),
    key: Flags.string({ description: 'Ed25519 private key, PEM (default: certificates.signingKey)' }),
  };

  async run(): Promise<JsonOutputs['audit checkpoint']> {
    const { flags } = await this.parse(AuditCheckpoint);
    if (flags.out) checkOutputPath(flags.out, 'the checkpoint');
    const config = await this.loadConfig();
    const keyPath = flags.key ?? config.certificates.signingKey;
    if (!keyPath) {
      throw new InputError('No key to sign the checkpoint with.', {
        code: 'audit.no-key',
        actions: ['Pass --key, or set certificates.signingKey in the config (detailee init makes one).'],
      });
    }
    const store = await this.openStore();
    // The configured key may be an encrypted PEM; a --key file is read as given.
    const key = flags.key ? loadEd25519PrivateKey(flags.key) : await readSigningKey(config.certificates, { ask: askPassphrase });
    const cp = await makeCheckpoint(store, key, clockFromEnv().now());
    const text = `${JSON.stringify(cp, null, 2)}\n`;
    if (flags.out) {
      const bytes = Buffer.from(text, 'utf8');
      writeFileSync(flags.out, bytes, { mode: 0o644 });
      writeFileSync(signaturePath(flags.out), signFileBytes(bytes, key), { mode: 0o644 });
      const outputDir = config.certificates.outputDir;
      if (!flags.key && outputDir) {
        mkdirSync(outputDir, { recursive: true });
        publishPublicKey(outputDir, key);
      }
      this.log(`Checkpoint of event ${cp.checkpoint.size} written to ${flags.out}, its signature to ${signaturePath(flags.out)}`);
    } else if (!this.jsonEnabled()) {
      process.stdout.write(text);
    }
    return cp;
  }
}
