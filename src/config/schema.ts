import { isIP } from 'node:net';
import { z } from 'zod';
import { timezoneSchema, isoDateSchema } from '../assignment/schema.js';

const path = z.string({ error: 'must be a file path' }).min(1, { error: 'must not be empty' }).max(4096);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });
const instant = z.union([isoDateSchema, z.iso.datetime({ offset: true, error: 'must be an ISO date or date-time' })]);

const signerSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,127}$/, { error: 'must be a plain signer name' }),
    role: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, { error: 'must be a lower-case role name (e.g. approver)' }),
    notBefore: instant.optional(),
    notAfter: instant.optional(),
    publicKey: path.optional(),
    certificateSubject: z.string().min(1).max(1024).optional(),
    certificateSha256: z
      .string()
      .transform((s) => s.replace(/:/g, '').toLowerCase())
      .pipe(z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a SHA-256 fingerprint (64 hex digits)' }))
      .optional(),
  })
  .refine((s) => [s.publicKey, s.certificateSubject, s.certificateSha256].filter((x) => x !== undefined).length === 1, {
    error: 'give exactly one of publicKey, certificateSubject or certificateSha256',
  });

/** Loopback hosts, where plain LDAP never leaves the machine (the same rule as the LDAP target). */
function loopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

const dn = (field: string) =>
  z
    .string({ error: `must be a DN such as OU=Detailees,DC=agency,DC=gov` })
    .min(1, { error: 'must not be empty' })
    .max(1024)
    .regex(/^[A-Za-z][A-Za-z0-9-]*=[^,]+(,\s*[A-Za-z][A-Za-z0-9-]*=[^,]+)*$/, { error: `must be a DN such as ${field}` });

/** Active Directory: the third target (src/targets/ad/), opened by openTargets when this section is present. */
const adSchema = z
  .strictObject({
    url: z.string().regex(/^ldaps?:\/\/[^\s/]+\/?$/, { error: 'must be an ldaps:// URL (or ldap:// with startTLS), host and optional port only, e.g. ldaps://dc1.agency.gov' }),
    startTLS: z.boolean().optional(),
    bindDN: z
      .string({ error: 'must be the service account as a DN or as user@domain' })
      .min(1, { error: 'must not be empty' })
      .max(1024)
      .refine((s) => /^[^@\s]+@[A-Za-z0-9.-]+$/.test(s) || /^[A-Za-z][A-Za-z0-9-]*=.+/.test(s), {
        error: 'must be the service account as a DN (CN=svc-detailee,OU=Service Accounts,DC=agency,DC=gov) or as user@domain',
      }),
    bindPasswordFile: path.optional(),
    bindPasswordEnv: envName.optional(),
    usersDN: dn('OU=Detailees,DC=agency,DC=gov'),
    groupsDN: dn('OU=Groups,DC=agency,DC=gov'),
    upnSuffix: z
      .string({ error: 'must be a DNS-style suffix such as agency.gov' })
      .regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, {
        error: 'must be a DNS-style suffix such as agency.gov (without the "@")',
      }),
    caCertificate: path.optional(),
    /** The first-password step: the detailee must choose a new password at first logon (pwdLastSet 0). */
    mustChangePassword: z.boolean().default(true),
    timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  })
  .refine((a) => (a.bindPasswordFile === undefined) !== (a.bindPasswordEnv === undefined), {
    error: 'give exactly one of bindPasswordFile or bindPasswordEnv (the password itself never goes in the config)',
  })
  .refine((a) => !(a.url.startsWith('ldaps:') && a.startTLS !== undefined), {
    path: ['startTLS'],
    error: 'has no meaning with an ldaps:// URL (TLS from the first byte); remove it',
  })
  .refine((a) => !(a.url.startsWith('ldap:') && a.startTLS === false && !loopbackUrl(a.url)), {
    path: ['startTLS'],
    error: 'may be false only for a loopback DC (127.0.0.0/8, ::1, localhost); use ldaps:// or startTLS: true so the bind password never crosses the network in clear',
  })
  .refine((a) => a.caCertificate !== undefined || (a.url.startsWith('ldap:') && a.startTLS !== true && loopbackUrl(a.url)), {
    path: ['caCertificate'],
    error: "is required: the PEM file of the CA that issued the domain controller's certificate, so detailee checks the DC it talks to",
  });

export type TrustedSigner = z.output<typeof signerSchema>;

const sha256Fingerprint = z
  .string()
  .transform((s) => s.replace(/:/g, '').toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a SHA-256 fingerprint (64 hex digits)' }));

/**
 * A certificate issuer named on purpose: today only to accept that no CRL of it is at hand
 * (`revocation: unchecked`), which is then reported as a warning wherever it is relied on.
 */
const issuerSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    certificateSubject: z.string().min(1).max(1024).optional(),
    certificateSha256: sha256Fingerprint.optional(),
    revocation: z.literal('unchecked', {
      error: 'must be "unchecked" (an issuer not listed here needs a current CRL in trust.crls)',
    }),
  })
  .refine((s) => [s.certificateSubject, s.certificateSha256].filter((x) => x !== undefined).length === 1, {
    error: 'give exactly one of certificateSubject or certificateSha256 (the issuing CA certificate)',
  });

