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

export type TrustedSigner = z.output<typeof signerSchema>;

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
      requiredRoles: z.array(z.string().min(1)).default([]),
    })
    .default({ signers: [], caCertificates: [], crls: [], requiredRoles: [] }),
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
  retentionDays: z.number().int().min(0).max(36500).default(90),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ConfigFile = z.output<typeof configSchema>;
export type LdapConfig = NonNullable<ConfigFile['targets']['ldap']>;
export type AwsConfig = NonNullable<ConfigFile['targets']['aws']>;
export type TrustConfig = ConfigFile['trust'];
