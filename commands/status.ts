import { Flags } from '@oclif/core';
import { status } from '../src/lifecycle/status.js';
import { isFiltered, parsePeriod, parseStates, STATUS_FILTER_STATES } from '../src/lifecycle/status-filter.js';
import { BaseCommand } from '../src/cli/base.js';
import { clockFromEnv } from '../src/time/clock.js';
import { csv } from '../src/ui/csv.js';
import { STATUS_CSV_COLUMNS, statusText } from '../src/ui/status.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Status extends BaseCommand {
  static override summary = 'List every assignment with its state, last day, days left and next action.';
  static override description =
    'An active assignment whose start is still ahead shows as "scheduled". Warns (on stderr, also with --json) when the nightly job has not completed a run in the last 26 hours. With --json: an array of rows; with --csv: the same columns as CSV (RFC 4180, header row). --state keeps the assignments in the given states (repeatable or comma-separated; "scheduled" is an active assignment not yet started, and "active" then means started); --ending-within keeps active assignments with at most that many days left, counted as DAYS LEFT is.';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --state active,scheduled --ending-within 30d',
    '<%= config.bin %> status --state expired --state revoked --csv > ended.csv',
  ];
  static override flags = {
    state: Flags.string({ description: `keep only these states: ${STATUS_FILTER_STATES.join(', ')} (repeatable, or comma-separated)`, multiple: true }),
    'ending-within': Flags.string({ description: 'keep only active assignments ending within this period: Nd (days) or Nw (weeks), e.g. 30d' }),
    csv: Flags.boolean({ description: 'print CSV (RFC 4180) with the columns of a --json row', exclusive: ['json'] }),
  };

  async run(): Promise<JsonOutputs['status']> {
    const { flags } = await this.parse(Status);
    // Parsed before the store is opened: bad input changes nothing and needs no config.
    const filter = {
      states: flags.state === undefined ? undefined : parseStates(flags.state),
      endingWithinDays: flags['ending-within'] === undefined ? undefined : parsePeriod(flags['ending-within']),
    };
    const store = await this.openStore();
    const result = await status(store, clockFromEnv().now(), filter);
    if (flags.csv) process.stdout.write(csv(STATUS_CSV_COLUMNS, result.assignments.map((r) => STATUS_CSV_COLUMNS.map((c) => r[c]))));
    else if (isFiltered(filter) && result.assignments.length === 0) this.log('No assignments match.');
    else this.log(statusText(result.assignments));
    // stderr, so it reaches cron mail and terminals without breaking the JSON on stdout.
    if (result.heartbeat.warning) process.stderr.write(`Warning: ${result.heartbeat.warning}\n`);
    return result.assignments;
  }
}
