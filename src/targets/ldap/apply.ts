import type { Change as LdapChange } from 'ldapts';
import { ActionError, InputError } from '../../errors.js';
import type { Step } from '../target.js';
import { all, first, type LdapConnection } from './client.js';
import type { LdapReader } from './observe.js';
import { DESCRIPTION_PREFIX, MANAGED_ATTRIBUTES, PERMANENT_LOCK, descriptionFor, toGeneralizedTime } from './plan.js';

/** Writing the directory: each step as LDAP operations, each idempotent. */

const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

/** Reached only if a kind is added to LdapStep without a case in `apply`: the compiler refuses that. */
function unknownStep(step: never): never {
  throw new InputError(`The LDAP target does not know step ${(step as { id?: unknown }).id}.`, { code: 'ldap.step' });
}

export interface LdapWriter {
  /** Apply one step; applying it twice has the effect of applying it once. */
  apply(step: Step): Promise<void>;
  setInitialPassword(username: string, password: string): Promise<void>;
}

export function createLdapWriter(conn: LdapConnection, reader: LdapReader): LdapWriter {
  const { lib, run, where, config, memberAttribute, groupClass } = conn;
  const { Attribute, Change } = lib;
  const { readEntry, findGroup, memberOf } = reader;

  const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

  async function modify(what: string, dn: string, changes: LdapChange[]): Promise<void> {
    await run(what, (c) => c.modify(dn, changes));
  }

  async function addMember(username: string, cn: string): Promise<void> {
    const dn = await findGroup(cn);
    if (!dn) {
      throw new ActionError(`${where}: group ${cn} (${groupClass}) no longer exists under ${config.groupsDN}.`, { code: 'ldap.group.missing' });
    }
    const change = new Change({ operation: 'add', modification: new Attribute({ type: memberAttribute, values: [conn.memberValue(username)] }) });
    await run(`add ${username} to ${cn}`, async (c) => {
      try {
        await c.modify(dn, change);
      } catch (e) {
        if (e instanceof lib.TypeOrValueExistsError) return;
        throw e;
      }
    });
  }

  async function removeMember(username: string, cn: string): Promise<void> {
    const known = memberOf.get(cn);
    const dn = known ?? (await findGroup(cn));
    if (!dn) return;
    const del = new Change({ operation: 'delete', modification: new Attribute({ type: memberAttribute, values: [conn.memberValue(username)] }) });
    const moved = await run(`remove ${username} from ${cn}`, async (c) => {
      try {
        await c.modify(dn, del);
      } catch (e) {
        // The group was renamed or moved since it was found: look it up again.
        if (e instanceof lib.NoSuchObjectError && known !== undefined) return true;
        if (e instanceof lib.NoSuchAttributeError) return;
        if (e instanceof lib.ObjectClassViolationError && memberAttribute === 'member') {
          // groupOfNames must keep one member; the empty DN is the conventional "nobody" and grants nothing.
          const placeholder = new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [''] }) });
          await c.modify(dn, [del, placeholder]);
          return;
        }
        throw e;
      }
      return false;
    });
    if (moved === true) {
      memberOf.delete(cn);
      await removeMember(username, cn);
    }
  }

  async function apply(step: Step): Promise<void> {
    if (step.target !== 'ldap') throw new InputError(`Step ${step.id} is not an LDAP step.`, { code: 'ldap.step' });
    const { username } = step.params;
    const dn = conn.userDN(username).toString();
    switch (step.kind) {
      case 'ldap.entry.create': {
        const { attributes } = step.params;
        await run(`create ${dn}`, async (c) => {
          try {
            await c.add(dn, { objectClass: ['inetOrgPerson', 'organizationalPerson', 'person', 'top'], uid: username, ...attributes });
          } catch (e) {
            if (!(e instanceof lib.AlreadyExistsError)) throw e;
            // A retry after a crash: converge on our own entry, never take over someone else's.
            const existing = await readEntry(username);
            const desc = all(existing?.description);
            if (!desc.includes(attributes.description)) {
              throw new ActionError(`${where}: ${dn} appeared meanwhile and is not this assignment's entry.`, { code: 'ldap.foreign-entry' });
            }
            await c.modify(dn, MANAGED_ATTRIBUTES.map((a) => replace(a, [attributes[a]])));
          }
        });
        return;
      }
      case 'ldap.entry.update': {
        const changes = Object.entries<string | undefined>(step.params.replace).flatMap(([a, v]) => (v === undefined ? [] : [replace(a, [v])]));
        if (changes.length > 0) await modify(`update ${dn}`, dn, changes);
        return;
      }
      case 'ldap.term.set':
        await modify(`set term on ${dn}`, dn, [
          replace('pwdStartTime', [toGeneralizedTime(step.params.startsAt)]),
          replace('pwdEndTime', [toGeneralizedTime(step.params.endsAt)]),
        ]);
        return;
      case 'ldap.term.renew': {
        // Re-read: a revoke may have landed between plan and apply, and it must win.
        const now = await readEntry(username);
        if (first(now?.pwdAccountLockedTime) !== undefined) {
          throw new InputError(`${dn} is locked (revoked); a revoked account is not renewed.`, { code: 'ldap.renew.revoked' });
        }
        await modify(`renew term on ${dn}`, dn, [replace('pwdEndTime', [toGeneralizedTime(step.params.endsAt)])]);
        return;
      }
      case 'ldap.term.end':
        await modify(`end term on ${dn}`, dn, [replace('pwdEndTime', [toGeneralizedTime(step.params.endsAt)])]);
        return;
      case 'ldap.lock': {
        const { endsAt } = step.params;
        await modify(`lock ${dn}`, dn, [replace('pwdAccountLockedTime', [PERMANENT_LOCK]), ...(endsAt === undefined ? [] : [replace('pwdEndTime', [toGeneralizedTime(endsAt)])])]);
        return;
      }
      case 'ldap.group.add':
        await addMember(username, step.params.group);
        return;
      case 'ldap.group.remove':
        await removeMember(username, step.params.group);
        return;
      case 'ldap.entry.delete': {
        const expected = step.params.assignmentId;
        await run(`delete ${dn}`, async (c) => {
          const existing = await readEntry(username);
          if (!existing) return;
          const recorded = all(existing.description).filter((d) => d.startsWith(DESCRIPTION_PREFIX));
          if (expected !== null && !recorded.includes(descriptionFor(expected))) {
            throw new ActionError(`${where}: ${dn} no longer belongs to assignment ${expected}; not deleting it.`, { code: 'ldap.foreign-entry' });
          }
          try {
            await c.del(dn);
          } catch (e) {
            if (!(e instanceof lib.NoSuchObjectError)) throw e;
          }
        });
        return;
      }
      default:
        return unknownStep(step);
    }
  }

  async function setInitialPassword(username: string, password: string): Promise<void> {
    if (password.length === 0) throw new InputError('An initial password must not be empty.', { code: 'ldap.password' });
    const dn = conn.userDN(username).toString();
    const ber = new lib.BerWriter();
    ber.startSequence(0x30);
    ber.writeString(dn, 0x80);
    ber.writeString(password, 0x82);
    ber.endSequence();
    const value = ber.buffer;
    await run(`set initial password on ${dn}`, async (c) => {
      await c.exop(PASSWORD_MODIFY_OID, value);
      await c.modify(dn, [replace('pwdReset', ['TRUE'])]);
    });
  }

  return { apply, setInitialPassword };
}
