/**
 * How a v3 certificate prints an instant: in the host's zone, the zone named (abbreviation and
 * IANA name, since an abbreviation alone is ambiguous: CST is three zones), with UTC beside it, so
 * a reader in any office, and an auditor comparing with logs kept in UTC, reads the same moment.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** "2025-06-06 00:00:00 EDT (America/New_York; 2025-06-06 04:00:00 UTC)". */
export function hostTime(iso: string, timeZone: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new TypeError(`not an instant: ${iso}`);
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(at)) p[part.type] = part.value;
  const utc = at.toISOString();
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName} (${timeZone}; ${utc.slice(0, 10)} ${utc.slice(11, 19)} UTC)`;
}
