import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { InputError } from '../errors.js';
import { validate } from '../validation.js';
import { configSchema } from './schema.js';

export interface InitOptions {
  dir: string;
  timezone: string;
  store?: string | undefined;
  force: boolean;
}

export interface InitResult {
  config: string;
  signingKey: string;
  publicKey: string;
  store: string;
  outputDir: string;
  outbox: string;
}

/** Write a minimal valid config, a fresh Ed25519 certificate key (0600) and the folders it names. */
export function writeInitialConfig(o: InitOptions): InitResult {
  const dir = resolve(o.dir);
  const configPath = join(dir, 'detailee.yaml');
  if (existsSync(configPath) && !o.force) {
    throw new InputError(`${configPath} already exists.`, {
      code: 'init.exists',
      actions: ['Pass --force to overwrite it (the existing signing key is kept), or choose another --dir.'],
    });
  }
  const cfg = {
    store: o.store ?? 'sqlite:detailee.db',
    timezone: o.timezone,
    trust: { signers: [], caCertificates: [], crls: [], requiredRoles: ['approver'] },
    notices: { daysBefore: [30, 14, 7, 1], outbox: 'outbox' },
    certificates: { signingKey: 'keys/certificate-signing.pem', outputDir: 'certificates' },
  };
  validate(configSchema, cfg, 'The config init would write', 'init.invalid');
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  for (const d of ['outbox', 'certificates']) mkdirSync(join(dir, d), { recursive: true });
  const keyPath = join(dir, cfg.certificates.signingKey);
  const pubPath = keyPath.replace(/\.pem$/, '.pub.pem');
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  }
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileSync(
    configPath,
    `# detailee configuration — see the README's "Configuration" section.\n# Secrets never go here: name a file or an environment variable instead.\n${stringify(cfg)}`,
    { mode: 0o644 },
  );
  return {
    config: configPath,
    signingKey: keyPath,
    publicKey: pubPath,
    store: cfg.store,
    outputDir: join(dir, 'certificates'),
    outbox: join(dir, 'outbox'),
  };
}
