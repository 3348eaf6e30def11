import type { AdStep } from './ad/plan.js';
import type { IamStep } from './aws/plan.js';
import type { LdapStep } from './ldap/plan.js';
import type { TargetProof } from './proof.js';
import type { Granted, Intent, Observed, TargetName } from './model.js';

/** One change on one target, typed per kind: `apply` switches on `kind`, never on the id's text. */
export type Step = LdapStep | IamStep | AdStep;

export interface VerifyResult {
  target: TargetName;
  ok: boolean;
  /** What did not match, one line each; empty when ok. */
  problems: string[];
  observed: Observed;
  /** For a revocation: the proof, from facts read live after the change. */
  proof?: TargetProof | undefined;
}

/**
 * One interface for every account system. A target inspects the live account, a pure planner
 * turns (observed, intent) into steps, each step is applied idempotently, and verify re-reads the
 * live state and compares it with what the intent promised.
 */
export interface Target {
  readonly name: TargetName;
  /** Where the target is (URL or endpoint, never credentials), named in every proof. */
  readonly server: string;
  /** Refuse (before any write) what the target cannot do, e.g. an unknown group. */
  preflight(intent: Intent): Promise<void>;
  /**
   * Read the live account. `purpose` names the intent the read is for: a target may then leave out
   * what that intent's plan never looks at. Without it, everything.
   */
  inspect(username: string, purpose?: Intent['kind']): Promise<Observed>;
  /** Read everything the target holds for the account, live: never a read-ahead, never a cache. */
  observe(username: string): Promise<Observed>;
  /**
   * Optional: read ahead, in as few requests as the target can, what the revocation plans of these
   * accounts need. Each account's read-ahead serves its next `inspect(username, 'revoke')` once;
   * `verify` never uses it. Replaces the previous read-ahead; a failure to read ahead only means
   * each account is read on its own.
   */
  readAhead?(usernames: readonly string[]): Promise<void>;
  /**
   * Optional: after a batch of revocations has been written, read in as few requests as the target
   * can what their proofs read. Each account's listing serves its next revocation `verify` once,
   * and only if no write to that account was under way or started while it was being read; any
   * other `verify` reads the account on its own. Replaces the previous listing; a failure to list
   * only means each account is read on its own.
   */
  listForProof?(usernames: readonly string[]): Promise<void>;
  /**
   * Optional: the account as its provisioning record describes it, so a first revocation can plan
   * its writes without reading first. Never evidence: the proof after the writes reads everything
   * live, and whatever the record missed (a group added by hand, a new key) fails that proof, after
   * which the revocation reads, plans and applies again.
   */
  assume?(granted: Granted, intent: Intent): Observed;
  /** Pure: the steps that take `observed` to what `intent` asks. Empty when already there. */
  plan(observed: Observed, intent: Intent): Step[];
  /** Apply one step; applying it twice has the effect of applying it once. */
  apply(step: Step): Promise<void>;
  /**
   * Re-read the live account and check it against the intent. A revocation is checked by
   * `prove` over a fresh read (never a read-ahead), and the result carries that proof.
   */
  verify(intent: Intent): Promise<VerifyResult>;
  /** Every account on the target that is marked as managed by detailee (for reconcile). */
  listManaged(): Promise<Observed[]>;
  close(): Promise<void>;
}
