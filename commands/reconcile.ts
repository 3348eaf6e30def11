import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { reconcile } from '../src/lifecycle/reconcile.js';
import { confirmOrRefuse } from '../src/ui/prompt.js';
import { table } from '../src/ui/table.js';
import { ExitCode } from '../src/errors.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Reconcile extends BaseCommand {
  static override summary = 'Compare intended state (the store) with LDAP and IAM: drift, orphans and missing accounts.';
  static override examples = [
    '<%= config.bin %> reconcile',
    '<%= config.bin %> reconcile --fix --yes --json',
  ];
  static override description =
    'Drift: an account enabled that should be disabled, a missing term policy or group. Orphans: accounts marked as detailee accounts with no assignment, or whose assignment is closed. --fix converges drift and disables enabled orphans after confirmation (--yes without a terminal). Exit 1 when anything is found and not fixed.';
  static override flags = {
    fix: Flags.boolean({ description: 'repair what can be repaired' }),
    yes: Flags.boolean({ char: 'y', description: 'with --fix: do not ask (required without a terminal)' }),
  };

  async run(): Promise<JsonOutputs['reconcile']> {
    const { flags } = await this.parse(Reconcile);
    const ctx = await this.context();
    const { report, plans, apply, close } = await reconcile(ctx, { fix: flags.fix });
    let fixed = false;
    if (flags.fix && plans.length > 0) {
      const steps = plans.reduce((n, p) => n + p.steps.length, 0);
      let confirmed: boolean;
      try {
        confirmed = await confirmOrRefuse(`Apply ${steps} repair step(s) on ${plans.length} account(s)?`, { yes: flags.yes, json: this.jsonEnabled() });
      } catch (e) {
        await close(); // refused without a terminal: the targets' connections must not be left open
        throw e;
      }
      if (confirmed) {
        await apply();
        fixed = true;
      } else await close();
    } else if (flags.fix) await apply();
    if (report.drift.length) this.log(`Drift:\n${table(['ASSIGNMENT', 'TARGET', 'FIXED', 'PROBLEM'], report.drift.map((d) => [d.id, d.target, d.fixed ? 'yes' : 'no', d.problems.join('; ')]))}`);
    if (report.orphans.length) this.log(`Orphans:\n${table(['TARGET', 'USER', 'ASSIGNMENT', 'FIXED', 'WHY'], report.orphans.map((o) => [o.target, o.username, o.assignmentId ?? '-', o.fixed ? 'disabled' : 'no', o.reason]))}`);
    if (report.missing.length) this.log(`Missing accounts:\n${table(['ASSIGNMENT', 'TARGET', 'USER'], report.missing.map((m) => [m.id, m.target, m.username]))}`);
    if (report.unproven.length) this.log(`Not checked (unproven):\n${table(['ASSIGNMENT', 'TARGET', 'WHY'], report.unproven.map((u) => [u.id, u.target ?? '-', u.reason]))}`);
    const open = report.drift.some((d) => !d.fixed) || report.orphans.some((o) => !o.fixed) || report.missing.length > 0 || report.unproven.length > 0;
    if (!open && report.drift.length + report.orphans.length === 0) this.log(`No drift: ${report.checked} account check(s) match the store.`);
    if (open) this.setExit(ExitCode.actionFailed);
    return { ...report, fixed };
  }
}
