import { existsSync, readFileSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { parseYamlOrJson, validate } from '../validation.js';
import { readTextFile } from '../text-file.js';
import { configSchema, type ConfigFile } from './schema.js';
import { findConfigFile, noConfigError, resolveConfig, type Config } from './resolve.js';

// Path and store resolution live in resolve.ts (no YAML or schema library there); re-exported so
// every existing import keeps working.

export function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const file = findConfigFile(flag, env, cwd);
  if (file !== undefined && !existsSync(file)) {
    throw new InputError(`Config file ${JSON.stringify(file)} does not exist.`, {
      code: 'config.missing',
      actions: ['Run `detailee init` to write one, or pass --config with the right path.'],
    });
  }
  if (file === undefined) throw noConfigError(env);
  const text = readTextFile(file, 'config file').text;
  return resolveConfig(validateConfigText(text, file), file, env, cwd);
}

/** Parse and validate a config file's text (undefined: no file, the defaults). */
export function validateConfigText(text: string | undefined, file: string | undefined): ConfigFile {
  const raw = text === undefined ? {} : (parseYamlOrJson(text, `config file ${file}`) ?? {});
  return validate(configSchema, raw, `Config ${file ?? '(defaults)'}`, 'config.invalid');
}

/**
 * Read a secret from a file or an environment variable, never from the config itself.
 * The value is returned to the caller only; it is never logged or stored.
 */
export function resolveSecret(
  source: { file?: string | undefined; env?: string | undefined },
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (source.file !== undefined) {
    if (!existsSync(source.file)) {
      throw new InputError(`The ${what} file ${JSON.stringify(source.file)} does not exist.`, {
        code: 'secret.missing',
        actions: [`Create the file holding the ${what}, readable only by you (chmod 600).`],
      });
    }
    warnIfReadableByOthers(source.file, what);
    return readFileSync(source.file, 'utf8').replace(/\r?\n$/, '');
  }
  if (source.env !== undefined) {
    const v = env[source.env];
    if (v === undefined || v === '') {
      throw new InputError(`The environment variable ${source.env} (the ${what}) is not set.`, {
        code: 'secret.missing',
        actions: [`Export ${source.env} before running detailee.`],
      });
    }
    return v;
  }
  throw new InputError(`No source is configured for the ${what}.`, {
    code: 'secret.unconfigured',
    actions: ['Name a file or an environment variable for it in the config.'],
  });
}

export const warnings: string[] = [];

export function warnIfReadableByOthers(file: string, what: string): void {
  try {
    const mode = statSync(file).mode;
    if ((mode & 0o077) !== 0) {
      const msg = `Warning: the ${what} file ${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${file}.`;
      if (!warnings.includes(msg)) warnings.push(msg);
    }
  } catch {
    /* existence is checked by the caller */
  }
}
