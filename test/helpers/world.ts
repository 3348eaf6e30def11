import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { signJws } from '../../src/crypto/jws.js';
import { loadConfig } from '../../src/config/load.js';
import { type Config } from '../../src/config/resolve.js';
import type { Context } from '../../src/lifecycle/context.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { openTargets } from '../../src/targets/index.js';
import { manifest, tempDir, writeManifest } from './manifest.js';
import { startMoto, type Moto } from './moto.js';
import { startSlapd, type Slapd } from './slapd.js';

/** A movable clock: tests set the time; nothing sleeps. */
export class TestClock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
}

export interface World {
  dir: string;
  slapd: Slapd;
  moto: Moto;
  config: Config;
  store: SqliteStore;
  clock: TestClock;
  ctx(overrides?: Partial<Context>): Context;
  /** Write and sign a manifest (overrides merged into the default example). */
  signedManifest(overrides?: Record<string, unknown>, name?: string): string;
  signedDoc(doc: Record<string, unknown>, name: string): string;
  close(): Promise<void>;
}

/** Real slapd, real moto, a real SQLite store, and a config pointing at them. */
export async function startWorld(): Promise<World> {
  const dir = tempDir('detailee-world-');
  const [slapd, moto] = await Promise.all([startSlapd(), startMoto()]);
  await slapd.addGroup('modernization');
  await slapd.addGroup('analysts');
  await moto.createGroup('detailee-readonly');
  process.env.AWS_ACCESS_KEY_ID = moto.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = moto.credentials.secretAccessKey;
  const approver = generateKeyPairSync('ed25519');
  const approverPem = approver.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'approver.pub.pem'), approver.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'ldap-password'), slapd.password, { mode: 0o600 });
  const cert = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'cert.pem'), cert.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  mkdirSync(join(dir, 'outbox'));
  writeFileSync(
    join(dir, 'detailee.yaml'),
    stringify({
      store: 'sqlite:detailee.db',
      timezone: 'America/New_York',
      trust: { signers: [{ name: 'alan.turing', role: 'approver', publicKey: 'approver.pub.pem' }], requiredRoles: ['approver'] },
      targets: {
        ldap: { url: slapd.url, bindDN: slapd.bindDN, bindPasswordFile: 'ldap-password', peopleDN: slapd.peopleDN, groupsDN: slapd.groupsDN },
        aws: { region: moto.region, endpoint: moto.endpoint, path: '/detailees/', maxAttempts: 2, timeoutMs: 5000 },
      },
      notices: { daysBefore: [30, 14, 7, 1], outbox: 'outbox', from: 'detailee@irs.example.gov' },
      certificates: { signingKey: 'cert.pem', outputDir: 'certificates' },
    }),
  );
  const config = loadConfig(join(dir, 'detailee.yaml'), {}, dir);
  const store = await SqliteStore.open(join(dir, 'detailee.db'));
  const clock = new TestClock(Date.parse('2025-02-05T15:00:00Z'));
  const signedDoc = (doc: Record<string, unknown>, name: string) => {
    const f = writeManifest(dir, doc, name);
    writeFileSync(`${f}.jws`, signJws(readFileSync(f), undefined, approverPem, 'alan.turing'));
    return f;
  };
  return {
    dir,
    slapd,
    moto,
    config,
    store,
    clock,
    ctx: (o = {}) => ({ config, store, clock, actor: 'officer', openTargets: () => openTargets(config, clock), ...o }),
    signedManifest: (overrides = {}, name = `${String(overrides.id ?? 'irs-2025-0042')}.yaml`) => signedDoc(manifest(overrides), name),
    signedDoc,
    close: async () => {
      await store.close();
      await Promise.all([slapd.stop(), moto.stop()]);
    },
  };
}
