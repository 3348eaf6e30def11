import { ActionError, InputError } from '../../errors.js';
import type { Intent, Observed, StepDisplay } from '../model.js';
import { AD_DESCRIPTION_PREFIX, AD_MARKER, AD_ATTRIBUTES, adFacts, checkAdUsername, memberDNs, type AdAttribute, type AdDesired, type AdObservation } from './model.js';
import { UAC, isDisabled, withDisabled } from './uac.js';

/**
 * The AD planner: a pure function of (observed account, intent, the time now). AD has no "not
 * before": the planner keeps an account disabled until its start and plans its enabling from the
 * start on, which is how the nightly job enables it on the start day. `accountExpires` holds the
 * end, so the DC refuses the account after it without detailee.
 */

export interface AdPlanConfig {
  now: Date;
  /** targets.ad.mustChangePassword: the first password must be changed at first logon (pwdLastSet 0). */
  mustChangePassword: boolean;
  upnSuffix: string;
}

interface AdStepParams {
  /** The account is created with a random password nobody learns, disabled when `disabled`. */
  'ad.user.create': { username: string; userPrincipalName: string; attributes: Record<AdAttribute, string>; accountExpires: string; disabled: boolean; mustChangePassword: boolean };
  'ad.user.update': { username: string; dn: string; replace: Partial<Record<AdAttribute, string>> };
  'ad.expiry.set': { username: string; dn: string; accountExpires: string };
  /** userAccountControl as it must become (computed from the value read), with accountExpires in the same modify when given. */
  'ad.enable': { username: string; dn: string; userAccountControl: number };
  'ad.disable': { username: string; dn: string; userAccountControl: number; accountExpires?: string };
  'ad.flags.clear': { username: string; dn: string; userAccountControl: number };
  'ad.password.scramble': { username: string; dn: string };
  /** `dn` when the account existed at planning; otherwise the one `ad.user.create` makes. */
  'ad.group.add': { username: string; group: string; dn?: string };
  'ad.group.remove': { username: string; dn: string; groupDN: string };
  /** Deleted only while it still names `assignmentId` (null: a marked account with none). */
  'ad.user.delete': { username: string; dn: string; assignmentId: string | null };
}

type AdStepKind = keyof AdStepParams;
/** Every change the AD target makes, one variant per kind. */
export type AdStep = AdStepOf<AdStepKind>;
type AdStepOf<K extends AdStepKind> = { [Q in K]: StepDisplay & { target: 'ad'; kind: Q; params: AdStepParams[Q] } }[K];

function step<K extends AdStepKind>(kind: K, object: string | undefined, action: string, detail: string, params: AdStepParams[K]): AdStepOf<K> {
  return { id: object === undefined ? kind : `${kind}:${object}`, target: 'ad', kind, action, detail, params };
}

/** Bits that let an account in without the password the DC holds, or keep its password forever. */
const UNSAFE = UAC.PASSWD_NOTREQD | UAC.ENCRYPTED_TEXT_PWD_ALLOWED | UAC.DONT_EXPIRE_PASSWORD;

function desiredAdAttributes(d: AdDesired): Record<AdAttribute, string> {
  return {
    givenName: d.givenName,
    sn: d.familyName,
    displayName: `${d.givenName} ${d.familyName}`,
    mail: d.email,
    description: `${AD_DESCRIPTION_PREFIX}${d.assignmentId}`,
    employeeType: AD_MARKER,
  };
}

const iso = (t: string | number) => new Date(typeof t === 'number' ? t : Date.parse(t)).toISOString();

/** accountExpires is past: the account ended or was revoked, and detailee never re-opens it. */
function ended(o: AdObservation, now: Date): boolean {
  return o.accountExpires !== undefined && o.accountExpires !== 'never' && Date.parse(o.accountExpires) <= now.getTime();
}

function refuseEnded(o: AdObservation, now: Date, action: string): void {
  if (!ended(o, now)) return;
  throw new ActionError(`The AD account ${o.dn ?? o.username} ended or was revoked (accountExpires ${o.accountExpires}); detailee does not ${action} it.`, {
    code: 'ad.ended',
    actions: ['A new term needs a new assignment; a domain administrator decides about the old account.'],
  });
}

