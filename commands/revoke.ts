import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { revokeAssignment } from '../src/lifecycle/revoke.js';
import { confirmOrRefuse } from '../src/ui/prompt.js';
import { ExitCode } from '../src/errors.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Revoke extends BaseCommand {
  static override summary = 'Revoke a detailee\'s access now, on every target, and verify it (emergency or early end).';
  static override examples = [
    '<%= config.bin %> revoke irs-2025-0042 --reason "left the agency early"',
    '<%= config.bin %> revoke irs-2025-0042 --reason "badge lost" --yes --json',
  ];
  static override description =
    'Disables rather than deletes: the LDAP entry is locked and removed from its groups; IAM keys are deactivated, the login profile deleted, groups and policies removed, and a deny-all attached that also kills older sessions. When a target fails, the others are still revoked, the result is reported per target, exit is 1, and running the command again finishes the pending steps.';
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override flags = {
    reason: Flags.string({ description: 'why access is revoked (recorded in the audit log)', required: true }),
    yes: Flags.boolean({ char: 'y', description: 'revoke without asking (required without a terminal)' }),
  };

  async run(): Promise<JsonOutputs['revoke']> {
    const { args, flags } = await this.parse(Revoke);
    const ctx = await this.context();
    const rec = await ctx.store.getAssignment(args.id);
    if (rec && rec.state === 'active') {
      const ok = await confirmOrRefuse(`Revoke all access for ${rec.username} (${rec.id}) now?`, { yes: flags.yes, json: this.jsonEnabled() });
      if (!ok) {
        this.log('Not confirmed: nothing was changed.');
        return { id: args.id, state: rec.state, revokedAt: '', complete: false, changed: false, plan: [], targets: [], message: 'not confirmed' };
      }
    }
    const r = await revokeAssignment(ctx, args.id, { reason: flags.reason, finalState: 'revoked' });
    for (const t of r.targets) {
      this.log(`  ${t.target}: ${t.ok ? `revoked and verified (${t.steps.length} step(s))` : `FAILED — ${t.error}`}`);
      for (const s of t.steps.filter((x) => x.status === 'pending')) this.log(`    pending: ${s.id}`);
    }
    this.log(r.message);
    if (!r.complete) this.setExit(ExitCode.actionFailed);
    return r;
  }
}
