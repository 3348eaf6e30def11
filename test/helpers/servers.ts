import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { ROOT, type Servers } from './scenario.js';
import { startMoto, type Moto } from './moto.js';
import { startSlapd, type Slapd } from './slapd.js';

export interface CliServers {
  slapd: Slapd;
  moto: Moto;
  /** What test/helpers/scenario.ts needs to write a config pointing at them. */
  servers: Servers;
  stop(): Promise<void>;
}

/** A real slapd and moto on free loopback ports, with the groups the example manifest names. */
export async function startCliServers(): Promise<CliServers> {
  const [slapd, moto] = await Promise.all([startSlapd(), startMoto()]);
  await slapd.addGroup('modernization');
  await moto.createGroup('detailee-readonly');
  return {
    slapd,
    moto,
    servers: {
      ldap: { url: slapd.url, bindDN: slapd.bindDN, password: slapd.password, peopleDN: slapd.peopleDN, groupsDN: slapd.groupsDN },
      awsEndpoint: moto.endpoint,
    },
    stop: async () => {
      await Promise.all([slapd.stop(), moto.stop()]);
    },
  };
}

/**
 * The example manifest for a fresh detailee (its own id and username), written into `dir` and
 * signed in-process by alan.turing (the approver `prepare` trusts): each CLI start costs ~0.4 s.
 */
export function signedExample(dir: string, approverPem: string, id: string, username: string): string {
  const doc = parse(readFileSync(join(ROOT, 'examples', 'assignment.yaml'), 'utf8')) as Record<string, unknown> & { detailee: Record<string, unknown> };
  doc.id = id;
  doc.detailee = { ...doc.detailee, username, email: `${username}@gsa.example.gov` };
  const f = join(dir, `${id}.yaml`);
  writeFileSync(f, stringify(doc));
  writeFileSync(`${f}.jws`, signJws(readFileSync(f), undefined, approverPem, 'alan.turing'));
  return f;
}