function refuseForeign(o: AdObservation, assignmentId: string, kind: Intent['kind']): void {
  const mine = o.managed && o.assignmentId === assignmentId;
  // A revoke or purge may reach a marked account that lost its description (reconcile's orphans).
  const tolerable = (kind === 'revoke' || kind === 'purge') && o.managed && o.assignmentId === undefined;
  if (mine || tolerable) return;
  const whose = o.assignmentId !== undefined ? `belongs to assignment ${o.assignmentId}` : o.managed ? 'is a detailee account with no assignment recorded' : 'is not a detailee account';
  throw new ActionError(`The AD account ${o.username} (${o.dn ?? '?'}) already exists and ${whose}; refusing to ${kind} it for assignment ${assignmentId}.`, {
    code: 'ad.foreign-entry',
    actions: ['Rename the detailee, or have a domain administrator look at the existing account.'],
    details: { username: o.username, dn: o.dn, recordedAssignment: o.assignmentId ?? null },
  });
}

/** The flags step that makes the account enabled or disabled as `disabled` says, and clears unsafe bits. */
function flagsStep(o: AdObservation & { dn: string }, disabled: boolean): AdStep | undefined {
  const have = o.userAccountControl ?? UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;
  const want = withDisabled((have & ~UNSAFE) >>> 0, disabled);
  if (o.userAccountControl !== undefined && want === have) return undefined;
  const detail = `userAccountControl ${have} → ${want} on ${o.dn}`;
  const params = { username: o.username, dn: o.dn, userAccountControl: want };
  if (disabled && !isDisabled(have)) return step('ad.disable', undefined, 'disable account', detail, params);
  if (!disabled && isDisabled(have)) return step('ad.enable', undefined, 'enable account', `${detail} (the term has begun)`, params);
  return step('ad.flags.clear', undefined, 'clear unsafe flags', detail, params);
}

function planProvision(o: AdObservation, groups: string[], d: AdDesired, c: AdPlanConfig): AdStep[] {
  checkAdUsername(d.username);
  const start = Date.parse(d.startsAt);
  const end = Date.parse(d.endsAt);
  if (!(start < end)) throw new InputError(`The term ${d.startsAt} – ${d.endsAt} is empty.`, { code: 'ad.term' });
  const now = c.now.getTime();
  const beforeStart = now < start;
  const want = desiredAdAttributes(d);
  const steps: AdStep[] = [];
  if (!o.exists || o.dn === undefined) {
    if (end <= now) throw new InputError(`The term of ${d.assignmentId} ended at ${d.endsAt}; an AD account is not created after its end.`, { code: 'ad.term.ended' });
    steps.push(
      step('ad.user.create', undefined, 'create account', `create ${d.username}@${c.upnSuffix} (${want.displayName}, ${want.mail}), ${beforeStart ? 'disabled until the start' : 'enabled'}, accountExpires ${iso(end)}`, {
        username: d.username,
        userPrincipalName: `${d.username}@${c.upnSuffix}`,
        attributes: want,
        accountExpires: iso(end),
        disabled: beforeStart,
        mustChangePassword: c.mustChangePassword,
      }),
    );
    for (const g of [...new Set(d.groups)]) steps.push(step('ad.group.add', g, 'add to group', `add ${d.username} to ${g}`, { username: d.username, group: g }));
    return steps;
  }
  const account = o as AdObservation & { dn: string };
  refuseForeign(account, d.assignmentId, 'provision');
  refuseEnded(account, c.now, 'provision');
  const replace: Partial<Record<AdAttribute, string>> = {};
  for (const a of AD_ATTRIBUTES) if (account.attributes?.[a] !== want[a]) replace[a] = want[a];
  if (Object.keys(replace).length > 0) steps.push(step('ad.user.update', undefined, 'update account', `set ${Object.keys(replace).join(', ')} on ${account.dn}`, { username: d.username, dn: account.dn, replace }));
  if (account.accountExpires !== iso(end)) {
    steps.push(step('ad.expiry.set', undefined, 'set expiry', `accountExpires ${account.accountExpires ?? 'absent'} → ${iso(end)}`, { username: d.username, dn: account.dn, accountExpires: iso(end) }));
  }
  const flags = flagsStep(account, beforeStart || end <= now);
  if (flags) steps.push(flags);
  const have = new Set(groups);
  for (const g of [...new Set(d.groups)]) if (!have.has(g)) steps.push(step('ad.group.add', g, 'add to group', `add ${d.username} to ${g}`, { username: d.username, group: g, dn: account.dn }));
  return steps;
}

