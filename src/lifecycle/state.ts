import { InputError } from '../errors.js';
import type { AssignmentRecord, AssignmentState } from '../store/types.js';

/** The lifecycle of DESIGN.md. A renewal keeps `active`; nothing moves backwards. */
const TRANSITIONS: Record<AssignmentState, readonly AssignmentState[]> = {
  active: ['expired', 'revoked', 'offboarding'],
  expired: ['offboarding'],
  revoked: ['offboarding'],
  offboarding: ['closed'],
  closed: [],
};

export function canTransition(from: AssignmentState, to: AssignmentState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(id: string, from: AssignmentState, to: AssignmentState): void {
  if (!canTransition(from, to)) {
    throw new InputError(`Assignment ${id} is ${from}; it cannot become ${to}.`, {
      code: 'state.transition',
      actions: [`Run \`detailee show ${id}\` to see its history.`],
    });
  }
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
 * What the record says of its revocation: true when every target confirmed it, false when a run
 * left it unfinished (a target failed, or the process was killed), null when none was attempted.
 */
export function revocationComplete(rec: AssignmentRecord): boolean | null {
  const revocation = rec.data.revocation as { complete?: boolean } | undefined;
  return revocation ? revocation.complete === true : null;
}
