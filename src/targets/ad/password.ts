import { randomInt } from 'node:crypto';

/**
 * Passwords for AD accounts. The DC takes a new password only as `unicodePwd`: the password in
 * double quotes, encoded UTF-16LE, sent as a binary value over an encrypted connection. The value
 * is never returned to a caller that prints or stores it: provisioning and revocation generate one,
 * send it, and drop it.
 */
export function encodeUnicodePwd(password: string): Buffer {
  if (password.length === 0) throw new RangeError('A password must not be empty.');
  return Buffer.from(`"${password}"`, 'utf16le');
}

// No look-alikes (0/O, 1/l/I), and nothing that needs quoting in a shell or LDIF.
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGIT = '23456789';
const SYMBOL = '-_.+=#%';
const ALL = LOWER + UPPER + DIGIT + SYMBOL;

/**
 * A random password that meets AD's default complexity rule (three of the four character classes,
 * no part of the account name: it has all four, and 32 random characters cannot spell a name that
 * matters) and any length policy up to 32. About 190 bits.
 */
export function randomPassword(length = 32): string {
  if (length < 8 || length > 127) throw new RangeError('A generated password is 8 to 127 characters.');
  const pick = (set: string) => set[randomInt(set.length)]!;
  const chars = [pick(LOWER), pick(UPPER), pick(DIGIT), pick(SYMBOL)];
  while (chars.length < length) chars.push(pick(ALL));
  // Fisher–Yates, so the guaranteed classes are not always at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