function groupRemovals(o: AdObservation & { dn: string }): AdStep[] {
  return memberDNs(o).map((g) => step('ad.group.remove', g, 'remove from group', `remove ${o.username} from ${g}`, { username: o.username, dn: o.dn, groupDN: g }));
}

export function planAd(observed: Observed, intent: Intent, c: AdPlanConfig): AdStep[] {
  const o = adFacts(observed);
  switch (intent.kind) {
    case 'provision':
      return planProvision(o, observed.groups, intent.desired, c);
    case 'renew': {
      const d = intent.desired;
      if (!o.exists || o.dn === undefined) throw new ActionError(`There is no AD account for ${d.username} to renew.`, { code: 'ad.missing', actions: ['Run `detailee reconcile` to see why the account is missing.'] });
      refuseForeign(o, d.assignmentId, 'renew');
      refuseEnded(o, c.now, 'renew');
      const steps: AdStep[] = [];
      if (o.accountExpires !== iso(d.endsAt)) {
        steps.push(step('ad.expiry.set', undefined, 'extend term', `accountExpires ${o.accountExpires ?? 'absent'} → ${iso(d.endsAt)}`, { username: d.username, dn: o.dn, accountExpires: iso(d.endsAt) }));
      }
      // A started account the nightly job has not enabled yet is enabled with it (never one before its start).
      const flags = flagsStep(o as AdObservation & { dn: string }, c.now.getTime() < Date.parse(d.startsAt));
      if (flags?.kind === 'ad.enable') steps.push(flags);
      return steps;
    }
    case 'revoke': {
      if (!o.exists || o.dn === undefined) return [];
      const account = o as AdObservation & { dn: string };
      refuseForeign(account, intent.assignmentId, 'revoke');
      const at = Date.parse(intent.revokedAt);
      const current = account.accountExpires === undefined || account.accountExpires === 'never' ? undefined : Date.parse(account.accountExpires);
      const steps: AdStep[] = [];
      const flagsOk = account.userAccountControl !== undefined && isDisabled(account.userAccountControl);
      if (!flagsOk || current === undefined || current > at) {
        // One modify: disabled and expired together. An earlier end stays: revocation never lengthens access.
        const expires = iso(current !== undefined && current < at ? current : at);
        const uac = withDisabled(account.userAccountControl ?? UAC.NORMAL_ACCOUNT, true);
        steps.push(step('ad.disable', undefined, 'disable account', `userAccountControl ${uac} (ACCOUNTDISABLE), accountExpires ${expires} on ${account.dn}`, { username: account.username, dn: account.dn, userAccountControl: uac, accountExpires: expires }));
        // The password nobody knows: a hand re-enable later still does not let the old one in.
        steps.push(step('ad.password.scramble', undefined, 'replace password', `a random password nobody learns on ${account.dn}`, { username: account.username, dn: account.dn }));
      }
      steps.push(...groupRemovals(account));
      return steps;
    }
    case 'purge': {
      if (!o.exists || o.dn === undefined) return [];
      const account = o as AdObservation & { dn: string };
      refuseForeign(account, intent.assignmentId, 'purge');
      return [...groupRemovals(account), step('ad.user.delete', undefined, 'delete account', `delete ${account.dn}`, { username: account.username, dn: account.dn, assignmentId: account.assignmentId ?? null })];
    }
  }
}
