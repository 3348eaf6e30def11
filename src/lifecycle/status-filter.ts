import { hasStarted } from '../time/days.js';
import { InputError } from '../errors.js';
import { ASSIGNMENT_STATES, type AssignmentSummary } from '../store/types.js';

/**
 * What `status --state` accepts: the lifecycle states, and `scheduled`, which `status` shows for
 * an active assignment whose start is still ahead. `active` then means started, so every row
 * matches exactly one value and `--state active` answers "who has access now".
 */
export const STATUS_FILTER_STATES = ['scheduled', ...ASSIGNMENT_STATES] as const;
export type StatusFilterState = (typeof STATUS_FILTER_STATES)[number];

export interface StatusFilter {
  states?: ReadonlySet<StatusFilterState> | undefined;
  /** Active assignments with at most this many days left (as `status` counts them). */
  endingWithinDays?: number | undefined;
}

/** Repeated flags and comma lists alike: `--state active,expired --state closed`. */
export function parseStates(values: readonly string[]): Set<StatusFilterState> {
  const out = new Set<StatusFilterState>();
  for (const raw of values.flatMap((v) => v.split(','))) {
    const v = raw.trim();
    if (!(STATUS_FILTER_STATES as readonly string[]).includes(v)) {
      throw new InputError(`--state: "${raw}" is not a state. Accepted: ${STATUS_FILTER_STATES.join(', ')}.`, {
        code: 'status.state',
        actions: [`Pass one of ${STATUS_FILTER_STATES.join(', ')}; repeat --state or separate values with commas.`],
        details: { field: 'state', value: raw, accepted: [...STATUS_FILTER_STATES] },
      });
    }
    out.add(v as StatusFilterState);
  }
  return out;
}

const UNIT_DAYS = { d: 1, w: 7 } as const;
/** Ten years: longer than any detail, short enough that no typo turns into "everything". */
const MAX_PERIOD_DAYS = 3660;

/**
 * `30d` or `2w`, nothing else: months and years have no fixed length, and a bare number could be
 * read as either unit, so both are refused rather than guessed.
 */
export function parsePeriod(raw: string): number {
  const m = /^([1-9]\d{0,4})([dw])$/.exec(raw);
  const days = m ? Number(m[1]) * UNIT_DAYS[m[2] as keyof typeof UNIT_DAYS] : NaN;
  if (!m || days > MAX_PERIOD_DAYS) {
    throw new InputError(`--ending-within: "${raw}" is not a period. Write a whole number of days or weeks, such as 30d or 2w (at most ${MAX_PERIOD_DAYS} days).`, {
      code: 'status.ending-within',
      actions: ['Pass --ending-within 30d (days) or --ending-within 2w (weeks).'],
      details: { field: 'ending-within', value: raw },
    });
  }
  return days;
}

export function stateOf(s: Pick<AssignmentSummary, 'state' | 'startsAt'>, now: Date): StatusFilterState {
  return s.state === 'active' && !hasStarted(s, now) ? 'scheduled' : s.state;
}

export function isFiltered(filter: StatusFilter | undefined): filter is StatusFilter {
  return filter !== undefined && (filter.states !== undefined || filter.endingWithinDays !== undefined);
}
