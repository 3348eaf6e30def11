import type { StatusRow } from '../lifecycle/status.js';
import { table } from './table.js';

/** The human `status` output, shared by the command and the fast start so both print the same. */
export function statusText(rows: StatusRow[]): string {
  if (rows.length === 0) return 'No assignments recorded.';
  return table(STATUS_HEADERS, rows.map(statusCells));
}

export const STATUS_HEADERS = ['ID', 'USER', 'STATE', 'LAST DAY', 'DAYS LEFT', 'RENEWALS LEFT', 'NEXT ACTION'] as const;

/** One row of the table, in the order of STATUS_HEADERS. */
export function statusCells(a: StatusRow): string[] {
  return [a.id, a.username, a.display, a.lastDay, String(a.daysLeft), String(a.renewalsLeft), a.nextAction];
}

/** The --csv columns: the keys of a --json row, in the same order. */
export const STATUS_CSV_COLUMNS = ['id', 'username', 'state', 'display', 'start', 'lastDay', 'endsAt', 'daysLeft', 'renewalsLeft', 'nextAction'] as const satisfies readonly (keyof StatusRow)[];
