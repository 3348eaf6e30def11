import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { InputError } from '../errors.js';
import { validate } from '../validation.js';
import { configSchema } from './schema.js';

export interface InitLdap {
  url: string;
  bindDN: string;
  bindPasswordFile?: string | undefined;
  bindPasswordEnv?: string | undefined;
  peopleDN: string;
  groupsDN: string;
}

export interface InitAws {
  region: string;
  endpoint?: string | undefined;
  path?: string | undefined;
}

export interface InitSmtp {
  host: string;
  port?: number | undefined;
  username?: string | undefined;
  passwordFile?: string | undefined;
  passwordEnv?: string | undefined;
}

export interface InitSigner {
  name: string;
  role: string;
  publicKey: string;
}

export interface InitOptions {
  dir: string;
  timezone: string;
  store?: string | undefined;
  force: boolean;
  ldap?: InitLdap | undefined;
  aws?: InitAws | undefined;
  noticesFrom?: string | undefined;
  smtp?: InitSmtp | undefined;
  signers?: InitSigner[] | undefined;
}

export interface InitResult {
  config: string;
  signingKey: string;
  publicKey: string;
  store: string;
  outputDir: string;
  outbox: string;
  /** What the written config leaves to do before the first onboarding, in words a user can act on. */
  todo: string[];
}

