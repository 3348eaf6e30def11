/** What `store copy` moves, shared by the store interface and both drivers; it imports nothing. */

/**
 * The tables `store copy` moves, in an order that satisfies any future foreign keys. The columns
 * are identical in both dialects (see migrations.ts), so a raw row moves without translation.
 * Locks are not copied: they belong to the processes of the old store.
 */
export const RAW_TABLES = {
  meta: { columns: ['key', 'value'], order: 'key', ints: [] },
  assignments: {
    columns: [
      'id',
      'state',
      'username',
      'starts_at',
      'ends_at',
      'ends_at_ms',
      'last_day',
      'timezone',
      'renewals_used',
      'renewals_max',
      'revoked_at',
      'version',
      'doc',
    ],
    order: 'id',
    ints: ['ends_at_ms', 'renewals_used', 'renewals_max', 'version'],
  },
  audit: {
    columns: ['seq', 'at', 'actor', 'kind', 'assignment_id', 'details', 'prev', 'hash'],
    order: 'seq',
    ints: ['seq'],
  },
  journal: {
    columns: ['id', 'run_id', 'assignment_id', 'operation', 'step_id', 'target', 'status', 'detail', 'at', 'error'],
    order: 'id',
    ints: ['id'],
  },
  fti: { columns: ['assignment_id', 'id', 'seq', 'recorded_at', 'data'], order: 'assignment_id, id', ints: ['seq'] },
  certificates: { columns: ['id', 'assignment_id', 'hash', 'issued_at', 'document'], order: 'id', ints: [] },
  notices: { columns: ['assignment_id', 'notice_key', 'at'], order: 'assignment_id, notice_key', ints: [] },
} as const satisfies Record<string, { columns: readonly string[]; order: string; ints: readonly string[] }>;

export type RawTable = keyof typeof RAW_TABLES;
export const RAW_TABLE_NAMES = Object.keys(RAW_TABLES) as RawTable[];

export interface RawBatch {
  table: RawTable;
  rows: Record<string, unknown>[];
}
