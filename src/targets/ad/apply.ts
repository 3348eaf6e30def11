import { ActionError, DetaileeError, InputError } from '../../errors.js';
import type { Step } from '../target.js';
import type { AdConnection } from './client.js';
import { toFileTime } from './filetime.js';
import { AD_DESCRIPTION_PREFIX } from './model.js';
import type { AdReader } from './observe.js';
import { encodeUnicodePwd, randomPassword } from './password.js';
import { UAC } from './uac.js';

/**
 * Writing the domain: each step as LDAP operations, each idempotent. Passwords are generated here,
 * sent as unicodePwd and dropped: no step, journal row or audit event carries one.
 */

function unknownStep(step: never): never {
  throw new InputError(`The AD target does not know step ${(step as { id?: unknown }).id}.`, { code: 'ad.step' });
}

export interface AdWriter {
  apply(step: Step): Promise<void>;
}

export function createAdWriter(conn: AdConnection, reader: AdReader): AdWriter {
  const { lib, op, replace, modify, where } = conn;
  const { Change, Attribute } = lib;

  async function addMember(groupDN: string, userDN: string): Promise<void> {
    await op('modify', `add ${userDN} to ${groupDN}`, async (c) => {
      try {
        await c.modify(groupDN, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [userDN] }) }));
      } catch (e) {
        // Already a member: AD answers "entry already exists" (68), others "value exists" (20).
        if (e instanceof lib.AlreadyExistsError || e instanceof lib.TypeOrValueExistsError) return;
        throw e;
      }
    });
  }

  async function removeMember(groupDN: string, userDN: string): Promise<void> {
    await op('modify', `remove ${userDN} from ${groupDN}`, async (c) => {
      try {
        await c.modify(groupDN, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDN] }) }));
      } catch (e) {
        if (e instanceof lib.NoSuchAttributeError || e instanceof lib.NoSuchObjectError) return;
        // Not a member (any more): AD and Samba answer "unwilling" (53) with wording that varies;
        // a fresh read decides, so a real refusal is never taken for success.
        if (e instanceof lib.UnwillingToPerformError) {
          const still = await reader.groupsNaming(userDN);
          if (!still.some((g) => g.toLowerCase() === groupDN.toLowerCase())) return;
        }
        throw e;
      }
    });
  }

  async function apply(step: Step): Promise<void> {
    if (step.target !== 'ad') throw new InputError(`Step ${step.id} is not an AD step.`, { code: 'ad.step' });
    switch (step.kind) {
      case 'ad.user.create': {
        const p = step.params;
        const dn = conn.userDN(p.username);
        await op(
          'add',
          `create ${dn}`,
          (c) =>
            c.add(dn, {
              objectClass: ['top', 'person', 'organizationalPerson', 'user'],
              cn: p.username,
              sAMAccountName: p.username,
              userPrincipalName: p.userPrincipalName,
              ...p.attributes,
              accountExpires: toFileTime(p.accountExpires).toString(),
              unicodePwd: encodeUnicodePwd(randomPassword()) as unknown as string,
              userAccountControl: String(p.disabled ? UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE : UAC.NORMAL_ACCOUNT),
              ...(p.mustChangePassword ? { pwdLastSet: '0' } : {}),
            }),
          'usersDN',
        );
        return;
      }
      case 'ad.user.update': {
        const changes = Object.entries<string | undefined>(step.params.replace).flatMap(([a, v]) => (v === undefined ? [] : [replace(a, [v])]));
        if (changes.length > 0) await modify(step.params.dn, `update ${step.params.dn}`, changes);
        return;
      }
      case 'ad.expiry.set':
        await modify(step.params.dn, `set accountExpires on ${step.params.dn}`, [replace('accountExpires', [toFileTime(step.params.accountExpires).toString()])]);
        return;
      case 'ad.enable':
      case 'ad.flags.clear':
        await modify(step.params.dn, `${step.kind === 'ad.enable' ? 'enable' : 'clear flags on'} ${step.params.dn}`, [replace('userAccountControl', [String(step.params.userAccountControl)])]);
        return;
      case 'ad.disable': {
        const { dn, userAccountControl, accountExpires } = step.params;
        await modify(dn, `disable ${dn}`, [
          replace('userAccountControl', [String(userAccountControl)]),
          ...(accountExpires === undefined ? [] : [replace('accountExpires', [toFileTime(accountExpires).toString()])]),
        ]);
        return;
      }
      case 'ad.password.scramble':
        await modify(step.params.dn, `replace the password of ${step.params.dn}`, [replace('unicodePwd', [encodeUnicodePwd(randomPassword())])]);
        return;
      case 'ad.group.add': {
        const { group } = step.params;
        const userDN = step.params.dn ?? conn.userDN(step.params.username);
        const known = reader.knownGroups.get(group);
        const resolve = async () => (await reader.resolveGroups([group])).get(group)!;
        try {
          await addMember(known ?? (await resolve()), userDN);
        } catch (e) {
          // The group was renamed or moved since it was found: search for it again, once.
          if (known === undefined || !(e instanceof DetaileeError && e.code === 'ad.no-such-object')) throw e;
          reader.knownGroups.delete(group);
          await addMember(await resolve(), userDN);
        }
        return;
      }
      case 'ad.group.remove':
        await removeMember(step.params.groupDN, step.params.dn);
        return;
      case 'ad.user.delete': {
        const { dn, username, assignmentId } = step.params;
        const o = await reader.read(username);
        if (!o.exists) return;
        if (assignmentId !== null && !(o.managed && o.assignmentId === assignmentId)) {
          throw new ActionError(`${where}: ${dn} no longer belongs to assignment ${assignmentId} (description ${AD_DESCRIPTION_PREFIX}…); not deleting it.`, { code: 'ad.foreign-entry' });
        }
        await op('delete', `delete ${dn}`, async (c) => {
          try {
            await c.del(o.dn ?? dn);
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

  return { apply };
}
