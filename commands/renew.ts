import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { renewAssignment, type RenewResult } from '../src/lifecycle/renew.js';
import { ExitCode } from '../src/errors.js';
import { confirmOrRefuse } from '../src/ui/prompt.js';
import { table } from '../src/ui/table.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Renew extends BaseCommand {
  static override summary = 'Extend an active detail in place by a signed amendment, within the manifest\'s renewals.max.';
  static override description =
    'The amendment is verified like an assignment (exit 3 when its signatures fail). The plan and the new end are shown and confirmed (--yes without a terminal; exit 2 without either); then the new end is set on every target (LDAP pwdEndTime, the IAM detailee-term policy and detailee:ends-at tag) and then in the store. --dry-run shows the plan and changes nothing. Refused after the end of term: a lapsed detail needs a new assignment.';
  static override args = {
    id: Args.string({ description: 'assignment id', required: true }),
    amendment: Args.string({ description: 'signed amendment (YAML or JSON)', required: true }),
  };
  static override flags = {
    signature: Flags.string({ char: 's', description: 'detached signature file (.jws or .p7s); repeatable', multiple: true }),
    'dry-run': Flags.boolean({ description: 'verify and show the plan and the new end; change nothing', default: false }),
    yes: Flags.boolean({ char: 'y', description: 'apply without asking (required without a terminal)' }),
  };
  static override examples = [
    '<%= config.bin %> renew irs-2025-0042 amendment.yaml --dry-run',
    '<%= config.bin %> renew irs-2025-0042 amendment.yaml --yes --json',
    '<%= config.bin %> renew irs-2025-0042 renewal.yaml --signature renewal.yaml.p7s --yes',
  ];

  async run(): Promise<JsonOutputs['renew']> {
    const { args, flags } = await this.parse(Renew);
    const ctx = await this.context();
    const show = (plan: RenewResult['plan']) => {
      if (plan.length > 0) this.log(`\n${table(['TARGET', 'STEP', 'DETAIL'], plan.map((r) => [r.target, r.action, r.detail]))}\n`);
    };
    const r = await renewAssignment(ctx, args.id, args.amendment, flags.signature, {
      dryRun: flags['dry-run'],
      confirm: async (plan, term) => {
        show(plan);
        return confirmOrRefuse(`Renew ${args.id}: last day ${term.lastDay}, access ends ${term.endsAt}?`, { yes: flags.yes, json: this.jsonEnabled() });
      },
    });
    if (r.dryRun) show(r.plan);
    for (const t of r.targets) this.log(`  ${t.target}: ${t.ok ? 'updated and verified' : `FAILED — ${t.error}`}`);
    this.log(r.message);
    if (r.changed) this.log(`  renewals left: ${r.renewalsLeft}`);
    if (r.targets.some((t) => !t.ok)) this.setExit(ExitCode.actionFailed);
    return r;
  }
}
