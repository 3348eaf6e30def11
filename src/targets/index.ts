import type { Clock } from '../time/clock.js';
import { resolveSecret } from '../config/load.js';
import { type Config } from '../config/resolve.js';
import type { Assignment } from '../assignment/schema.js';
import type { Term } from '../assignment/term.js';
import type { Desired, TargetName } from './model.js';
import type { Target } from './target.js';

/** Open the targets the config names, lazily loading each client library. */
export async function openTargets(config: Config, clock: Clock, only?: TargetName[]): Promise<Target[]> {
  const out: Target[] = [];
  const want = (n: TargetName) => only === undefined || only.includes(n);
  try {
    if (config.targets.ldap && want('ldap')) {
      const ldap = config.targets.ldap;
      const password = resolveSecret({ file: ldap.bindPasswordFile, env: ldap.bindPasswordEnv }, 'LDAP bind password');
      const { createLdapTarget } = await import('./ldap/index.js');
      out.push(await createLdapTarget(ldap, password, { clock }));
    }
    if (config.targets.aws && want('aws')) {
      const { createIamTarget } = await import('./aws/index.js');
      out.push(await createIamTarget(config.targets.aws, { clock }));
    }
    if (config.targets.ad && want('ad')) {
      const ad = config.targets.ad;
      const password = resolveSecret({ file: ad.bindPasswordFile, env: ad.bindPasswordEnv }, 'AD bind password');
      const { createAdTarget } = await import('./ad/index.js');
      out.push(await createAdTarget(ad, password, { clock }));
    }
  } catch (e) {
    await closeTargets(out);
    throw e;
  }
  return out;
}

export async function closeTargets(targets: Target[]): Promise<void> {
  await Promise.allSettled(targets.map((t) => t.close()));
}

export function desiredFor(target: TargetName, doc: Assignment, term: Term): Desired {
  return {
    assignmentId: doc.id,
    username: doc.detailee.username,
    givenName: doc.detailee.givenName,
    familyName: doc.detailee.familyName,
    email: doc.detailee.email,
    groups: groupsFor(target, doc),
    policies: target === 'aws' ? doc.access.aws.policies : [],
    startsAt: term.startsAt,
    endsAt: term.endsAt,
  };
}

/** The groups an assignment grants on a target: access.ad is optional (manifest v1 has none). */
export function groupsFor(target: TargetName, doc: Assignment): string[] {
  if (target === 'ldap') return doc.access.ldap.groups;
  if (target === 'aws') return doc.access.aws.groups;
  return doc.access.ad?.groups ?? [];
}
