/**
 * `detailee doctor`: one line per check, each with what is wrong and the fix. The evaluators here
 * are pure functions of the facts the probes read (probes.ts), so every verdict is testable
 * without a server; the probes only read, never write.
 */
import { DetaileeError } from '../errors.js';

type CheckStatus = 'pass' | 'fail' | 'skip';
export type CheckId = 'config' | 'store' | 'ldap' | 'aws' | 'ad' | 'signing-key' | 'trust-anchors' | 'crls' | 'clock';

/** One line of the report. The shape is public (`doctor --json`); keep it stable. */
export interface DoctorCheck {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** What was found, one sentence. Never a secret. */
  detail: string;
  /** What to do about a failure; absent when the check passed or was skipped. */
  fix?: string | undefined;
}

/** The public shape of `doctor --json`. */
export interface DoctorResult {
  /** True only when no check failed; the command exits 0 only then. */
  ok: boolean;
  checks: DoctorCheck[];
}

const TITLES: Record<CheckId, string> = {
  config: 'config valid',
  store: 'store reachable and migrated',
  ldap: 'LDAP target',
  aws: 'AWS IAM target',
  ad: 'Active Directory target',
  'signing-key': 'certificate signing key',
  'trust-anchors': 'trust anchors (CA certificates)',
  crls: 'CRLs current',
  clock: 'clock and time zone',
};

const pass = (id: CheckId, detail: string): DoctorCheck => ({ id, title: TITLES[id], status: 'pass', detail });
const fail = (id: CheckId, detail: string, fix: string): DoctorCheck => ({ id, title: TITLES[id], status: 'fail', detail, fix });
const skip = (id: CheckId, detail: string): DoctorCheck => ({ id, title: TITLES[id], status: 'skip', detail });

