import { setFlagsFromString } from 'node:v8';
import { boolean, string } from '@oclif/core/flags';
import { heartbeat, statusPages } from '../lifecycle/status.js';
import type { Store } from '../store/types.js';
import { isFiltered, parsePeriod, parseStates, STATUS_FILTER_STATES, type StatusFilter } from '../lifecycle/status-filter.js';
import { writeStatusCsv, writeStatusJson, writeStatusTable, type Write } from '../ui/status-stream.js';

/**
 * `detailee status` as both of its starts run it: the oclif command (commands/status.ts) and the
 * fast start (fast-status.ts) take their flags, their filter and their output from here, so the
 * two cannot accept or print differently. Nothing here loads oclif beyond its flag builders.
 */
export const statusFlags = {
  state: string({ description: `keep only these states: ${STATUS_FILTER_STATES.join(', ')} (repeatable, or comma-separated)`, multiple: true }),
  'ending-within': string({ description: 'keep only active assignments ending within this period: Nd (days) or Nw (weeks), e.g. 30d' }),
  csv: boolean({ description: 'print CSV (RFC 4180) with the columns of a --json row', exclusive: ['json'] }),
};

interface StatusFlagValues {
  state?: string[] | undefined;
  'ending-within'?: string | undefined;
  csv: boolean;
}

/** The filter the flags ask for; bad input is an InputError (exit 2) naming the flag. */
export function statusFilter(flags: StatusFlagValues): StatusFilter {
  return {
    states: flags.state === undefined ? undefined : parseStates(flags.state),
    endingWithinDays: flags['ending-within'] === undefined ? undefined : parsePeriod(flags['ending-within']),
  };
}

/**
 * Write `status` a page at a time, so memory stays flat however many assignments there are: the
 * CSV when asked for, the JSON document when JSON is on (--json or DETAILEE_CONTENT_TYPE=json;
 * the same bytes oclif would print for the rows), the table otherwise. Returns what goes to
 * stderr: the heartbeat warning, also with JSON, so it reaches cron mail and terminals without
 * breaking the JSON on stdout. The heartbeat is read first, so a store that cannot be read fails
 * before a byte is written.
 */
export async function writeStatus(
  store: Store,
  now: Date,
  filter: StatusFilter,
  flags: StatusFlagValues,
  json: boolean,
  write: Write,
): Promise<{ stderr: string }> {
  const hb = await heartbeat(store, now);
  const pages = () => statusPages(store, now, filter);
  if (flags.csv) await writeStatusCsv(pages, write);
  if (json) await writeStatusJson(pages, write);
  else if (!flags.csv) await writeStatusTable(pages, write, isFiltered(filter) ? 'No assignments match.' : 'No assignments recorded.');
  return { stderr: hb.warning ? `Warning: ${hb.warning}\n` : '' };
}

/**
 * Called by the two entries of `status` (commands/status.ts, fast-status.ts's runFastStatus), not
 * by writeStatus, which tests also call in-process.
 *
 * Streaming 100,000 rows allocates a few hundred MB of short-lived objects; V8 doubles its young
 * generation whenever enough of them have survived a collection since the last growth, which any
 * long stream eventually reaches, and so `status` grew to 15 MB more RSS than it needs (96 MB at
 * 100,000 rows instead of 83, measured with bench/run.mjs). The young generation is kept at its
 * present size for the rest of this process: `status` is the whole process here, it only reads,
 * and it measured no slower. V8 reads this flag each time it would grow the space, so it takes
 * effect after start-up; it has been in V8 for a decade, and were it ever removed V8 would only
 * print "unrecognized flag" on stderr, which the tests of `status` would catch.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
