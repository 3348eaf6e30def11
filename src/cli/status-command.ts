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
