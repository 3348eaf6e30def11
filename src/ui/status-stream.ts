import type { Writable } from 'node:stream';
import type { StatusRow } from '../lifecycle/status.js';
import { csvRecord } from './csv.js';
import { STATUS_CSV_COLUMNS, STATUS_HEADERS, statusCells } from './status.js';
import { tableLine } from './table.js';

/** Where a page of output goes (stdout, or a string in a test); a promise makes the writer wait (a full pipe). */
export type Write = (text: string) => void | Promise<void>;
/** The pages of rows; the table asks twice (widths first), so it is a function. */
export type Pages = () => AsyncIterable<StatusRow[]>;

/** The bytes of `JSON.stringify(rows, null, 2)` and a newline, written a page at a time. */
export async function writeStatusJson(pages: Pages, write: Write): Promise<void> {
  let first = true;
  for await (const page of pages()) {
    let out = '';
    for (const r of page) {
      out += `${first ? '[\n' : ',\n'}  ${JSON.stringify(r, null, 2).replaceAll('\n', '\n  ')}`;
      first = false;
    }
    await write(out);
  }
  await write(first ? '[]\n' : '\n]\n');
}

/** RFC 4180 with a header row: the columns of a --json row, a page at a time. */
export async function writeStatusCsv(pages: Pages, write: Write): Promise<void> {
  await write(csvRecord(STATUS_CSV_COLUMNS));
  for await (const page of pages()) await write(page.map((r) => csvRecord(STATUS_CSV_COLUMNS.map((c) => r[c]))).join(''));
}

/**
 * The human table, in two passes over the pages: the column widths first, then the lines, so no
 * more than a page is held. `empty` is printed instead when there is no row.
 */
export async function writeStatusTable(pages: Pages, write: Write, empty: string): Promise<void> {
  const widths = STATUS_HEADERS.map((h) => h.length);
  let rows = 0;
  for await (const page of pages()) {
    for (const r of page) statusCells(r).forEach((c, i) => (widths[i] = Math.max(widths[i]!, c.length)));
    rows += page.length;
  }
  if (rows === 0) {
    await write(`${empty}\n`);
    return;
  }
  await write(`${tableLine(STATUS_HEADERS, widths)}\n${tableLine(widths.map((w) => '-'.repeat(w)), widths)}\n`);
  // A row added between the passes is printed too; a wider cell then only pushes its line out.
  for await (const page of pages()) await write(page.map((r) => `${tableLine(statusCells(r), widths)}\n`).join(''));
}

/**
 * Write to a stream and wait for it to drain when its buffer is full: stdout on a pipe is
 * asynchronous, and a reader slower than the store (a pager, jq) must not make the rows pile up.
 */
export function streamWriter(stream: Writable): Write {
  return (text) => {
    if (stream.destroyed || stream.write(text)) return;
    // A reader that went away (EPIPE) never drains: stop waiting when the stream fails or closes.
    return new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      stream.on('drain', done).on('error', done).on('close', done);
    });
  };
}