export type TrustedIssuer = z.output<typeof issuerSchema>;

export const configSchema = z.strictObject({
  store: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, { error: 'must be sqlite:<path> or a postgres:// URL' })
    .optional(),
  timezone: timezoneSchema.default('America/New_York'),
  trust: z
    .strictObject({
      signers: z.array(signerSchema).default([]),
      caCertificates: z.array(path).default([]),
      crls: z.array(path).default([]),
      issuers: z.array(issuerSchema).default([]),
      requiredRoles: z.array(z.string().min(1)).default([]),
    })
    .default({ signers: [], caCertificates: [], crls: [], issuers: [], requiredRoles: [] }),
  targets: z
    .strictObject({
      ldap: z
        .strictObject({
          url: z.string().regex(/^ldaps?:\/\/[^\s]+$/, { error: 'must be an ldap:// or ldaps:// URL' }),
          bindDN: z.string().min(1),
          bindPasswordFile: path.optional(),
          bindPasswordEnv: envName.optional(),
          peopleDN: z.string().min(1),
          groupsDN: z.string().min(1),
          groupMemberAttribute: z.enum(['member', 'memberUid'], { error: 'must be member or memberUid' }).default('member'),
          startTLS: z.boolean().optional(),
          timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
          caCertificate: path.optional(),
        })
        .refine((l) => (l.bindPasswordFile === undefined) !== (l.bindPasswordEnv === undefined), {
          error: 'give exactly one of bindPasswordFile or bindPasswordEnv (the password itself never goes in the config)',
        })
        .optional(),
      aws: z
        .strictObject({
          region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'must be an AWS region such as us-east-1' }),
          endpoint: z.url({ error: 'must be a URL' }).optional(),
          path: z
            .string()
            .regex(/^\/([\x21-\x7e]+\/)?$/, { error: 'must start and end with "/" (e.g. /detailees/)' })
            .default('/detailees/'),
          permissionsBoundary: z
            .string()
            .regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/, { error: 'must be an IAM policy ARN' })
            .optional(),
          timeoutMs: z.number().int().min(100).max(600_000).default(15_000),
          maxAttempts: z.number().int().min(1).max(20).default(5),
          /** Read-only listings an emulator does not implement (moto: ListServiceSpecificCredentials); never for real IAM. */
          unsupportedOperations: z
            .array(z.enum(['ListServiceSpecificCredentials', 'ListSigningCertificates', 'ListSSHPublicKeys', 'ListMFADevices']))
            .default([]),
        })
        .optional(),
      ad: adSchema.optional(),
    })
    .default({}),
  notices: z
    .strictObject({
      daysBefore: z.array(z.number().int().min(0).max(365)).default([30, 14, 7, 1]),
      outbox: path.optional(),
      from: z.email().optional(),
      smtp: z
        .strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).default(587),
          secure: z.boolean().default(false),
          startTLS: z.boolean().optional(),
          username: z.string().optional(),
          passwordFile: path.optional(),
          passwordEnv: envName.optional(),
        })
        .optional(),
    })
    .default({ daysBefore: [30, 14, 7, 1] }),
  certificates: z
    .strictObject({
      signingKey: path.optional(),
      /** An encrypted (PKCS#8) signingKey's passphrase: from this file or this variable, else a prompt on a terminal. */
      signingKeyPassphraseFile: path.optional(),
      signingKeyPassphraseEnv: envName.optional(),
      outputDir: path.optional(),
    })
    .refine((c) => c.signingKeyPassphraseFile === undefined || c.signingKeyPassphraseEnv === undefined, {
      error: 'give at most one of signingKeyPassphraseFile or signingKeyPassphraseEnv (the passphrase itself never goes in the config)',
    })
    .default({}),
  /** How often the nightly job re-proves ended assignments against the live targets. */
  reproof: z
    .strictObject({
      /** Every night for this many days after access ended. */
      nightlyDays: z.number().int().min(0).max(3650).default(30),
      /** Then once every this many days (a rolling schedule, spread over the nights). */
      everyDays: z.number().int().min(1).max(365).default(7),
    })
    .default({ nightlyDays: 30, everyDays: 7 }),
});

export type ConfigFile = z.output<typeof configSchema>;
export type LdapConfig = NonNullable<ConfigFile['targets']['ldap']>;
export type AwsConfig = NonNullable<ConfigFile['targets']['aws']>;
export type AdConfig = NonNullable<ConfigFile['targets']['ad']>;
export type TrustConfig = ConfigFile['trust'];
