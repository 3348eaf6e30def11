import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { exitCodeOf, parseAsOf, runExpire } from '../src/lifecycle/expire.js';
import { progress } from '../src/ui/progress.js';
import { table } from '../src/ui/table.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Expire extends BaseCommand {
  static override summary = 'The nightly job: pre-expiry notices, revocation at end of term, re-verification of revoked accounts, drift repair.';
  static override description = `Revokes everything whose end has been reached (endsAt <= now), so a missed night is caught up the next. Exit codes, for alerting:
  0  everything done
  1  something failed or is overdue (a target down, a revocation not verified): the output names each assignment and target
  4  another run holds the lock (a lock left by a killed run is taken over after two hours)
--as-of forecasts "what would happen on that date" and is accepted only with --dry-run.`;
  static override flags = {
    'dry-run': Flags.boolean({ description: 'report what would be done; change nothing, send nothing', default: false }),
    'as-of': Flags.string({ description: 'with --dry-run: pretend it is this date (YYYY-MM-DD in the host zone) or date-time' }),
    concurrency: Flags.integer({ description: 'revocations in flight at once', default: 8, min: 1, max: 64 }),
  };
  static override examples = ['<%= config.bin %> expire', '<%= config.bin %> expire --dry-run --as-of 2025-06-06 --json'];

  async run(): Promise<JsonOutputs['expire']> {
    const { flags } = await this.parse(Expire);
    const ctx = await this.context();
    const asOf = flags['as-of'] ? parseAsOf(flags['as-of'], ctx.config.timezone) : undefined;
    const r = await runExpire(ctx, {
      dryRun: flags['dry-run'],
      asOf,
      concurrency: flags.concurrency,
      onProgress: progress(!this.jsonEnabled()),
    });
    const prefix = r.dryRun ? 'would ' : '';
    this.log(`detailee expire ${r.dryRun ? '(dry run) ' : ''}as of ${r.asOf}`);
    if (r.lock.takenOver) this.log(`  took over a stale lock held by ${r.lock.takenOver.holder} since ${r.lock.takenOver.acquiredAt}`);
    if (r.notices.length > 0) this.log(`\nNotices ${prefix}sent:\n${table(['ASSIGNMENT', 'NOTICE', 'DELIVERY'], r.notices.map((n) => [n.id, n.key, n.delivery]))}`);
    if (r.revoked.length > 0)
      this.log(`\n${r.dryRun ? 'Would revoke' : 'Revoked'}:\n${table(['ASSIGNMENT', 'USER', 'RESULT'], r.revoked.map((x) => [x.id, x.username, r.dryRun ? 'due' : x.complete ? 'revoked and verified' : 'INCOMPLETE']))}`);
    if (r.enabled.length > 0)
      this.log(`\n${r.dryRun ? 'Would enable' : 'Enabled'} on the start day:\n${table(['ASSIGNMENT', 'TARGET', 'RESULT'], r.enabled.map((x) => [x.id, x.target, r.dryRun ? 'due' : x.enabled ? 'enabled and verified' : 'FAILED']))}`);
    if (r.drift.length > 0) this.log(`\nDrift:\n${table(['ASSIGNMENT', 'TARGET', 'FIXED', 'PROBLEM'], r.drift.map((d) => [d.id, d.target, d.fixed ? 'yes' : 'no', d.problems.join('; ')]))}`);
    if (r.failed.length > 0) this.log(`\nFAILED:\n${table(['ASSIGNMENT', 'TARGET', 'STAGE', 'ERROR'], r.failed.map((f) => [f.id, f.target ?? '-', f.stage, f.error]))}`);
    if (r.notices.length + r.revoked.length + r.enabled.length + r.drift.length + r.failed.length === 0) this.log('Nothing to do.');
    this.setExit(exitCodeOf(r));
    return r;
  }
}
