import type { Servers } from '../../scripts/scenario.js';
import { startMoto, type Moto } from './moto.js';
import { startSlapd, type Slapd } from './slapd.js';

export interface CliServers {
  slapd: Slapd;
  moto: Moto;
  /** What scripts/scenario.ts needs to write a config pointing at them. */
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
