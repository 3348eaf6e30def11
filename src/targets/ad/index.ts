import type { AdConfig } from '../../config/schema.js';
import { systemClock } from '../../time/clock.js';
import { prove, proofProblems } from '../proof.js';
import type { Intent, Observed } from '../model.js';
import type { Target, VerifyResult } from '../target.js';
import { createAdWriter } from './apply.js';
import { openAdConnection } from './client.js';
import { adFacts, checkAdUsername, provisionProblems, type AdOperation } from './model.js';
import { createAdReader } from './observe.js';
import { planAd, type AdStep } from './plan.js';

/**
 * The Active Directory target: `client.ts` reaches the DC, `observe.ts` reads it, `plan.ts`
 * decides (purely, given the time), `apply.ts` writes one step, and the proof of a revocation is
 * `prove` over a fresh read: the flag, the expiry and no group by either reading.
 */

export interface AdTargetOptions {
  /** What detailee believes the time is: the start-day enable and the "ended" refusals compare with it. */
  clock?: { now(): Date };
  /** Told of each LDAP operation sent: the benchmark counts them. */
  onCall?: (operation: AdOperation) => void;
}

export async function createAdTarget(config: AdConfig, bindPassword: string, options: AdTargetOptions = {}): Promise<Target> {
  const clock = options.clock ?? systemClock;
  const conn = await openAdConnection(config, bindPassword, options.onCall);
  const reader = createAdReader(conn);
  const { apply } = createAdWriter(conn, reader);
  const plan = (observed: Observed, intent: Intent): AdStep[] =>
    planAd(observed, intent, { now: clock.now(), mustChangePassword: config.mustChangePassword, upnSuffix: config.upnSuffix });

  async function preflight(intent: Intent): Promise<void> {
    if (intent.kind !== 'provision' && intent.kind !== 'renew') return;
    checkAdUsername(intent.desired.username);
    await reader.resolveGroups(intent.desired.groups);
  }

  async function verify(intent: Intent): Promise<VerifyResult> {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    const observed = await reader.inspect(username);
    if (intent.kind === 'revoke') {
      const proof = prove(
        { target: 'ad', assignmentId: intent.assignmentId, username, revokedAt: intent.revokedAt, object: intent.object },
        observed,
        { server: conn.server, readAt: clock.now().toISOString() },
      );
      return { target: 'ad', ok: proof.ok, problems: proofProblems(proof), observed, proof };
    }
    if (intent.kind === 'purge') {
      const problems = observed.exists ? [`${adFacts(observed).dn ?? username} still exists`] : [];
      return { target: 'ad', ok: problems.length === 0, problems, observed };
    }
    const d = intent.desired;
    let problems: string[];
    try {
      const groups = await reader.resolveGroups(d.groups);
      // A group added by hand is reconcile's finding (it never removes groups from an active account), not a failed step.
      problems = provisionProblems(adFacts(observed), { assignmentId: d.assignmentId, startsAt: d.startsAt, endsAt: d.endsAt, groupDNs: [...groups.values()] }, clock.now(), { extraGroups: false });
    } catch (e) {
      // A group that cannot be resolved is not proven either way.
      problems = [(e as Error).message];
    }
    return { target: 'ad', ok: problems.length === 0, problems, observed };
  }

  return {
    name: 'ad',
    server: conn.server,
    preflight,
    inspect: (username) => reader.inspect(username),
    observe: (username) => reader.inspect(username),
    plan,
    apply,
    verify,
    listManaged: reader.listManaged,
    close: conn.close,
  };
}
