import { InputError } from '../../errors.js';
import type { Desired, Intent, Observed, StepDisplay } from '../model.js';

/**
 * The LDAP planner: a pure function of (observed entry, intent). It imports no client so it can be
 * tested, and reasoned about, without a server. `ldap.ts` turns each step into LDAP operations.
 */

export type MemberAttribute = 'member' | 'memberUid';

export interface LdapPlanConfig {
  groupMemberAttribute: MemberAttribute;
}

/** The parameters of each kind of LDAP step. */
interface LdapStepParams {
  'ldap.entry.create': { username: string; attributes: Record<ManagedAttribute, string> };
  'ldap.entry.update': { username: string; replace: Partial<Record<ManagedAttribute, string>> };
  'ldap.term.set': { username: string; startsAt: string; endsAt: string };
  'ldap.term.renew': { username: string; endsAt: string };
  'ldap.term.end': { username: string; endsAt: string };
  /** With `endsAt`, the same modify also ends the term there (one operation instead of two). */
  'ldap.lock': { username: string; endsAt?: string };
  'ldap.group.add': { username: string; group: string; memberAttribute: MemberAttribute };
  'ldap.group.remove': { username: string; group: string; memberAttribute: MemberAttribute };
  /** The entry is deleted only while it still names `assignmentId` (null: an orphan with none). */
  'ldap.entry.delete': { username: string; assignmentId: string | null };
}

type LdapStepKind = keyof LdapStepParams;

/** Every change the LDAP target makes, one variant per kind; `id` is the kind, then `:group` for memberships. */
export type LdapStep = LdapStepOf<LdapStepKind>;
type LdapStepOf<K extends LdapStepKind> = { [Q in K]: StepDisplay & { target: 'ldap'; kind: Q; params: LdapStepParams[Q] } }[K];

/** Builds a step whose id is derived from its kind, so the two never disagree. */
function step<K extends LdapStepKind>(kind: K, object: string | undefined, action: string, detail: string, params: LdapStepParams[K]): LdapStepOf<K> {
  return {
    id: object === undefined ? kind : `${kind}:${object}`,
    target: 'ldap',
    kind,
    action,
    detail,
    params,
  };
}

/** ppolicy reads this pwdAccountLockedTime as "locked until an administrator unlocks". */
export const PERMANENT_LOCK = '000001010000Z';

/** Marks an entry as ours and ties it to its assignment. */
export const DESCRIPTION_PREFIX = 'detailee:';
export const EMPLOYEE_TYPE = 'detailee';

/** The user attributes detailee owns on the entry; anything else on it is left alone. */
export const MANAGED_ATTRIBUTES = ['cn', 'sn', 'givenName', 'mail', 'employeeType', 'description'] as const;
export type ManagedAttribute = (typeof MANAGED_ATTRIBUTES)[number];

/** What `inspect` puts in Observed.facts for this target. */
export interface LdapFacts {
  dn?: string;
  /** employeeType is detailee. */
  managed: boolean;
  /** pwdAccountLockedTime is present (ppolicy refuses binds). */
  locked: boolean;
  lockedTime?: string;
  permanentlyLocked: boolean;
  /** Current values of the managed attributes (first value of each). */
  attributes: Partial<Record<ManagedAttribute, string>>;
  /** Group DNs by cn, for the groups the read found the entry in. */
  groupObjects?: Record<string, string>;
}

export function ldapFacts(observed: Observed): LdapFacts {
  const f = observed.facts as Partial<LdapFacts>;
  return {
    ...(f.dn === undefined ? {} : { dn: f.dn }),
    managed: f.managed === true,
    locked: f.locked === true,
    ...(f.lockedTime === undefined ? {} : { lockedTime: f.lockedTime }),
    permanentlyLocked: f.permanentlyLocked === true,
    attributes: f.attributes ?? {},
    ...(f.groupObjects === undefined ? {} : { groupObjects: f.groupObjects }),
  };
}

