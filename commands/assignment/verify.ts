import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { clockFromEnv } from '../../src/clock.js';
import { verifyAssignment, type AssignmentVerifyResult } from '../../src/assignment/verify.js';
import { ExitCode } from '../../src/errors.js';

export default class AssignmentVerify extends BaseCommand {
  static override summary = 'Check an assignment manifest: schema, detached signatures, signing policy and the computed term. Changes nothing.';
  static override description = `Without --signature, FILE.jws and FILE.p7s beside the manifest are used.
Exit 0 when every signature verifies, every required role has signed and the admission policy onboard applies holds (prerequisites on record, not dated in the future or after the start; a start within a year); 3 when a signature or the signing policy fails; 2 when the manifest itself is invalid or the admission policy fails. Warnings (an issuer whose revocation the config leaves unchecked) are printed, and listed under "warnings" in --json.`;
  static override args = { file: Args.string({ description: 'assignment manifest (YAML or JSON)', required: true }) };
  static override flags = {
    signature: Flags.string({ char: 's', description: 'detached signature file (.jws or .p7s); repeatable', multiple: true }),
  };
  static override examples = ['<%= config.bin %> assignment verify irs-2025-0042.yaml', '<%= config.bin %> assignment verify a.yaml --signature a.yaml.p7s --json'];

  async run(): Promise<AssignmentVerifyResult> {
    const { args, flags } = await this.parse(AssignmentVerify);
    const config = await this.loadConfig();
    const r = await verifyAssignment(args.file, flags.signature, config, clockFromEnv().now());
    const signaturesHold = r.failures.length === 0 && r.missingRoles.length === 0 && r.signers.length > 0;
    if (signaturesHold) {
      this.log(`Assignment ${r.id}: signatures VALID`);
      for (const s of r.signers) this.log(`  signed by ${s.name} (${s.role}, ${s.form})`);
      if (!r.valid) this.setExit(ExitCode.badInput);
    } else {
      this.setExit(ExitCode.verificationFailed);
      this.log(`Assignment ${r.id}: signatures NOT VALID`);
      for (const s of r.signers) this.log(`  valid: ${s.name} (${s.role}, ${s.form})`);
      for (const f of r.failures) this.log(`  FAILED: ${f.file}${f.signer ? ` [${f.signer}]` : ''}: ${f.reason}`);
      for (const role of r.missingRoles) this.log(`  MISSING: no valid signature from role "${role}"`);
    }
    for (const w of r.warnings) this.log(`  WARNING: ${w}`);
    if (r.policy.length > 0) this.log(`Assignment ${r.id} would be refused by onboard (exit 2):`);
    for (const p of r.policy) this.log(`  POLICY: ${p.message}`);
    this.log(`  term: ${r.term.start} → last day ${r.term.lastDay}; access ends ${r.term.endsAt} (${r.term.days} days, ${r.term.timezone}); renewals left ${r.term.renewalsLeft}`);
    return r;
  }
}
