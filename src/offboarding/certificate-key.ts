import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VerificationError } from '../errors.js';

/**
 * The public half of the configured certificates.signingKey, for checking what it signed. Verify
 * fails closed: a key the config names but that is missing, unreadable or not Ed25519 is a failed
 * check (exit 3) with the reason, so a broken installation can never report a certificate as
 * verified against nothing.
 */
export function configuredCertificateKey(path: string): string {
  let key: KeyObject;
  try {
    // A private key (certificates.signingKey) or a public one: either gives the public half.
    key = createPublicKey(readFileSync(path));
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
    throw unusable(path, reason);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw unusable(path, `it is ${key.asymmetricKeyType}, not Ed25519`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

function unusable(path: string, reason: string): VerificationError {
  return new VerificationError(`The configured certificate signing key ${path} cannot be used: ${reason}. Without it the issuer cannot be checked, so nothing was verified.`, {
    code: 'certificate.configured-key',
    actions: ['Fix certificates.signingKey in the config, or pass --key with the issuing office\'s public key (signing-key.pub.pem).'],
  });
}