/** ISO instant → LDAP GeneralizedTime in UTC, to the second (YYYYMMDDHHMMSSZ). */
export function toGeneralizedTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new InputError(`Not an instant: ${JSON.stringify(iso)}`, { code: 'ldap.time' });
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** LDAP GeneralizedTime → ISO instant (UTC); undefined for what it cannot read. */
export function fromGeneralizedTime(gt: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)$/.exec(gt.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi = '00', s = '00', frac, zone = 'Z'] = m;
  const ms = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  // Date.UTC maps years 0–99 to 1900–1999; the permanent-lock sentinel is year 0000.
  if (Number(y) < 100) t = new Date(t).setUTCFullYear(Number(y));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offMin = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || '0');
    t -= sign * offMin * 60_000;
  }
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Same instant to the second: LDAP keeps no milliseconds. */
function sameSecond(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  return Math.floor(Date.parse(a) / 1000) === Math.floor(Date.parse(b) / 1000);
}

function later(a: string, b: string): boolean {
  return Math.floor(Date.parse(a) / 1000) > Math.floor(Date.parse(b) / 1000);
}

export function descriptionFor(assignmentId: string): string {
  return `${DESCRIPTION_PREFIX}${assignmentId}`;
}

export function desiredAttributes(d: Desired): Record<ManagedAttribute, string> {
  return {
    cn: `${d.givenName} ${d.familyName}`,
    sn: d.familyName,
    givenName: d.givenName,
    mail: d.email,
    employeeType: EMPLOYEE_TYPE,
    description: descriptionFor(d.assignmentId),
  };
}

/**
 * Values become RDNs and filter assertions. Those are escaped by the client library, but an empty
 * value, control characters or edge whitespace have no safe, unambiguous encoding, so they are
 * refused before anything is written.
 */
