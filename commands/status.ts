import { status, type StatusRow } from '../src/lifecycle/status.js';
import { BaseCommand } from '../src/cli/base.js';
import { clockFromEnv } from '../src/clock.js';
import { statusText } from '../src/ui/status.js';

export default class Status extends BaseCommand {
  static override summary = 'List every assignment with its state, last day, days left and next action.';
  static override description =
    'An active assignment whose start is still ahead shows as "scheduled". Warns (on stderr, also with --json) when the nightly job has not completed a run in the last 26 hours. With --json: an array of rows.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];

  async run(): Promise<StatusRow[]> {
    await this.parse(Status);
    const store = await this.openStore();
    const result = await status(store, clockFromEnv().now());
    this.log(statusText(result.assignments));
    // stderr, so it reaches cron mail and terminals without breaking the JSON on stdout.
    if (result.heartbeat.warning) process.stderr.write(`Warning: ${result.heartbeat.warning}\n`);
    return result.assignments;
  }
}
