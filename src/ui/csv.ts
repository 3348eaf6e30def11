/**
 * RFC 4180: a header row, CRLF after every record, and a field quoted (its quotes doubled) when it
 * holds a comma, a quote, CR or LF. Leading or trailing blanks are kept as they are.
 */
type Field = string | number | boolean | null;

export function csv(headers: readonly string[], rows: readonly (readonly Field[])[]): string {
  return [headers, ...rows].map(csvRecord).join('');
}

/** One record and its CRLF. */
export function csvRecord(fields: readonly Field[]): string {
  return `${fields.map(field).join(',')}\r\n`;
}

function field(v: Field): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}
