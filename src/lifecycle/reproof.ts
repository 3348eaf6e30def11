/**
 * Which ended assignments the nightly job re-proves tonight: every night while the end is recent,
 * then on a rolling schedule that spreads the rest evenly over the nights, so each is read at
 * least once every `everyDays` days without one night reading them all.
 */
export interface ReproofSchedule {
  nightlyDays: number;
  everyDays: number;
}

const DAY_MS = 86_400_000;

export function reproofDue(s: { id: string; endsAt: string; revokedAt?: string | undefined }, now: Date, o: ReproofSchedule): boolean {
  const ended = Math.min(Date.parse(s.endsAt), s.revokedAt === undefined ? Infinity : Date.parse(s.revokedAt));
  if (Number.isNaN(ended) || now.getTime() - ended <= o.nightlyDays * DAY_MS) return true;
  const day = Math.floor(now.getTime() / DAY_MS);
  return (day + slot(s.id)) % o.everyDays === 0;
}

/** A stable small number per id (FNV-1a), so an assignment keeps its night of the week. */
function slot(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
