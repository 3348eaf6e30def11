import { BlockList, isIP } from 'node:net';

const LOOPBACK6 = new BlockList();
LOOPBACK6.addAddress('::1', 'ipv6');
// IPv4-mapped 127.0.0.0/8.
LOOPBACK6.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/**
 * The one rule for "this never leaves the machine", where plain LDAP or SMTP is tolerated:
 * `localhost`, 127.0.0.0/8, ::1 (however written) and IPv4-mapped 127/8. Any other name is not
 * trusted, since whatever resolves it could send the bytes elsewhere; brackets around IPv6 are
 * accepted as URLs write them.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) return LOOPBACK6.check(h, 'ipv6');
  return false;
}
