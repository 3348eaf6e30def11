/**
 * `userAccountControl` bits (MS-ADTS 2.2.16). Only the ones detailee writes or reads are named;
 * every other bit an administrator set is kept as it is.
 */
export const UAC = {
  SCRIPT: 0x0001,
  ACCOUNTDISABLE: 0x0002,
  HOMEDIR_REQUIRED: 0x0008,
  LOCKOUT: 0x0010,
  PASSWD_NOTREQD: 0x0020,
  PASSWD_CANT_CHANGE: 0x0040,
  ENCRYPTED_TEXT_PWD_ALLOWED: 0x0080,
  NORMAL_ACCOUNT: 0x0200,
  DONT_EXPIRE_PASSWORD: 0x1_0000,
  SMARTCARD_REQUIRED: 0x4_0000,
  PASSWORD_EXPIRED: 0x80_0000,
} as const;

/** A new detailee account: a normal user account, disabled until its start. */
export const NEW_DISABLED = UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;

/** Bits that would let the account in without the password the DC holds, or keep it forever. */
const UNSAFE = UAC.PASSWD_NOTREQD | UAC.ENCRYPTED_TEXT_PWD_ALLOWED | UAC.DONT_EXPIRE_PASSWORD;

export function parseUac(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d{1,10}$/.test(text.trim())) return undefined;
  const v = Number(text.trim());
  // AD returns the 32-bit value signed when the top bit is set.
  return v < 0 ? v + 0x1_0000_0000 : v;
}

export function isDisabled(uac: number): boolean {
  return (uac & UAC.ACCOUNTDISABLE) !== 0;
}

export function withDisabled(uac: number, disabled: boolean): number {
  return disabled ? (uac | UAC.ACCOUNTDISABLE) >>> 0 : (uac & ~UAC.ACCOUNTDISABLE) >>> 0;
}

/** Names of the set bits, for messages and proofs (unknown bits as hex). */
export function uacNames(uac: number): string[] {
  const names: string[] = [];
  let rest = uac >>> 0;
  for (const [name, bit] of Object.entries(UAC)) {
    if ((rest & bit) !== 0) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names;
}

/** The unsafe bits set on an account, by name; a managed account should have none. */
export function unsafeBits(uac: number): string[] {
  return uacNames(uac & UNSAFE);
}
