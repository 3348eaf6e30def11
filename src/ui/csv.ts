/**
 * RFC 4180: a header row, CRLF after every record, and a field quoted (its quotes doubled) when it
 * holds a comma, a quote, CR or LF. Leading or trailing blanks are kept as they are.
 */
export function csv(headers: readonly string[], rows: readonly (readonly (string | number | boolean | null)[])[]): string {
  const field = (v: string | number | boolean | null) => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [headers, ...rows].map((r) => `${r.map(field).join(',')}\r\n`).join('');
}
