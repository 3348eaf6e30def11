import { InputError } from '../errors.js';
import type { AssignmentRecord, AssignmentState, RevocationCondition, StoreTx } from '../store/types.js';
import type { TargetProof } from '../targets/proof.js';
import type { RecordedTarget } from './recorded.js';

/**
 * The lifecycle of an assignment, in one place: the states, the legal transitions, and what the
 * record carries in each state. Every state change goes through `transition`; a command that
 * needs a state checks it with `requireState`. A renewal keeps `active`; nothing moves backwards.
 */
const TRANSITIONS: Record<AssignmentState, readonly AssignmentState[]> = {
  active: ['expired', 'revoked'],
  expired: ['offboarding'],
  revoked: ['offboarding'],
  offboarding: ['closed'],
  closed: [],
};

/** What `data.revocation` holds once a revocation has started. */
interface RevocationRecord {
  revokedAt: string;
  complete: boolean;
  condition?: RevocationCondition | undefined;
  targets: { target: string; verifiedAt: string; evidence: string[] }[];
  proofs?: TargetProof[] | undefined;
  unproven?: { target: string; reason: string }[] | undefined;
  checkedAt?: string | undefined;
  regressedAt?: string | undefined;
}

/** The record's data in every state. */
interface ActiveData {
  provisioned?: boolean | undefined;
  provisionedAt?: string | undefined;
  /** The targets onboarding chose, recorded before its first step (recorded.ts). */
  targets?: RecordedTarget[] | undefined;
}
interface EndedData extends ActiveData {
  revocation?: RevocationRecord | undefined;
}
interface OffboardingData extends EndedData {
  /** Checklist answers given so far (never FTI itself). */
  offboardingProgress?: Record<string, unknown> | undefined;
}
interface ClosedData extends EndedData {
  certificateId: string;
}
export interface StateData {
  active: ActiveData;
  expired: EndedData;
  revoked: EndedData;
  offboarding: OffboardingData;
  closed: ClosedData;
}

export function canTransition(from: AssignmentState, to: AssignmentState): boolean {
  return TRANSITIONS[from].includes(to);
}

function allowedText(from: AssignmentState): string {
  const to = TRANSITIONS[from];
  return to.length === 0 ? `${from} is final` : `from ${from} it can become ${to.join(' or ')}`;
}

export function assertTransition(id: string, from: AssignmentState, to: AssignmentState): void {
  if (!canTransition(from, to)) {
    throw new InputError(`Assignment ${id} is ${from}; it cannot become ${to} (${allowedText(from)}).`, {
      code: 'state.transition',
      actions: [`Run \`detailee show ${id}\` to see its history.`],
      details: { state: from, requested: to, allowed: TRANSITIONS[from] },
    });
  }
}

/** Refuse (exit 2) a command that needs the assignment in one of `allowed`. */
export function requireState(rec: AssignmentRecord, allowed: readonly AssignmentState[], command: string, actions?: string[]): void {
  if (allowed.includes(rec.state)) return;
  throw new InputError(`Assignment ${rec.id} is ${rec.state}; \`detailee ${command}\` needs it ${allowed.join(', ')}.`, {
    code: 'state.required',
    actions: actions ?? [`Run \`detailee show ${rec.id}\` to see its history.`],
    details: { state: rec.state, allowed },
  });
}


/**
 * Move `cur` to `to` inside a transaction, merging `data` for the new state. Illegal moves are
 * refused with exit 2 before anything is written. Returns the record as written.
 */
export async function transition<S extends AssignmentState>(
  tx: StoreTx,
  cur: AssignmentRecord,
  to: S,
  change: { at: string; data?: Partial<StateData[S]>; drop?: string[]; revokedAt?: string; revokeReason?: string },
): Promise<AssignmentRecord> {
  assertTransition(cur.id, cur.state, to);
  const data: Record<string, unknown> = { ...cur.data, ...(change.data ?? {}) };
  for (const k of change.drop ?? []) delete data[k];
  const next: AssignmentRecord = {
    ...cur,
    state: to,
    updatedAt: change.at,
    ...(change.revokedAt === undefined ? {} : { revokedAt: change.revokedAt }),
    ...(change.revokeReason === undefined ? {} : { revokeReason: change.revokeReason }),
    data,
  };
  next.version = await tx.updateAssignment(next, cur.version);
  return next;
}

/** What the officer should do next, for `status` and `show`: a command to type as it stands. */
export function nextAction(state: AssignmentState, scheduled: boolean, id: string): string {
  switch (state) {
    case 'active':
      return scheduled ? 'starts later; nothing to do' : 'expires at end of term (nightly job)';
    case 'expired':
    case 'revoked':
      return `offboard: detailee offboard ${id}`;
    case 'offboarding':
      return `finish offboarding: detailee offboard ${id}`;
    case 'closed':
      return 'none (certificate issued)';
  }
}

/**
 * What the record says of its revocation: true when every recorded target was proven, false when
 * a run left it unfinished or a re-proof failed, null when none was attempted.
 */
export function revocationComplete(rec: AssignmentRecord): boolean | null {
  const revocation = rec.data.revocation as RevocationRecord | undefined;
  if (!revocation) return null;
  return revocation.complete === true && revocation.condition !== 'regressed';
}
