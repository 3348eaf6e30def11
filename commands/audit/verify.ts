import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { createPublicKey } from 'node:crypto';
import { loadPublicKey, parseCheckpoint, verifyAudit, verifyCheckpointFileSignature, verifyCheckpointSignature } from '../../src/audit/audit.js';
import { ExitCode } from '../../src/errors.js';
import { configuredCertificateKey } from '../../src/offboarding/certificate-key.js';
import { readSignatureFile } from '../../src/offboarding/file-signature.js';
import { progress } from '../../src/ui/progress.js';
import { readTextFile } from '../../src/text-file.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class AuditVerify extends BaseCommand {
  static override summary = 'Check the audit log\'s hash chain; with --checkpoint, also detect truncation or rollback behind a signed checkpoint.';
  static override examples = [
    '<%= config.bin %> audit verify',
    '<%= config.bin %> audit verify --checkpoint /mnt/worm/detailee-checkpoint.json --json',
  ];
  static override description =
    'Exit 0 when the chain is intact; 3, naming the first bad sequence number, when an event was edited, deleted, reordered or inserted, or the log no longer contains the checkpointed head. The FTI log is checked against the chain both ways: an FTI entry deleted, altered or inserted in the store is exit 3, naming the entry and its assignment.';
  static override flags = {
    checkpoint: Flags.string({ description: 'a checkpoint written by `detailee audit checkpoint`' }),
    key: Flags.string({ description: 'public key that signs checkpoints (default: the key in certificates.signingKey)' }),
  };

  async run(): Promise<JsonOutputs['audit verify']> {
    const { flags } = await this.parse(AuditVerify);
    const config = await this.loadConfig();
    const store = await this.openStore();
    let cp;
    let key;
    let fileSignature: 'verified' | 'absent' | undefined;
    if (flags.checkpoint) {
      const file = readTextFile(flags.checkpoint, 'checkpoint');
      cp = parseCheckpoint(file.text);
      // The configured key fails closed (exit 3) when it cannot be read, as in `certificate verify`.
      key = flags.key ? loadPublicKey(flags.key) : config.certificates.signingKey ? createPublicKey(configuredCertificateKey(config.certificates.signingKey)) : undefined;
      const sig = readSignatureFile(flags.checkpoint);
      // The signed content first, so a forged checkpoint is named as such; then the file's bytes.
      verifyCheckpointSignature(cp, key);
      if (sig) verifyCheckpointFileSignature(file.bytes, sig, key);
      fileSignature = sig ? 'verified' : 'absent';
    }
    const r = await verifyAudit(store, cp, key, progress(!this.jsonEnabled()));
    if (r.checkpoint && fileSignature) r.checkpoint.fileSignature = fileSignature;
    if (r.ok) {
      this.log(`Audit log intact: ${r.events} events; head ${r.head ? `#${r.head.seq} ${r.head.hash}` : '(empty)'}`);
      if (r.checkpoint) {
        this.log(`Checkpoint matches: event ${r.checkpoint.size} has hash ${r.checkpoint.hash}`);
        this.log(fileSignature === 'verified' ? 'Checkpoint file: its .sig verifies over its bytes' : 'Checkpoint file: no .sig beside it; its signed content was checked, its bytes were not');
      }
      this.log(`FTI log matches the chain: ${r.fti.entries} entr${r.fti.entries === 1 ? 'y' : 'ies'}, ${r.fti.rows} row(s)`);
    } else {
      this.setExit(ExitCode.verificationFailed);
      const chainBad = r.fti.findings.length === 0 || r.checkpoint?.ok === false;
      if (chainBad) this.log(`Audit log FAILED verification at event ${r.firstBadSeq}: ${r.reason}`);
      if (!r.fti.checked) this.log('FTI log not checked: the chain it depends on is broken.');
      if (r.fti.findings.length > 0) {
        this.log(`FTI log FAILED verification: ${r.fti.findings.length} entr${r.fti.findings.length === 1 ? 'y does' : 'ies do'} not match the chain`);
        for (const f of r.fti.findings) this.log(`  ${f.problem}: ${f.message}`);
      }
    }
    return r;
  }
}