/** The flags (or answers) of one target section, all or none: half an LDAP target is a mistake. */
export function sectionFrom<T extends object>(
  section: string,
  given: Record<string, string | undefined>,
  required: string[],
  build: (v: Record<string, string>) => T,
): T | undefined {
  const present = Object.entries(given).filter(([, v]) => v !== undefined && v !== '');
  if (present.length === 0) return undefined;
  const missing = required.filter((k) => given[k] === undefined || given[k] === '');
  if (missing.length > 0) {
    throw new InputError(`The ${section} target is incomplete: ${missing.map((m) => `--${m}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing.`, {
      code: 'init.incomplete',
      actions: [`Give ${missing.map((m) => `--${m}`).join(' and ')} as well, or none of the --${section.toLowerCase()}-… flags to leave the target out.`],
    });
  }
  return build(Object.fromEntries(present) as Record<string, string>);
}

/** `name:role:path` of --signer. */
export function parseSigner(spec: string): InitSigner {
  const m = /^([^:]+):([^:]+):(.+)$/.exec(spec);
  if (!m) {
    throw new InputError(`--signer ${JSON.stringify(spec)} is not NAME:ROLE:PUBLIC_KEY_FILE.`, {
      code: 'init.signer',
      actions: ['Write it as e.g. --signer alan.turing:approver:keys/alan.turing.pub.pem'],
    });
  }
  return { name: m[1]!, role: m[2]!, publicKey: m[3]! };
}

/** One YAML scalar, quoted when it must be. */
const y = (v: string | number | boolean): string => stringify(v).trimEnd();

/**
 * The config as a commented file: every section is present, filled from the options or left as
 * commented-out lines showing what to write, so that the next step is editing this file rather
 * than reading source code.
 */
function configText(o: InitOptions): string {
  const store = o.store ?? 'sqlite:detailee.db';
  const L: string[] = [];
  L.push(
    '# detailee configuration, written by `detailee init`.',
    '# Relative paths are resolved against the folder of this file. Secrets never go here: name a',
    '# file (readable only by you: chmod 600) or an environment variable that holds them instead.',
    '# Every key is described in the README, section "Configuration".',
    '',
    '# Where assignments, the FTI log and the audit log are kept: sqlite:<path> (one machine) or a',
    '# postgres:// URL (several operators). $DETAILEE_DATABASE_URL overrides it.',
    `store: ${y(store)}`,
    '',
    "# The host agency's IANA time zone: a term ends at midnight there.",
    `timezone: ${y(o.timezone)}`,
    '',
    '# Who may sign assignment manifests and amendments. Each signer has a role and exactly one of',
    '# publicKey (a PEM file), certificateSubject or certificateSha256 (for CMS signatures under the',
    '# caCertificates below). Every role in requiredRoles must have signed before onboarding.',
    'trust:',
  );
  if (o.signers && o.signers.length > 0) {
    L.push('  signers:');
    for (const s of o.signers) L.push(`    - name: ${y(s.name)}`, `      role: ${y(s.role)}`, `      publicKey: ${y(s.publicKey)}`);
  } else {
    L.push('  signers: []', '  # signers:', '  #   - name: alan.turing', '  #     role: approver', '  #     publicKey: keys/alan.turing.pub.pem');
  }
  L.push('  caCertificates: []', '  crls: []', '  requiredRoles:', '    - approver', '');
  L.push('# The systems where accounts are created and revoked. A target left out is not touched.', 'targets:');
  const any = o.ldap !== undefined || o.aws !== undefined;
  if (!any) L.push('  {}');
  if (o.ldap) {
    const l = o.ldap;
    L.push(
      '  ldap:',
      `    url: ${y(l.url)}`,
      `    bindDN: ${y(l.bindDN)}`,
      l.bindPasswordFile !== undefined ? `    bindPasswordFile: ${y(l.bindPasswordFile)}` : `    bindPasswordEnv: ${y(l.bindPasswordEnv!)}`,
      `    peopleDN: ${y(l.peopleDN)}`,
      `    groupsDN: ${y(l.groupsDN)}`,
      '    groupMemberAttribute: member # or memberUid',
      '    # caCertificate: pki/ldap-ca.pem   # for ldaps:// or startTLS with a private CA',
      '    # startTLS: true',
    );
  } else {
    L.push(
      '  # ldap:',
      '  #   url: ldaps://ldap.example.gov',
      '  #   bindDN: cn=detailee,ou=services,dc=example,dc=gov',
      '  #   bindPasswordFile: secrets/ldap-password   # or bindPasswordEnv: DETAILEE_LDAP_PASSWORD',
      '  #   peopleDN: ou=people,dc=example,dc=gov',
      '  #   groupsDN: ou=groups,dc=example,dc=gov',
    );
  }
  if (o.aws) {
    L.push('  aws:', `    region: ${y(o.aws.region)}`);
    if (o.aws.endpoint !== undefined) L.push(`    endpoint: ${y(o.aws.endpoint)}`);
    L.push(`    path: ${y(o.aws.path ?? '/detailees/')}`, '    # permissionsBoundary: arn:aws:iam::123456789012:policy/detailee-boundary');
    L.push('    # Credentials come from the usual AWS sources (environment, profile, instance role).');
  } else {
    L.push(
      '  # aws:   # credentials come from the usual AWS sources (environment, profile, instance role)',
      '  #   region: us-east-1',
      '  #   path: /detailees/',
      '  #   permissionsBoundary: arn:aws:iam::123456789012:policy/detailee-boundary',
    );
  }
  L.push(
    '',
    '# Notices before the end of a term. Without smtp they are written to the outbox folder as .eml',
    '# files for another system to send.',
    'notices:',
    '  daysBefore: [30, 14, 7, 1]',
    '  outbox: outbox',
  );
  L.push(o.noticesFrom !== undefined ? `  from: ${y(o.noticesFrom)}` : '  # from: detailee@example.gov');
  if (o.smtp) {
    const s = o.smtp;
    L.push('  smtp:', `    host: ${y(s.host)}`, `    port: ${y(s.port ?? 587)}`);
    if (s.username !== undefined) L.push(`    username: ${y(s.username)}`);
    if (s.passwordFile !== undefined) L.push(`    passwordFile: ${y(s.passwordFile)}`);
    if (s.passwordEnv !== undefined) L.push(`    passwordEnv: ${y(s.passwordEnv)}`);
  } else {
    L.push('  # smtp:', '  #   host: smtp.example.gov', '  #   port: 587', '  #   username: detailee', '  #   passwordFile: secrets/smtp-password   # or passwordEnv: DETAILEE_SMTP_PASSWORD');
  }
  L.push(
    '',
    '# Destruction certificates: the Ed25519 key that signs them (init generated it; give its .pub.pem',
    '# to whoever verifies certificates) and the folder they are written to.',
    'certificates:',
    '  signingKey: keys/certificate-signing.pem',
    '  outputDir: certificates',
    '',
  );
  return L.join('\n');
}

/** What a user still has to do before the first onboarding with this config. */
function todo(o: InitOptions, configPath: string): string[] {
  const t: string[] = [];
  if (!o.signers || o.signers.length === 0) t.push(`Add the approvers who sign manifests under trust.signers in ${configPath}.`);
  if (!o.ldap && !o.aws) t.push(`Add the LDAP and/or AWS target under targets in ${configPath}: without one, onboarding has nothing to provision.`);
  if (o.ldap?.bindPasswordFile !== undefined && !existsSync(resolve(o.dir, o.ldap.bindPasswordFile))) {
    t.push(`Write the LDAP bind password to ${resolve(o.dir, o.ldap.bindPasswordFile)} (chmod 600).`);
  }
  if (o.noticesFrom === undefined) t.push(`Set notices.from in ${configPath} to the address notices are sent from.`);
  return t;
}

/** Write the commented config, a fresh Ed25519 certificate key (0600) and the folders it names. */
export function writeInitialConfig(o: InitOptions): InitResult {
  const dir = resolve(o.dir);
  const configPath = join(dir, 'detailee.yaml');
  if (existsSync(configPath) && !o.force) {
    throw new InputError(`${configPath} already exists.`, {
      code: 'init.exists',
      actions: ['Pass --force to overwrite it (the existing signing key is kept), or choose another --dir.'],
    });
  }
  const text = configText(o);
  // The file must load exactly as written: a bad flag value is refused here, naming the key,
  // before anything is created.
  const cfg = validate(configSchema, parse(text) as unknown, 'The config init would write', 'init.invalid');
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  for (const d of ['outbox', 'certificates']) mkdirSync(join(dir, d), { recursive: true });
  const keyPath = join(dir, cfg.certificates.signingKey!);
  const pubPath = keyPath.replace(/\.pem$/, '.pub.pem');
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
  writeFileSync(configPath, text, { mode: 0o644 });
  return {
    config: configPath,
    signingKey: keyPath,
    publicKey: pubPath,
    store: cfg.store!,
    outputDir: join(dir, 'certificates'),
    outbox: join(dir, 'outbox'),
    todo: todo({ ...o, dir }, configPath),
  };
}
