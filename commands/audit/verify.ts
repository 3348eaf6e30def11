import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { loadEd25519PrivateKey, loadPublicKey, parseCheckpoint, verifyAudit, type AuditVerifyResult } from '../../src/audit/audit.js';
import { ExitCode } from '../../src/errors.js';
import { progress } from '../../src/ui/progress.js';
import { readTextFile } from '../../src/validation.js';

export default class AuditVerify extends BaseCommand {
  static override summary = 'Check the audit log\'s hash chain; with --checkpoint, also detect truncation or rollback behind a signed checkpoint.';
  static override examples = [
    '<%= config.bin %> audit verify',
    '<%= config.bin %> audit verify --checkpoint /mnt/worm/detailee-checkpoint.json --json',
  ];
  static override description = 'Exit 0 when the chain is intact; 3, naming the first bad sequence number, when an event was edited, deleted, reordered or inserted, or the log no longer contains the checkpointed head.';
  static override flags = {
    checkpoint: Flags.string({ description: 'a checkpoint written by `detailee audit checkpoint`' }),
    key: Flags.string({ description: 'public key that signs checkpoints (default: the key in certificates.signingKey)' }),
  };

  async run(): Promise<AuditVerifyResult> {
    const { flags } = await this.parse(AuditVerify);
    const config = await this.loadConfig();
    const store = await this.openStore();
    let cp;
    let key;
    if (flags.checkpoint) {
      cp = parseCheckpoint(readTextFile(flags.checkpoint, 'checkpoint').text);
      key = flags.key ? loadPublicKey(flags.key) : config.certificates.signingKey ? loadEd25519PrivateKey(config.certificates.signingKey) : undefined;
    }
    const r = await verifyAudit(store, cp, key, progress(!this.jsonEnabled()));
    if (r.ok) {
      this.log(`Audit log intact: ${r.events} events; head ${r.head ? `#${r.head.seq} ${r.head.hash}` : '(empty)'}`);
      if (r.checkpoint) this.log(`Checkpoint matches: event ${r.checkpoint.size} has hash ${r.checkpoint.hash}`);
    } else {
      this.setExit(ExitCode.verificationFailed);
      this.log(`Audit log FAILED verification at event ${r.firstBadSeq}: ${r.reason}`);
    }
    return r;
  }
}
