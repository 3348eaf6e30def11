import { dateDiff, hasStarted, localDate, midnightDate } from '../assignment/days.js';
import type { Term } from '../assignment/term.js';
import { InputError } from '../errors.js';
import type { AssignmentState, Store } from '../store/types.js';
import { nextAction, revocationComplete } from './state.js';

export const HEARTBEAT_KEY = 'expire.heartbeat';
export const HEARTBEAT_MAX_AGE_HOURS = 26;

export interface StatusRow {
  id: string;
  username: string;
  state: AssignmentState;
  /** `scheduled` for an active assignment whose start is still ahead. */
  display: string;
  start: string;
  lastDay: string;
  endsAt: string;
  daysLeft: number;
  renewalsLeft: number;
  nextAction: string;
}

export interface StatusResult {
  assignments: StatusRow[];
  heartbeat: { lastRun: string | null; stale: boolean; warning: string | null };
}

type Summary = Awaited<ReturnType<Store['listSummaries']>>[number];
type DaysLeft = (term: Pick<Term, 'endsAt' | 'timezone'>) => number;

/**
 * Days left for each active row, counted as term.ts's daysLeft counts them. Today's date is found
 * once per zone the cheap way (days.ts); only a zone or an end it cannot read loads luxon.
 */
async function dayCounter(terms: Pick<Term, 'endsAt' | 'timezone'>[], now: Date): Promise<DaysLeft> {
  const today = new Map<string, string | undefined>();
  let longWay = false;
  for (const t of terms) {
    if (!today.has(t.timezone)) today.set(t.timezone, localDate(now, t.timezone));
    if (today.get(t.timezone) === undefined || midnightDate(t.endsAt) === undefined) longWay = true;
  }
  const term = longWay ? await import('../assignment/term.js') : undefined;
  return (t) => {
    if (Date.parse(t.endsAt) <= now.getTime()) return 0;
    const from = today.get(t.timezone);
    const to = midnightDate(t.endsAt);
    return from !== undefined && to !== undefined ? Math.max(0, dateDiff(from, to)) : term!.daysLeft(t, now);
  };
}

function row(s: Summary, now: Date, daysLeft: DaysLeft): StatusRow {
  const scheduled = s.state === 'active' && !hasStarted(s, now);
  return {
    id: s.id,
    username: s.username,
    state: s.state,
    display: scheduled ? 'scheduled' : s.state,
    start: s.startsAt,
    lastDay: s.lastDay,
    endsAt: s.endsAt,
    daysLeft: s.state === 'active' ? daysLeft(s) : 0,
    renewalsLeft: Math.max(0, s.renewalsMax - s.renewalsUsed),
    nextAction: nextAction(s.state, scheduled, s.id),
  };
}

export async function heartbeat(store: Store, now: Date): Promise<StatusResult['heartbeat']> {
  const hb = await store.getMeta<{ at: string }>(HEARTBEAT_KEY);
  const active = (await store.countAssignments()) > 0;
  if (!hb) {
    return {
      lastRun: null,
      stale: active,
      warning: active ? 'The nightly job (detailee expire) has never completed a run against this store.' : null,
    };
  }
  const ageH = (now.getTime() - Date.parse(hb.at)) / 3_600_000;
  const stale = ageH > HEARTBEAT_MAX_AGE_HOURS;
  return {
    lastRun: hb.at,
    stale,
    warning: stale ? `The nightly job last completed ${Math.floor(ageH)} hours ago (at ${hb.at}); check its timer or cron entry.` : null,
  };
}

export async function status(store: Store, now: Date): Promise<StatusResult> {
  const summaries = await store.listSummaries();
  const daysLeft = await dayCounter(summaries.filter((s) => s.state === 'active'), now);
  return { assignments: summaries.map((s) => row(s, now, daysLeft)), heartbeat: await heartbeat(store, now) };
}

export interface ShowResult extends StatusRow {
  agreement: string;
  timezone: string;
  startsAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
  signers: { name: string; role: string; form: string }[];
  revocationComplete: boolean | null;
  /** False while an onboarding has not finished on every target. */
  provisioned: boolean;
  timeline: { seq: number; at: string; actor: string; kind: string; summary: string }[];
  journal: { at: string; operation: string; step: string; target: string; status: string; detail: string; error: string | null }[];
}

function summarise(kind: string, d: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of ['step', 'target', 'reason', 'renewalDays', 'endsAt', 'error', 'certificateId', 'entry']) {
    if (d[k] !== undefined) parts.push(`${k}=${String(d[k])}`);
  }
  return parts.join(' ') || kind;
}

export async function show(store: Store, id: string, now: Date): Promise<ShowResult> {
  const rec = await store.getAssignment(id);
  if (!rec) {
    throw new InputError(`No assignment ${id} in the store.`, {
      code: 'assignment.unknown',
      actions: ['Run `detailee status` to list assignments.'],
    });
  }
  const summary: Summary = {
    id: rec.id,
    state: rec.state,
    username: rec.username,
    startsAt: rec.term.startsAt,
    endsAt: rec.term.endsAt,
    lastDay: rec.term.lastDay,
    timezone: rec.term.timezone,
    renewalsUsed: rec.renewalsUsed,
    renewalsMax: rec.renewalsMax,
    revokedAt: rec.revokedAt,
  };
  const base = row(summary, now, await dayCounter([summary], now));
  const events = await store.auditFor(id);
  const journal = await store.journalFor(id);
  // The record exists from the first step of an onboarding; until every target is provisioned the
  // account is not in service, whatever the state column says.
  const unfinished = rec.state === 'active' && rec.data.provisioned !== true;
  return {
    ...base,
    ...(unfinished ? { display: 'onboarding incomplete', nextAction: 'finish onboarding: run `detailee onboard` with the same manifest again' } : {}),
    provisioned: rec.data.provisioned === true,
    start: rec.term.start,
    agreement: rec.manifest.agreement.reference,
    timezone: rec.term.timezone,
    startsAt: rec.term.startsAt,
    revokedAt: rec.revokedAt ?? null,
    revokeReason: rec.revokeReason ?? null,
    signers: rec.signers,
    revocationComplete: revocationComplete(rec),
    timeline: events.map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, kind: e.kind, summary: summarise(e.kind, e.details) })),
    journal: journal.map((j) => ({
      at: j.at,
      operation: j.operation,
      step: j.stepId,
      target: j.target,
      status: j.status,
      detail: j.detail,
      error: j.error ?? null,
    })),
  };
}
