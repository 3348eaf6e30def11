import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { isInteractive } from '../ui/prompt.js';
import { resolveSecret, warnIfReadableByOthers } from './load.js';
import type { Config } from './resolve.js';

export type CertificateSettings = Config['certificates'];

/** PKCS#8 `ENCRYPTED PRIVATE KEY`, or a legacy OpenSSL PEM with a `Proc-Type: 4,ENCRYPTED` header. */
export function isEncryptedPem(text: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /^Proc-Type:\s*4,ENCRYPTED/m.test(text);
}

/** Where an encrypted key's passphrase comes from, for messages (never the passphrase itself). */
export function passphraseSource(c: CertificateSettings): string | undefined {
  if (c.signingKeyPassphraseFile !== undefined) return `the file ${c.signingKeyPassphraseFile}`;
  if (c.signingKeyPassphraseEnv !== undefined) return `$${c.signingKeyPassphraseEnv}`;
  return undefined;
}

export interface ReadKeyOptions {
  /** Asks for the passphrase; only called on a terminal and only when no source is configured. */
  ask?: ((message: string) => Promise<string>) | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * The certificate signing key, decrypted in memory when it is an encrypted PEM. The passphrase comes
 * from certificates.signingKeyPassphraseFile, else ...Env, else a prompt on a terminal; without a
 * terminal and without a source it is a usage error (exit 2), never a hang.
 */
export async function readSigningKey(c: CertificateSettings, o: ReadKeyOptions = {}): Promise<KeyObject> {
  const path = c.signingKey;
  if (path === undefined) {
    throw new InputError('certificates.signingKey is not set.', {
      code: 'config.certificates',
      actions: ['Run `detailee init`, or set certificates.signingKey in the config.'],
    });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`Cannot read the certificate signing key ${path}: ${(e as Error).message}`, {
      code: 'key.unreadable',
      actions: ['Check certificates.signingKey in the config.'],
    });
  }
  warnIfReadableByOthers(path, 'certificate signing key');
  let passphrase: string | undefined;
  if (isEncryptedPem(text)) {
    const source = passphraseSource(c);
    if (source !== undefined) {
      passphrase = resolveSecret({ file: c.signingKeyPassphraseFile, env: c.signingKeyPassphraseEnv }, 'signing key passphrase', o.env);
    } else if (o.ask && isInteractive()) {
      passphrase = await o.ask(`Passphrase for the certificate signing key ${path}:`);
    } else {
      throw new InputError(`The certificate signing key ${path} is encrypted, no passphrase source is configured and there is no terminal to ask on.`, {
        code: 'key.passphrase',
        actions: ['Set certificates.signingKeyPassphraseFile (a file, mode 0600) or certificates.signingKeyPassphraseEnv, or run the command on a terminal.'],
      });
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? text : { key: text, passphrase });
  } catch (e) {
    const wrong = passphrase !== undefined;
    throw new InputError(
      wrong ? `The certificate signing key ${path} could not be decrypted: the passphrase is wrong or the file is damaged.` : `The certificate signing key ${path} cannot be read: ${(e as Error).message}`,
      {
        code: wrong ? 'key.passphrase' : 'key.unreadable',
        actions: [wrong ? `Check the passphrase (${passphraseSource(c) ?? 'typed at the prompt'}).` : 'Point certificates.signingKey at an Ed25519 private key in PEM (detailee init makes one).'],
      },
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InputError(`The certificate signing key ${path} is ${key.asymmetricKeyType}, not Ed25519.`, {
      code: 'key.type',
      actions: ['Generate an Ed25519 key: openssl genpkey -algorithm ed25519'],
    });
  }
  return key;
}

/** The terminal prompt for a passphrase, on stderr so `--json` output stays one document. */
export async function askPassphrase(message: string): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  return password({ message, mask: true }, { output: process.stderr });
}