export function summarize(checks: DoctorCheck[]): DoctorResult {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

// ---------------------------------------------------------------- config and store

export function evaluateConfig(file: string | undefined): DoctorCheck {
  return pass('config', file === undefined ? 'no config file; the defaults are in force' : `${file} is valid`);
}

/** A config that does not load: that line fails and every other check is skipped, since each needs it. */
export function configFailed(error: unknown): DoctorResult {
  const { message, fix } = explain(error, 'Fix the config file named in the message; `detailee init` writes a valid one.');
  const rest = (Object.keys(TITLES) as CheckId[]).filter((id) => id !== 'config').map((id) => skip(id, 'not checked: needs a valid config'));
  return summarize([fail('config', message, fix), ...rest]);
}

export interface StoreFacts {
  location: string;
  /** False for an embedded store whose file does not exist yet (doctor never creates it). */
  exists: boolean;
  schemaVersion?: number | undefined;
  latest: number;
}

export function evaluateStore(f: StoreFacts): DoctorCheck {
  if (!f.exists) return fail('store', `the store ${f.location} does not exist`, 'Run `detailee init` (or `detailee migrate`) to create it, or correct `store` in the config.');
  if (f.schemaVersion === undefined) return fail('store', `the store ${f.location} has no schema version`, 'Run `detailee migrate`.');
  if (f.schemaVersion > f.latest) {
    return fail('store', `the store ${f.location} is at schema ${f.schemaVersion}, newer than this detailee (${f.latest})`, 'Upgrade detailee to the version that migrated the store.');
  }
  if (f.schemaVersion < f.latest) return fail('store', `the store ${f.location} is at schema ${f.schemaVersion}; this detailee needs ${f.latest}`, 'Run `detailee migrate`.');
  return pass('store', `${f.location} at schema ${f.schemaVersion}`);
}

// ---------------------------------------------------------------- LDAP

/** The password policy request control: slapd advertises it when the ppolicy overlay is loaded. */
export const PPOLICY_CONTROL = '1.3.6.1.4.1.42.2.27.8.5.1';
/** What onboarding writes and a revocation proof reads on each entry; enforced by ppolicy at bind. */
export const PPOLICY_ATTRIBUTES = ['pwdStartTime', 'pwdEndTime', 'pwdAccountLockedTime'] as const;

export interface LdapFacts {
  url: string;
  bindDN: string;
  supportedControls: string[];
  /** Attribute type names the server's schema defines, of those in PPOLICY_ATTRIBUTES. */
  schemaAttributes: string[];
  /** pwdPolicy entries found in the naming context, with their pwdLockout value. */
  policies: { dn: string; lockout: boolean }[];
  peopleDN: { dn: string; readable: boolean };
  groupsDN: { dn: string; readable: boolean };
}

export function evaluateLdap(f: LdapFacts): DoctorCheck {
  const overlay = 'Load the ppolicy overlay on the database (moduleload ppolicy; overlay ppolicy; ppolicy_default "<a pwdPolicy entry>" with pwdLockout: TRUE).';
  if (!f.peopleDN.readable) return fail('ldap', `bound as ${f.bindDN}, but peopleDN ${f.peopleDN.dn} cannot be read`, 'Create that entry, or correct targets.ldap.peopleDN, or grant the bind DN read access to it.');
  if (!f.groupsDN.readable) return fail('ldap', `bound as ${f.bindDN}, but groupsDN ${f.groupsDN.dn} cannot be read`, 'Create that entry, or correct targets.ldap.groupsDN, or grant the bind DN read access to it.');
  if (!f.supportedControls.includes(PPOLICY_CONTROL)) return fail('ldap', `${f.url} does not offer the password policy control: the ppolicy overlay is not loaded`, overlay);
  const missing = PPOLICY_ATTRIBUTES.filter((a) => !f.schemaAttributes.some((s) => s.toLowerCase() === a.toLowerCase()));
  if (missing.length > 0) return fail('ldap', `the schema lacks ${missing.join(', ')}: the term cannot be enforced at bind`, 'Use OpenLDAP 2.5 or later with the ppolicy overlay loaded.');
  if (f.policies.length === 0) return fail('ldap', `no pwdPolicy entry is readable in the directory`, overlay);
  if (!f.policies.some((p) => p.lockout)) {
    return fail('ldap', `no pwdPolicy entry has pwdLockout: TRUE (${f.policies.map((p) => p.dn).join('; ')}): a lock would not stop a bind`, 'Set pwdLockout: TRUE on the default password policy.');
  }
  return pass('ldap', `bound to ${f.url} as ${f.bindDN}; ppolicy loaded (${f.policies.map((p) => p.dn).join('; ')}); peopleDN and groupsDN readable`);
}

// ---------------------------------------------------------------- AWS IAM

export interface AwsFacts {
  endpoint: string;
  /** The caller's ARN, or a note when the credentials are not an IAM user's (a role cannot be named by GetUser). */
  identity: string;
  /** Each read a proof or a plan needs, and whether it was allowed. */
  reads: { operation: string; ok: boolean; code?: string | undefined }[];
}

export function evaluateAws(f: AwsFacts): DoctorCheck {
  const denied = f.reads.filter((r) => !r.ok);
  if (denied.length > 0) {
    return fail(
      'aws',
      `as ${f.identity} at ${f.endpoint}: ${denied.map((r) => `${r.operation} refused (${r.code ?? 'error'})`).join(', ')}`,
      'Grant the policy in docs/iam-policy.json to these credentials (see "AWS credentials" in the README).',
    );
  }
  return pass('aws', `as ${f.identity} at ${f.endpoint}; ${f.reads.map((r) => r.operation).join(', ')} allowed`);
}

// ---------------------------------------------------------------- Active Directory

export interface AdDoctorFacts {
  url: string;
  bindDN: string;
  /** How the bind was protected: TLS checked against the pinned CA, or plain LDAP to a loopback DC. */
  transport: 'ldaps' | 'starttls' | 'plain';
  caCertificate?: string | undefined;
  usersDN: { dn: string; readable: boolean };
  groupsDN: { dn: string; readable: boolean };
}

/** The bind and the pin are proven by connecting (a failure there throws); the base DNs by reading them. */
export function evaluateAd(f: AdDoctorFacts): DoctorCheck {
  if (!f.usersDN.readable) return fail('ad', `bound to ${f.url} as ${f.bindDN}, but usersDN ${f.usersDN.dn} does not exist or cannot be read`, 'Create that OU, or correct targets.ad.usersDN, or delegate read access on it to the service account.');
  if (!f.groupsDN.readable) return fail('ad', `bound to ${f.url} as ${f.bindDN}, but groupsDN ${f.groupsDN.dn} does not exist or cannot be read`, 'Create that OU, or correct targets.ad.groupsDN, or delegate read access on it to the service account.');
  const tls = f.transport === 'plain' ? 'plain LDAP (loopback only)' : `${f.transport === 'ldaps' ? 'LDAPS' : 'StartTLS'}, DC certificate checked against ${f.caCertificate ?? 'the pinned CA'}`;
  return pass('ad', `bound to ${f.url} as ${f.bindDN} over ${tls}; usersDN and groupsDN exist`);
}

// ---------------------------------------------------------------- signing key

export interface SigningKeyFacts {
  path: string | undefined;
  exists: boolean;
  encrypted: boolean;
  /** Where the passphrase of an encrypted key comes from, when one is configured. */
  passphraseSource?: string | undefined;
  /** asymmetricKeyType once read; undefined when it could not be read. */
  type?: string | undefined;
  /** Why it could not be read (never the passphrase). */
  error?: string | undefined;
}

export function evaluateSigningKey(f: SigningKeyFacts): DoctorCheck {
  if (f.path === undefined) return fail('signing-key', 'certificates.signingKey is not set: no certificate can be issued', 'Run `detailee init`, or set certificates.signingKey to an Ed25519 PEM key.');
  if (!f.exists) return fail('signing-key', `${f.path} does not exist`, 'Point certificates.signingKey at the Ed25519 key (`detailee init` makes one; `openssl genpkey -algorithm ed25519` too).');
  if (f.error !== undefined) {
    const fix = f.encrypted
      ? 'Check the passphrase source (certificates.signingKeyPassphraseFile or signingKeyPassphraseEnv); without one, run doctor on a terminal to be asked.'
      : 'Check the file: an Ed25519 private key in PEM (PKCS#8), readable by this user.';
    return fail('signing-key', `${f.path} cannot be read: ${f.error}`, fix);
  }
  if (f.type !== 'ed25519') return fail('signing-key', `${f.path} is a ${f.type ?? 'unknown'} key, not Ed25519`, 'Generate an Ed25519 key: openssl genpkey -algorithm ed25519');
  return pass('signing-key', `${f.path} is an Ed25519 key${f.encrypted ? `, encrypted (passphrase from ${f.passphraseSource ?? 'the terminal'})` : ''}`);
}

// ---------------------------------------------------------------- trust

export interface CaFacts {
  path: string;
  subject?: string | undefined;
  notBefore?: Date | undefined;
  notAfter?: Date | undefined;
  error?: string | undefined;
}

export function evaluateTrustAnchors(cas: CaFacts[], now: Date): DoctorCheck {
  if (cas.length === 0) return skip('trust-anchors', 'no trust.caCertificates configured (JWS signers only)');
  const problems: string[] = [];
  for (const c of cas) {
    if (c.error !== undefined) problems.push(`${c.path}: ${c.error}`);
    else if (c.notBefore && now < c.notBefore) problems.push(`${c.path} (${c.subject}) is not valid before ${iso(c.notBefore)}`);
    else if (c.notAfter && now > c.notAfter) problems.push(`${c.path} (${c.subject}) expired ${iso(c.notAfter)}`);
  }
  if (problems.length > 0) return fail('trust-anchors', problems.join('; '), 'Replace each expired or unreadable CA certificate named in trust.caCertificates with the current one from its issuer.');
  return pass('trust-anchors', `${cas.length} CA certificate(s) valid until ${iso(new Date(Math.min(...cas.map((c) => c.notAfter?.getTime() ?? Infinity))))} at the earliest`);
}

export interface CrlFacts {
  path: string;
  issuer?: string | undefined;
  thisUpdate?: Date | undefined;
  nextUpdate?: Date | undefined;
  error?: string | undefined;
}

export function evaluateCrls(crls: CrlFacts[], now: Date): DoctorCheck {
  if (crls.length === 0) return skip('crls', 'no trust.crls configured');
  const problems: string[] = [];
  for (const c of crls) {
    if (c.error !== undefined) problems.push(`${c.path}: ${c.error}`);
    else if (c.thisUpdate && now < c.thisUpdate) problems.push(`${c.path} (${c.issuer}) is not in force until ${iso(c.thisUpdate)}`);
    // A CRL without nextUpdate never says it is stale; the CMS check treats it as current, so do we.
    else if (c.nextUpdate && now > c.nextUpdate) problems.push(`${c.path} (${c.issuer}) is out of date: its next update was due ${iso(c.nextUpdate)}`);
  }
  if (problems.length > 0) return fail('crls', problems.join('; '), 'Fetch the current CRL from each issuer named (its CRL distribution point) over the file in trust.crls; schedule that before the nightly job.');
  const next = crls.map((c) => c.nextUpdate?.getTime()).filter((t): t is number => t !== undefined);
  return pass('crls', `${crls.length} CRL(s) current${next.length > 0 ? `; the next is due ${iso(new Date(Math.min(...next)))}` : ''}`);
}

// ---------------------------------------------------------------- clock

export interface ClockFacts {
  /** The system clock. */
  system: Date;
  /** This version of detailee was made no earlier than this: a system clock before it is wrong. */
  notBefore: Date;
  /** DETAILEE_NOW, when it pins the tool's clock. */
  pinned?: string | undefined;
  timezone: string;
  zoneValid: boolean;
}

export function evaluateClock(f: ClockFacts): DoctorCheck {
  if (!f.zoneValid) return fail('clock', `the time zone ${f.timezone} is not a known IANA zone`, 'Set timezone in the config to an IANA name such as America/New_York (and keep the tz data current).');
  if (f.pinned !== undefined) {
    return fail('clock', `DETAILEE_NOW pins the clock to ${f.pinned}: every run would act on that instant, not today`, 'Unset DETAILEE_NOW (it is for rehearsals and tests).');
  }
  if (f.system < f.notBefore) {
    return fail('clock', `the system clock reads ${iso(f.system)}, before this detailee was made (${iso(f.notBefore)})`, 'Set the clock right and keep it synchronised (NTP: systemd-timesyncd or chrony).');
  }
  return pass('clock', `system clock ${iso(f.system)}; zone ${f.timezone}`);
}

// ---------------------------------------------------------------- running the probes

/** A probe failure as the report's detail and fix: a typed error brings its own first action. */
function explain(error: unknown, defaultFix: string): { message: string; fix: string } {
  if (error instanceof DetaileeError) return { message: error.message, fix: error.actions[0] ?? defaultFix };
  return { message: error instanceof Error ? error.message : String(error), fix: defaultFix };
}

/** Run one probe and evaluate it; a thrown error is that check's failure, never the whole run's. */
export async function check<F>(id: CheckId, probe: () => Promise<F>, evaluate: (facts: F) => DoctorCheck, fixWhenThrown: (e: unknown) => string): Promise<DoctorCheck> {
  let facts: F;
  try {
    facts = await probe();
  } catch (e) {
    const { message, fix } = explain(e, fixWhenThrown(e));
    return fail(id, message, fix);
  }
  return evaluate(facts);
}

export function notConfigured(id: CheckId, what: string): DoctorCheck {
  return skip(id, `${what} is not configured`);
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