function checkName(kind: 'username' | 'group', value: string): void {
  // eslint-disable-next-line no-control-regex
  if (value.length === 0 || value.length > 256 || /[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value) {
    throw new InputError(`The LDAP ${kind} ${JSON.stringify(value)} cannot be used: it is empty, too long, or has control characters or edge spaces.`, {
      code: 'ldap.name',
      actions: [`Use a plain ${kind}.`],
    });
  }
}

function refuseForeign(observed: Observed, assignmentId: string, kind: Intent['kind']): void {
  const f = ldapFacts(observed);
  const mine = observed.assignmentId === assignmentId;
  // A revoke or purge may reach a managed entry that lost its description (reconcile's orphans).
  const tolerable = (kind === 'revoke' || kind === 'purge') && f.managed && observed.assignmentId === undefined;
  if (mine || tolerable) return;
  const whose =
    observed.assignmentId !== undefined
      ? `belongs to assignment ${observed.assignmentId}`
      : f.managed
        ? 'is a detailee entry with no assignment recorded'
        : 'is not a detailee entry';
  throw new InputError(`The LDAP entry for ${observed.username}${f.dn ? ` (${f.dn})` : ''} already exists and ${whose}; refusing to ${kind} it for assignment ${assignmentId}.`, {
    code: 'ldap.foreign-entry',
    actions: ['Choose another username, or have a directory administrator resolve the existing entry.'],
    details: { username: observed.username, dn: f.dn, recordedAssignment: observed.assignmentId ?? null },
  });
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

function groupRemovals(observed: Observed, memberAttribute: MemberAttribute, username: string): LdapStep[] {
  return uniq(observed.groups)
    .sort()
    .map((g) => step('ldap.group.remove', g, 'remove from group', `remove ${username} from ${g} (${memberAttribute})`, { username, group: g, memberAttribute }));
}

export function planLdap(observed: Observed, intent: Intent, config: LdapPlanConfig): LdapStep[] {
  const memberAttribute = config.groupMemberAttribute;
  const f = ldapFacts(observed);
  switch (intent.kind) {
    case 'provision': {
      const d = intent.desired;
      checkName('username', d.username);
      for (const g of d.groups) checkName('group', g);
      const steps: LdapStep[] = [];
      const want = desiredAttributes(d);
      if (!observed.exists) {
        steps.push(step('ldap.entry.create', undefined, 'create entry', `create uid=${d.username} (${want.cn}, ${want.mail}) for ${d.assignmentId}`, { username: d.username, attributes: want }));
      } else {
        refuseForeign(observed, d.assignmentId, 'provision');
        const replace: Partial<Record<ManagedAttribute, string>> = {};
        for (const a of MANAGED_ATTRIBUTES) if (f.attributes[a] !== want[a]) replace[a] = want[a];
        const names = Object.keys(replace);
        if (names.length > 0) {
          steps.push(step('ldap.entry.update', undefined, 'update entry', `set ${names.join(', ')} on uid=${d.username}`, { username: d.username, replace }));
        }
      }
      if (!observed.exists || !sameSecond(observed.startsAt, d.startsAt) || !sameSecond(observed.endsAt, d.endsAt)) {
        steps.push(
          step('ldap.term.set', undefined, 'set term', `pwdStartTime ${toGeneralizedTime(d.startsAt)}, pwdEndTime ${toGeneralizedTime(d.endsAt)}`, {
            username: d.username,
            startsAt: d.startsAt,
            endsAt: d.endsAt,
          }),
        );
      }
      // A membership can outlive its entry (memberUid is a bare name); it already counts.
      const have = new Set(observed.groups);
      for (const g of uniq(d.groups)) {
        if (have.has(g)) continue;
        steps.push(step('ldap.group.add', g, 'add to group', `add ${d.username} to ${g} (${memberAttribute})`, { username: d.username, group: g, memberAttribute }));
      }
      return steps;
    }
    case 'renew': {
      const d = intent.desired;
      checkName('username', d.username);
      if (!observed.exists) {
        throw new InputError(`There is no LDAP entry for ${d.username} to renew.`, {
          code: 'ldap.renew.missing',
          actions: ['Run `detailee reconcile` to see why the account is missing.'],
        });
      }
      refuseForeign(observed, d.assignmentId, 'renew');
      if (f.locked) {
        throw new InputError(`The LDAP entry for ${d.username} is locked (revoked); a revoked account is not renewed.`, {
          code: 'ldap.renew.revoked',
          actions: ['A revoked detail needs a new signed assignment.'],
        });
      }
      if (sameSecond(observed.endsAt, d.endsAt)) return [];
      return [
        step('ldap.term.renew', undefined, 'extend term', `pwdEndTime ${observed.endsAt ? toGeneralizedTime(observed.endsAt) : '(none)'} → ${toGeneralizedTime(d.endsAt)}`, {
          username: d.username,
          endsAt: d.endsAt,
        }),
      ];
    }
    case 'revoke': {
      checkName('username', intent.username);
      const steps: LdapStep[] = [];
      if (observed.exists) {
        refuseForeign(observed, intent.assignmentId, 'revoke');
        // Lock first: it alone stops the next bind, whatever happens to the later steps.
        const end = observed.endsAt === undefined || later(observed.endsAt, intent.revokedAt);
        if (!f.permanentlyLocked) {
          // The lock and the end of term go in one modify: one operation, and no moment with one but not the other.
          const detail = `pwdAccountLockedTime ${PERMANENT_LOCK}${end ? `, pwdEndTime ${toGeneralizedTime(intent.revokedAt)}` : ''} on uid=${intent.username}`;
          steps.push(step('ldap.lock', undefined, 'lock account', detail, { username: intent.username, ...(end ? { endsAt: intent.revokedAt } : {}) }));
        } else if (end) {
          steps.push(step('ldap.term.end', undefined, 'end term', `pwdEndTime ${toGeneralizedTime(intent.revokedAt)}`, { username: intent.username, endsAt: intent.revokedAt }));
        }
      }
      // Memberships left behind by a missing entry (memberUid holds a bare name) are removed too.
      steps.push(...groupRemovals(observed, memberAttribute, intent.username));
      return steps;
    }
    case 'purge': {
      checkName('username', intent.username);
      if (observed.exists) refuseForeign(observed, intent.assignmentId, 'purge');
      const steps = groupRemovals(observed, memberAttribute, intent.username);
      if (observed.exists) {
        steps.push(step('ldap.entry.delete', undefined, 'delete entry', `delete uid=${intent.username}`, { username: intent.username, assignmentId: observed.assignmentId ?? null }));
      }
      return steps;
    }
  }
}
