import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { renewAssignment, type RenewResult } from '../src/lifecycle/renew.js';
import { ExitCode } from '../src/errors.js';

export default class Renew extends BaseCommand {
  static override summary = 'Extend an active detail in place by a signed amendment, within the manifest\'s renewals.max.';
  static override examples = [
    '<%= config.bin %> renew irs-2025-0042 irs-2025-0042-renewal-1.yaml',
    '<%= config.bin %> renew irs-2025-0042 renewal.yaml --signature renewal.yaml.p7s',
  ];
  static override description =
    'The amendment is verified like an assignment (exit 3 when its signatures fail). The new end is set on every target (LDAP pwdEndTime, the IAM detailee-term policy and detailee:ends-at tag) and then in the store. Refused after the end of term: a lapsed detail needs a new assignment.';
  static override args = {
    id: Args.string({ description: 'assignment id', required: true }),
    amendment: Args.string({ description: 'signed amendment (YAML or JSON)', required: true }),
  };
  static override flags = {
    signature: Flags.string({ char: 's', description: 'detached signature file (.jws or .p7s); repeatable', multiple: true }),
  };

  async run(): Promise<RenewResult> {
    const { args, flags } = await this.parse(Renew);
    const ctx = await this.context();
    const r = await renewAssignment(ctx, args.id, args.amendment, flags.signature);
    for (const t of r.targets) this.log(`  ${t.target}: ${t.ok ? 'updated and verified' : `FAILED — ${t.error}`}`);
    this.log(r.message);
    if (r.targets.some((t) => !t.ok)) this.setExit(ExitCode.actionFailed);
    return r;
  }
}
