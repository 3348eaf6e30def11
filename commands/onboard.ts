import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { applyOnboarding, prepareOnboarding } from '../src/lifecycle/onboard.js';
import { closeTargets } from '../src/targets/index.js';
import { confirmOrRefuse } from '../src/ui/prompt.js';
import { table } from '../src/ui/table.js';
import { ExitCode } from '../src/errors.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Onboard extends BaseCommand {
  static override summary = 'Verify a signed assignment, show the plan, confirm, provision the accounts, verify and record.';
  static override description = `Refused (exit 2) when the term has already ended, the start is more than a year ahead, or a prerequisite (background investigation, disclosure training, confidentiality agreement) is missing, dated after the start or dated in the future — the same policy assignment verify applies. Trust warnings (an issuer whose revocation the config leaves unchecked) are printed and recorded in the audit event. Running it again for the same manifest does nothing and says so; after an interruption it finishes what is left. Exit 3 when a signature fails, 1 when a target fails.`;
  static override args = { file: Args.string({ description: 'assignment manifest (YAML or JSON)', required: true }) };
  static override flags = {
    signature: Flags.string({ char: 's', description: 'detached signature file (.jws or .p7s); repeatable', multiple: true }),
    'dry-run': Flags.boolean({ description: 'verify and show the plan; change nothing', default: false }),
    yes: Flags.boolean({ char: 'y', description: 'apply without asking (required without a terminal)' }),
    'issue-password': Flags.boolean({ description: 'set a random first LDAP password, shown once; the user must change it at first login' }),
  };
  static override examples = ['<%= config.bin %> onboard irs-2025-0042.yaml', '<%= config.bin %> onboard irs-2025-0042.yaml --yes --json'];

  async run(): Promise<JsonOutputs['onboard']> {
    const { args, flags } = await this.parse(Onboard);
    const ctx = await this.context();
    const prep = await prepareOnboarding(ctx, args.file, flags.signature);
    const doc = prep.loaded.doc;
    this.log(`Assignment ${doc.id}: ${doc.detailee.givenName} ${doc.detailee.familyName} (${doc.detailee.username}) from ${doc.detailee.homeAgency}`);
    this.log(`  signed by ${prep.report.signers.map((s) => `${s.name} (${s.role})`).join(', ')}`);
    this.log(`  term: ${prep.term.start} → last day ${prep.term.lastDay}; access ends ${prep.term.endsAt}`);
    for (const w of prep.report.warnings) this.log(`  WARNING: ${w}`);
    if (prep.rows.length > 0) this.log(`\n${table(['TARGET', 'STEP', 'DETAIL'], prep.rows.map((r) => [r.target, r.action, r.detail]))}\n`);
    const base = { id: doc.id, term: prep.term, plan: prep.rows, targets: [], warnings: prep.report.warnings };
    if (prep.existing?.data.provisioned === true) {
      this.log(`Assignment ${doc.id} is already onboarded; nothing to do.`);
      return { ...base, state: prep.existing.state, changed: false, dryRun: flags['dry-run'], message: 'already onboarded; nothing to do' };
    }
    if (flags['dry-run']) {
      await closeTargets(prep.targets);
      this.log('Dry run: nothing was changed.');
      return { ...base, state: prep.existing?.state ?? 'new', changed: false, dryRun: true, message: 'dry run: nothing changed' };
    }
    let go: boolean;
    try {
      go = await confirmOrRefuse(`Provision ${doc.detailee.username} on ${prep.targets.map((t) => t.name).join(' and ') || 'no targets'}?`, {
        yes: flags.yes,
        json: this.jsonEnabled(),
      });
    } catch (e) {
      await closeTargets(prep.targets);
      throw e;
    }
    if (!go) {
      await closeTargets(prep.targets);
      this.log('Not confirmed: nothing was changed.');
      return { ...base, state: prep.existing?.state ?? 'new', changed: false, dryRun: false, message: 'not confirmed; nothing changed' };
    }
    const result = await applyOnboarding(ctx, prep, { issuePassword: flags['issue-password'] });
    for (const t of result.targets) {
      this.log(`  ${t.target}: ${t.ok ? 'done and verified' : `FAILED — ${t.error}`}`);
    }
    this.log(result.message);
    if (result.initialPassword) this.log(`Initial LDAP password (shown once, must be changed at first login): ${result.initialPassword}`);
    if (result.targets.some((t) => !t.ok)) this.setExit(ExitCode.actionFailed);
    return result;
  }
}
