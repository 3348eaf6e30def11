/**
 * What every target is about, with no target's own types: the names, what an assignment wants
 * (Desired, Intent), what was granted and what was observed. The per-target planners import only
 * this, so the Target interface (which names their steps) and they never import each other.
 */
export type TargetName = 'ldap' | 'aws' | 'ad';
export const TARGET_NAMES: readonly TargetName[] = ['ldap', 'aws', 'ad'];

/** What an assignment wants to exist on a target. */
export interface Desired {
  assignmentId: string;
  username: string;
  givenName: string;
  familyName: string;
  email: string;
  /** Group names on this target (LDAP or AD cn, or IAM group name). */
  groups: string[];
  /** Managed policy ARNs (IAM only; empty for LDAP). */
  policies: string[];
  /** ISO instants: access begins and ends (exclusive) here. */
  startsAt: string;
  endsAt: string;
}

export type Intent =
  | { kind: 'provision'; desired: Desired }
  | {
      kind: 'revoke';
      assignmentId: string;
      username: string;
      revokedAt: string;
      /** The object recorded at provisioning (LDAP DN, IAM ARN): the proof checks it is the one read. */
      object?: string | undefined;
    }
  | { kind: 'renew'; desired: Desired }
  | { kind: 'purge'; assignmentId: string; username: string };

/** What an assignment's provisioning record says one target granted (see lifecycle/recorded.ts). */
export interface Granted {
  /** The provisioned object read back at onboarding: LDAP or AD DN, or IAM user ARN. */
  object: string;
  groups: string[];
  policies: string[];
  /** LDAP (or AD) group DNs by cn, as onboarding's read-back found them. */
  groupObjects?: Record<string, string> | undefined;
}

/** The live account as the target reports it. */
export interface Observed {
  target: TargetName;
  username: string;
  exists: boolean;
  /** The assignment id recorded on the account (LDAP description / IAM tag), if any. */
  assignmentId?: string | undefined;
  /** Whether the target would let the account in now (ignoring the term window). */
  enabled: boolean;
  groups: string[];
  policies: string[];
  startsAt?: string | undefined;
  endsAt?: string | undefined;
  revokedAt?: string | undefined;
  /** Target-specific facts the planner needs (e.g. access key ids, inline policy names). */
  facts: Record<string, unknown>;
}

/** What every step shows and how the journal names it, whatever the target. */
export interface StepDisplay {
  /**
   * Stable across runs for the same change, e.g. `ldap.group.add:analysts`, so the journal can
   * name it: the step's kind, then `:` and the object when there is one. Journal rows and audit
   * events carry it, so it never changes shape.
   */
  id: string;
  target: TargetName;
  /** A short verb for the plan table, e.g. "create entry". */
  action: string;
  /** Human detail for the plan table. Never a secret. */
  detail: string;
}
