import { existsSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { clockFromEnv } from '../../src/time/clock.js';
import { basisFromManifest, basisFromRecord, type RenewalBasis } from '../../src/assignment/amendment.js';
import { loadAssignment, termOf } from '../../src/assignment/load.js';
import { documentKind, verifyAmendment, verifyAssignment, type AmendmentVerifyResult } from '../../src/assignment/verify.js';
import { ExitCode } from '../../src/errors.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class AssignmentVerify extends BaseCommand {
  static override summary = 'Check an assignment manifest or an amendment: schema, detached signatures, signing policy and the computed term. Changes nothing.';
  static override description = `Without --signature, FILE.jws and FILE.p7s beside the manifest are used.
Exit 0 when every signature verifies, every required role has signed and the admission policy onboard applies holds (prerequisites on record, not dated in the future or after the start; a start within a year); 3 when a signature or the signing policy fails; 2 when the manifest itself is invalid or the admission policy fails. Warnings (an issuer whose revocation the config leaves unchecked) are printed, and listed under "warnings" in --json.
For an amendment (kind: Amendment) it also shows the new end and the renewals left, from the store's record of the assignment, else from the manifest given with --assignment; exit 2 when renew would refuse it (no renewals left, lapsed, period too long).`;
  static override args = { file: Args.string({ description: 'assignment manifest or amendment (YAML or JSON)', required: true }) };
  static override flags = {
    signature: Flags.string({ char: 's', description: 'detached signature file (.jws or .p7s); repeatable', multiple: true }),
    assignment: Flags.string({ description: 'for an amendment: the assignment manifest it amends, when the store does not hold it yet' }),
  };
  static override examples = [
    '<%= config.bin %> assignment verify irs-2025-0042.yaml',
    '<%= config.bin %> assignment verify a.yaml --signature a.yaml.p7s --json',
    '<%= config.bin %> assignment verify amendment.yaml --assignment irs-2025-0042.yaml',
  ];

  async run(): Promise<JsonOutputs['assignment verify']> {
    const { args, flags } = await this.parse(AssignmentVerify);
    const config = await this.loadConfig();
    const now = clockFromEnv().now();
    if (documentKind(args.file) === 'Amendment') return this.amendment(args.file, flags.signature, flags.assignment, now);
    const r = await verifyAssignment(args.file, flags.signature, config, now);
    const signaturesHold = r.failures.length === 0 && r.missingRoles.length === 0 && r.signers.length > 0;
    if (signaturesHold) {
      this.log(`Assignment ${r.id}: signatures VALID`);
      for (const s of r.signers) this.log(`  signed by ${s.name} (${s.role}, ${s.form})`);
      if (!r.valid) this.setExit(ExitCode.badInput);
    } else {
      this.setExit(ExitCode.verificationFailed);
      this.log(`Assignment ${r.id}: signatures NOT VALID`);
      this.signatureProblems(r);
    }
    for (const w of r.warnings) this.log(`  WARNING: ${w}`);
    if (r.policy.length > 0) this.log(`Assignment ${r.id} would be refused by onboard (exit 2):`);
    for (const p of r.policy) this.log(`  POLICY: ${p.message}`);
    this.log(`  term: ${r.term.start} → last day ${r.term.lastDay}; access ends ${r.term.endsAt} (${r.term.days} days, ${r.term.timezone}); renewals left ${r.term.renewalsLeft}`);
    return r;
  }

  private async amendment(file: string, signatures: string[] | undefined, manifest: string | undefined, now: Date): Promise<AmendmentVerifyResult> {
    const config = await this.loadConfig();
    const basisFor = async (id: string): Promise<RenewalBasis | undefined> => {
      // Only an existing store is read: verifying must not create an empty one.
      const sqlite = config.storeUrl.startsWith('sqlite:') ? config.storeUrl.slice('sqlite:'.length) : undefined;
      // A config that names no store has none to read.
      if (config.storeUrl !== '' && (sqlite === undefined || sqlite === ':memory:' || existsSync(sqlite))) {
        const rec = await (await this.openStore({ migrate: false })).getAssignment(id);
        if (rec) return basisFromRecord(rec);
      }
      if (manifest === undefined) return undefined;
      const doc = loadAssignment(manifest).doc;
      if (doc.id !== id) return undefined;
      return basisFromManifest(doc, termOf(doc, config));
    };
    const r = await verifyAmendment(file, signatures, config, now, basisFor);
    this.log(`Amendment of ${r.assignment} (+${r.renewalDays} days): signatures ${r.valid ? 'VALID' : 'NOT VALID'}`);
    if (r.valid) for (const s of r.signers) this.log(`  signed by ${s.name} (${s.role}, ${s.form})`);
    else this.signatureProblems(r);
    const p = r.renewal;
    if (p === null) {
      this.log(`  ${r.assignment} is not in the store; pass --assignment FILE (its manifest) to see the new end.`);
    } else {
      const from = p.source === 'store' ? 'the store' : 'its manifest (not onboarded yet)';
      if (p.alreadyApplied) this.log(`  already applied: last day ${p.current.lastDay}; access ends ${p.current.endsAt}; renewals left ${p.renewalsLeft} (from ${from})`);
      else if (p.problems.length === 0) this.log(`  new end: last day ${p.renewed.lastDay} (was ${p.current.lastDay}); access ends ${p.renewed.endsAt}; renewals left ${p.renewalsLeft} of ${p.renewalsMax} (from ${from})`);
      else {
        this.log(`  renew would refuse it (from ${from}): ${p.problems.join('; ')}`);
        this.log(`  current end: last day ${p.current.lastDay}; access ends ${p.current.endsAt}; renewals left ${p.renewalsLeft} of ${p.renewalsMax}`);
      }
    }
    if (!r.valid) this.setExit(ExitCode.verificationFailed);
    else if (p !== null && p.problems.length > 0) this.setExit(ExitCode.badInput);
    return r;
  }

  private signatureProblems(r: { signers: { name: string; role: string; form: string }[]; failures: { file: string; signer?: string | undefined; reason: string }[]; missingRoles: string[] }): void {
    for (const s of r.signers) this.log(`  valid: ${s.name} (${s.role}, ${s.form})`);
    for (const f of r.failures) this.log(`  FAILED: ${f.file}${f.signer ? ` [${f.signer}]` : ''}: ${f.reason}`);
    for (const role of r.missingRoles) this.log(`  MISSING: no valid signature from role "${role}"`);
  }
}
