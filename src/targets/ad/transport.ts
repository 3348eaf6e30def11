import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { AdConfig } from '../../config/schema.js';
import { InputError } from '../../errors.js';
import { isLoopbackHost } from '../../net/loopback.js';

/**
 * How the DC is reached, decided before anything connects: TLS from the first byte (ldaps://),
 * StartTLS on ldap://, or plain LDAP to a loopback DC only. With TLS only the pinned CA
 * (targets.ad.caCertificate) is trusted, and Node checks that the DC certificate names the URL's
 * host. `readCa` is injected so the decision can be tested without files.
 */
export function adTransport(
  config: Pick<AdConfig, 'url' | 'startTLS' | 'caCertificate'>,
  readCa: (file: string) => Buffer,
): { transport: 'ldaps' | 'starttls' | 'plain'; tlsOptions: ConnectionOptions } {
  const url = new URL(config.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const transport = url.protocol === 'ldaps:' ? 'ldaps' : config.startTLS === true ? 'starttls' : 'plain';
  if (transport === 'plain' && !isLoopbackHost(host)) {
    throw new InputError(`targets.ad.url ${config.url} is plain LDAP to ${host}, which is not a loopback address.`, {
      code: 'ad.insecure',
      actions: ['Use an ldaps:// URL, or set targets.ad.startTLS to true.'],
    });
  }
  if (transport !== 'plain' && config.caCertificate === undefined) {
    throw new InputError('targets.ad.caCertificate is not set: detailee pins the CA of the DC certificate.', {
      code: 'ad.tls.pin',
      actions: ["Set targets.ad.caCertificate to the PEM file of the CA that issued the DC's certificate."],
    });
  }
  let ca: Buffer | undefined;
  if (config.caCertificate !== undefined) {
    try {
      ca = readCa(config.caCertificate);
    } catch (e) {
      throw new InputError(`targets.ad.caCertificate ${config.caCertificate} cannot be read (${(e as Error).message}).`, {
        code: 'ad.tls.pin',
        actions: ['Fix the path in targets.ad.caCertificate.'],
        cause: e,
      });
    }
  }
  // `host` is what Node checks the certificate against (StartTLS would otherwise check "localhost");
  // SNI carries names only, never an address.
  return { transport, tlsOptions: { ...(ca ? { ca } : {}), host, ...(isIP(host) ? {} : { servername: host }) } };
}
