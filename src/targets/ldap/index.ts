import type { LdapConfig } from '../../config/schema.js';
import { InputError } from '../../errors.js';
import { prove, proofProblems } from '../proof.js';
import type { Granted, Intent, Observed } from '../model.js';
import type { Target, VerifyResult } from '../target.js';
import { errText, openLdapConnection } from './client.js';
import { createLdapWriter } from './apply.js';
import { createLdapReader } from './observe.js';
import { ldapFacts, planLdap, type LdapFacts, type LdapStep } from './plan.js';
import { systemClock } from '../../time/clock.js';

/**
 * The LDAP target: `client.ts` reaches the directory, `observe.ts` reads it, `plan.ts` decides
 * (purely), `apply.ts` writes one step, and the proof of a revocation is `prove` over a fresh read.
 */

export interface LdapTarget extends Target {
  /**
   * Set the first password (onboard --issue-password) and mark it as reset, so ppolicy makes the
   * detailee change it. Sent with the Password Modify operation so the server hashes it.
   */
  setInitialPassword(username: string, password: string): Promise<void>;
}

export interface LdapTargetOptions {
  /** Dates the proof's reads; every instant this target writes comes from the intent. */
  clock?: { now(): Date };
  /** Told of each LDAP operation sent (bind, search, modify, add, del...): the benchmarks count them. */
  onCall?: (operation: string) => void;
}

export async function createLdapTarget(config: LdapConfig, bindPassword: string, options: LdapTargetOptions = {}): Promise<LdapTarget> {
  const conn = await openLdapConnection(config, bindPassword, options.onCall);
  const { server, groupClass, memberAttribute } = conn;
  const reader = createLdapReader(conn);
  const { findGroup, inspect } = reader;
  const { apply, setInitialPassword } = createLdapWriter(conn, reader);

  const plan = (observed: Observed, intent: Intent): LdapStep[] => planLdap(observed, intent, { groupMemberAttribute: memberAttribute });

  async function preflight(intent: Intent): Promise<void> {
    if (intent.kind !== 'provision' && intent.kind !== 'renew') return;
    const missing: string[] = [];
    for (const g of [...new Set(intent.desired.groups)]) if ((await findGroup(g)) === undefined) missing.push(g);
    if (missing.length > 0) {
      throw new InputError(`LDAP group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found as ${groupClass} under ${config.groupsDN}.`, {
        code: 'ldap.group.unknown',
        actions: ['Fix access.ldap.groups in the assignment, or have the group created first.'],
        details: { groups: missing, groupsDN: config.groupsDN, objectClass: groupClass },
      });
    }
  }

  async function verify(intent: Intent): Promise<VerifyResult> {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    const observed = await inspect(username);
    if (intent.kind === 'revoke') {
      const proof = prove(
        { target: 'ldap', assignmentId: intent.assignmentId, username, revokedAt: intent.revokedAt, object: intent.object },
        observed,
        { server, readAt: (options.clock ?? systemClock).now().toISOString() },
      );
      return { target: 'ldap', ok: proof.ok, problems: proofProblems(proof), observed, proof };
    }
    const problems: string[] = [];
    const f = ldapFacts(observed);
    try {
      for (const s of plan(observed, intent)) problems.push(`${s.id}: ${s.detail}`);
    } catch (e) {
      problems.push(errText(e));
    }
    if ((intent.kind === 'provision' || intent.kind === 'renew') && observed.exists && f.locked) {
      // detailee never unlocks: a lock is a revocation or an administrator's decision.
      problems.push(`locked (pwdAccountLockedTime ${f.lockedTime}); detailee does not unlock accounts`);
    }
    if (intent.kind === 'purge' && observed.exists) problems.push(`${f.dn ?? username} still exists`);
    return { target: 'ldap', ok: problems.length === 0, problems: [...new Set(problems)], observed };
  }

  function assume(granted: Granted, intent: Intent): Observed {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    const assignmentId = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.assignmentId : intent.assignmentId;
    // Removing a membership then needs no search for the group; a DN gone stale is looked up again.
    for (const [cn, dn] of Object.entries(granted.groupObjects ?? {})) reader.memberOf.set(cn, dn);
    const facts: LdapFacts = { dn: granted.object, managed: true, locked: false, permanentlyLocked: false, attributes: {} };
    return { target: 'ldap', username, exists: true, assignmentId, enabled: true, groups: [...new Set(granted.groups)].sort(), policies: [], facts: { ...facts } };
  }

  return {
    name: 'ldap',
    assume,
    server,
    preflight,
    inspect,
    observe: inspect,
    plan,
    apply,
    verify,
    listManaged: reader.listManaged,
    setInitialPassword,
    close: conn.close,
  };
}
