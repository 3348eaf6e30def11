import { ActionError } from '../errors.js';
import type { AssignmentRecord, Store } from '../store/types.js';
import { groupsFor } from '../targets/index.js';
import { TARGET_NAMES, type TargetName } from '../targets/model.js';
import { type Target } from '../targets/target.js';

/**
 * The targets an assignment was provisioned on, as recorded at onboarding. Every later check
 * (revoke, expire, offboard, reconcile, status, show) works from this record, never from what the
 * config lists today: a target taken out of the config is not thereby revoked.
 */
export interface RecordedTarget {
  target: TargetName;
  /** The provisioned object: LDAP DN or IAM user ARN; absent until onboarding read it back. */
  object?: string | undefined;
  /** Group names and policy ARNs granted at provisioning (renewals keep them). */
  groups: string[];
  policies: string[];
  /** LDAP group DNs by cn, as the read-back after provisioning found them. */
  groupObjects?: Record<string, string> | undefined;
  /** When onboarding chose this target (before its first step). */
  recordedAt: string;
  /** When the read-back after provisioning confirmed the object. */
  provisionedAt?: string | undefined;
  /** AD: when the nightly job enabled an account provisioned (disabled) before its start, proven by a read. */
  enabledAt?: string | undefined;
}

function isTargetName(x: unknown): x is TargetName {
  return typeof x === 'string' && (TARGET_NAMES as readonly string[]).includes(x);
}

/** The record's own list, when it has one. */
export function recordedOn(rec: AssignmentRecord): RecordedTarget[] | undefined {
  const raw = rec.data.targets;
  if (!Array.isArray(raw)) return undefined;
  return raw.filter((t): t is RecordedTarget => typeof t === 'object' && t !== null && isTargetName((t as RecordedTarget).target));
}

/**
 * The recorded targets. Assignments onboarded before targets were recorded carry none; for them
 * the journal says which targets onboarding actually wrote to, which is evidence of the same kind.
 * No targets at all is an error: a revocation proven against nothing proves nothing.
 */
export async function recordedTargets(store: Store, rec: AssignmentRecord): Promise<RecordedTarget[]> {
  const own = recordedOn(rec);
  if (own !== undefined && own.length > 0) return own;
  const seen = new Map<TargetName, string>();
  if (own === undefined) {
    for (const j of await store.journalFor(rec.id)) {
      if (j.operation !== 'onboard' || !isTargetName(j.target)) continue;
      if (j.status === 'done' || j.status === 'verified' || j.status === 'started') {
        if (!seen.has(j.target)) seen.set(j.target, j.at);
      }
    }
  }
  if (seen.size === 0) {
    throw new ActionError(`Assignment ${rec.id} has no recorded targets: nothing can be proven about its accounts.`, {
      code: 'targets.unrecorded',
      actions: [
        'Run `detailee reconcile` to find the accounts of this detailee on the configured targets,',
        `then look at \`detailee show ${rec.id}\`; an assignment whose onboarding never reached a target has no account to revoke.`,
      ],
      details: { assignment: rec.id },
    });
  }
  const manifest = rec.manifest;
  return [...seen].map(([target, at]) => ({
    target,
    groups: groupsFor(target, manifest),
    policies: target === 'aws' ? manifest.access.aws.policies : [],
    recordedAt: at,
  }));
}

export interface RecordedSelection {
  /** Open targets that the assignment was provisioned on, in recorded order. */
  targets: Target[];
  /** Recorded targets that the config does not (or no longer does) configure. */
  missing: RecordedTarget[];
  recorded: RecordedTarget[];
}

/** Match the recorded targets with the targets open now. */
export function selectRecorded(recorded: RecordedTarget[], open: Target[]): RecordedSelection {
  const byName = new Map(open.map((t) => [t.name, t]));
  const targets: Target[] = [];
  const missing: RecordedTarget[] = [];
  for (const r of recorded) {
    const t = byName.get(r.target);
    if (t) targets.push(t);
    else missing.push(r);
  }
  return { targets, missing, recorded };
}

export function objectOf(recorded: RecordedTarget[], target: TargetName): string | undefined {
  return recorded.find((r) => r.target === target)?.object;
}
