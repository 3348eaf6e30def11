import { BaseCommand } from '../src/cli/base.js';
import { keepYoungGenerationSmall, statusFilter, statusFlags, writeStatus } from '../src/cli/status-command.js';
import { clockFromEnv } from '../src/time/clock.js';
import { streamWriter } from '../src/ui/status-stream.js';
import { jsonDocument } from '../src/cli/common.js';

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
  // Shared with the fast start (src/cli/fast-status.ts), which parses with these definitions.
  static override flags = statusFlags;

  /** The rows are on stdout, in part (`started`) or whole (`written`). */
  private started = false;
  private written = false;

  /** The JSON document (JsonOutputs['status']) is written a page at a time by run(), not returned for oclif to print. */
  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    // Parsed before the store is opened: bad input changes nothing and needs no config.
    const filter = statusFilter(flags);
    const store = await this.openStore();
    keepYoungGenerationSmall();
    const stdout = streamWriter(process.stdout);
    const out = await writeStatus(store, clockFromEnv().now(), filter, flags, this.jsonEnabled(), (s) => {
      this.started = true;
      return stdout(s);
    });
    this.written = true;
    process.stderr.write(out.stderr);
  }

  /**
   * oclif prints run()'s result as JSON after it returns: the rows are out already. An error before
   * the first row is the usual JSON document on stdout; after it, on stderr, so what stdout holds
   * is the part of the rows that was written, never two documents run together.
   */
  override logJson(json: unknown): void {
    if (this.written) return;
    if (this.started) process.stderr.write(jsonDocument(json));
    else super.logJson(json);
  }
}
