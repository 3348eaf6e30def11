/** A plain text table: no colour codes, so it reads the same in a log file as on a terminal. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  return [tableLine(headers, widths), tableLine(widths.map((w) => '-'.repeat(w)), widths), ...rows.map((r) => tableLine(r, widths))].join('\n');
}

/** One line of a table whose column widths are known: every cell but the last padded, no trailing blanks. */
export function tableLine(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
}
