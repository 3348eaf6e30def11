import type { Config } from '../config/resolve.js';
import type { ReadKeyOptions } from '../config/signing-key.js';
import {
  check,
  evaluateAd,
  evaluateAws,
  evaluateClock,
  evaluateConfig,
  evaluateCrls,
  evaluateLdap,
  evaluateSigningKey,
  evaluateStore,
  evaluateTrustAnchors,
  notConfigured,
  summarize,
  type DoctorCheck,
  type DoctorResult,
} from './checks.js';
import { probeAd, probeAws, probeCaCertificates, probeClock, probeCrls, probeLdap, probeSigningKey, probeStore } from './probes.js';

export interface DoctorOptions {
  /** The tool's clock (DETAILEE_NOW or the system's): what trust anchors and CRLs are judged at. */
  now: Date;
  env?: NodeJS.ProcessEnv;
  key?: ReadKeyOptions;
}

/** Every check, in the order a first installation meets them; each failure is its own line. */
export async function runDoctor(config: Config, o: DoctorOptions): Promise<DoctorResult> {
  const env = o.env ?? process.env;
  const checks: DoctorCheck[] = [evaluateConfig(config.file)];
  checks.push(await check('store', () => probeStore(config.storeUrl), evaluateStore, () => 'Check `store` (or DETAILEE_DATABASE_URL) and that the database is up.'));
  const { ldap, aws, ad } = config.targets;
  checks.push(
    ldap
      ? await check('ldap', () => probeLdap(ldap, env), evaluateLdap, () => 'Check targets.ldap in the config and that the directory server is up.')
      : notConfigured('ldap', 'targets.ldap'),
  );
  checks.push(
    aws
      ? await check('aws', () => probeAws(aws), evaluateAws, () => 'Check the AWS credentials and targets.aws (see "AWS credentials" in the README).')
      : notConfigured('aws', 'targets.aws'),
  );
  checks.push(
    ad
      ? await check('ad', () => probeAd(ad, env), evaluateAd, () => 'Check targets.ad in the config (url, bindDN, the bind password, caCertificate) and that the domain controller is up.')
      : notConfigured('ad', 'targets.ad'),
  );
  checks.push(evaluateSigningKey(await probeSigningKey(config.certificates, { env, ...o.key })));
  checks.push(evaluateTrustAnchors(probeCaCertificates(config.trust.caCertificates), o.now));
  checks.push(await check('crls', () => probeCrls(config.trust.crls), (f) => evaluateCrls(f, o.now), () => 'Fetch current CRLs into the files in trust.crls.'));
  checks.push(evaluateClock(probeClock(config.timezone, env)));
  return summarize(checks);
}
