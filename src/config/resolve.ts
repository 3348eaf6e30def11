import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { ConfigFile } from './schema.js';
import { storeUrlProblem } from '../store/url.js';

export interface Config extends ConfigFile {
  /** The file it was read from, or undefined when none exists (defaults only). */
  file: string | undefined;
  /** The folder relative paths were resolved against. */
  dir: string;
  /**
   * The store URL in force: $DETAILEE_DATABASE_URL, else `store`; '' when neither names one (then
   * a command that needs the store refuses: see requireStoreUrl).
   */
  storeUrl: string;
}

function userConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'detailee');
}

/**
 * The refusal for a command that needs a config and found none. A default store under the home
 * folder would let a nightly job pointed at the wrong user "succeed" forever on an empty store.
 */
export function noConfigError(env: NodeJS.ProcessEnv = process.env): InputError {
  return new InputError(
    `No config found: no --config, no $DETAILEE_CONFIG, no ./detailee.yaml and no ${join(userConfigDir(env), 'config.yaml')}.`,
    {
      code: 'config.none',
      actions: ['Run `detailee init` to write one here (detailee.yaml), or pass --config with the path of an existing one.'],
    },
  );
}

/** The store URL a command needs, or the exit-2 refusal naming the config that lacks it. */
export function requireStoreUrl(cfg: Pick<Config, 'storeUrl' | 'file'>): string {
  if (cfg.storeUrl !== '') return cfg.storeUrl;
  throw new InputError(`The config ${cfg.file ?? ''} names no store, and $DETAILEE_DATABASE_URL is not set.`, {
    code: 'config.store-missing',
    actions: [`Add a line such as \`store: sqlite:detailee.db\` (or a postgres:// URL) to ${cfg.file ?? 'the config'}, or set DETAILEE_DATABASE_URL.`],
  });
}

/** `--config`, else $DETAILEE_CONFIG, else ./detailee.yaml, else the user config dir. */
export function findConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (flag) return resolve(cwd, flag);
  if (env.DETAILEE_CONFIG) return resolve(cwd, env.DETAILEE_CONFIG);
  const local = resolve(cwd, 'detailee.yaml');
  if (existsSync(local)) return local;
  const user = join(userConfigDir(env), 'config.yaml');
  if (existsSync(user)) return user;
  return undefined;
}

/**
 * A validated config file made usable: relative paths resolved against the file's folder, the
 * store URL chosen (the environment wins). Needs neither the YAML parser nor the schema library, so
 * the fast `status` start can use it on a config validated earlier.
 */
export function resolveConfig(parsed: ConfigFile, file: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const dir = file ? dirname(file) : cwd;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const optAbs = (p: string | undefined) => (p === undefined ? undefined : abs(p));

  const cfg: Config = {
    ...parsed,
    file,
    dir,
    storeUrl: '',
    trust: {
      ...parsed.trust,
      signers: parsed.trust.signers.map((s) => ({ ...s, publicKey: optAbs(s.publicKey) })),
      caCertificates: parsed.trust.caCertificates.map(abs),
      crls: parsed.trust.crls.map(abs),
    },
    targets: {
      ldap: parsed.targets.ldap && {
        ...parsed.targets.ldap,
        bindPasswordFile: optAbs(parsed.targets.ldap.bindPasswordFile),
        caCertificate: optAbs(parsed.targets.ldap.caCertificate),
      },
      aws: parsed.targets.aws,
      ad: parsed.targets.ad && {
        ...parsed.targets.ad,
        bindPasswordFile: optAbs(parsed.targets.ad.bindPasswordFile),
        caCertificate: optAbs(parsed.targets.ad.caCertificate),
      },
    },
    notices: {
      ...parsed.notices,
      outbox: optAbs(parsed.notices.outbox),
      smtp: parsed.notices.smtp && { ...parsed.notices.smtp, passwordFile: optAbs(parsed.notices.smtp.passwordFile) },
    },
    certificates: {
      signingKey: optAbs(parsed.certificates.signingKey),
      signingKeyPassphraseFile: optAbs(parsed.certificates.signingKeyPassphraseFile),
      signingKeyPassphraseEnv: parsed.certificates.signingKeyPassphraseEnv,
      outputDir: optAbs(parsed.certificates.outputDir),
    },
  };
  cfg.storeUrl = resolveStoreUrl(parsed.store, dir, env);
  return cfg;
}

/** `source` names where `store` came from, for the message when it is malformed. */
export function resolveStoreUrl(store: string | undefined, dir: string, env: NodeJS.ProcessEnv, source = 'store (in the config)'): string {
  const fromEnv = env.DETAILEE_DATABASE_URL;
  const url = fromEnv && fromEnv !== '' ? fromEnv : store;
  // No store named: nothing is created behind the user's back (requireStoreUrl refuses).
  if (url === undefined || url === '') return '';
  const problem = storeUrlProblem(url);
  if (problem !== undefined) {
    const named = fromEnv && fromEnv !== '' ? '$DETAILEE_DATABASE_URL' : source;
    throw new InputError(`The store URL in ${named} (${JSON.stringify(redactUrl(url))}) ${problem}.`, {
      code: 'config.store',
      actions: [`Correct ${named}: sqlite:/path/to/detailee.db or postgres://user@host/database.`],
    });
  }
  if (url.startsWith('sqlite:')) {
    const p = url.slice('sqlite:'.length);
    return `sqlite:${p === ':memory:' || isAbsolute(p) ? p : resolve(dir, p)}`;
  }
  if (/^postgres(ql)?:\/\//.test(url)) return url;
  throw new InputError(`The store ${JSON.stringify(redactUrl(url))} is neither sqlite:<path> nor a postgres:// URL.`, {
    code: 'config.store',
    actions: ['Set store (or DETAILEE_DATABASE_URL) to sqlite:/path/to/detailee.db or postgres://host/db.'],
  });
}

/** Never show a password embedded in a URL. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) {
      u.password = '***';
      return u.toString();
    }
  } catch {
    /* not a URL: fall through to the pattern */
  }
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^/]*@/i, '$1:***@');
}

