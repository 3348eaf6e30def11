import type { Observed } from '../model.js';
import { hasDenyAll } from './documents.js';

/** The names detailee gives its IAM objects, and the facts an IAM read reports: pure, no client. */

export const TERM_POLICY = 'detailee-term';
export const REVOKED_POLICY = 'detailee-revoked';
export const TAG_ASSIGNMENT = 'detailee:assignment';
export const TAG_ENDS_AT = 'detailee:ends-at';
export const TAG_MANAGED_BY = 'detailee:managed-by';
export const TAG_REVOKED_AT = 'detailee:revoked-at';
export const MANAGED_BY = 'detailee';

export interface IamCredential {
  id: string;
  /** `Active` or `Inactive`, as IAM reports it. */
  status: string;
}

/** What `inspect` puts in Observed.facts for this target. */
export interface IamFacts {
  /** Tagged `detailee:managed-by` = detailee. */
  managed: boolean;
  path?: string | undefined;
  arn?: string | undefined;
  /** The permissions boundary ARN GetUser reports (moto never reports one). */
  boundary?: string | undefined;
  tags: Record<string, string>;
  accessKeys: IamCredential[];
  loginProfile: boolean;
  signingCertificates: IamCredential[];
  sshPublicKeys: IamCredential[];
  serviceSpecificCredentials: IamCredential[];
  /** MFA device serial numbers; virtual ones are ARNs with `:mfa/`. */
  mfaDevices: string[];
  inlinePolicies: string[];
  /** Parsed documents of the inline policies detailee owns (term, revoked), by name. */
  documents: Record<string, unknown>;
  /** Listings the endpoint could not answer because an emulator lacks the operation. */
  unsupported: string[];
  /**
   * What this read left out because the intent it was made for never looks at it (e.g. a
   * revocation does not read the term document); empty for a full read. A fact named here is not
   * evidence of absence.
   */
  notRead: string[];
}

export function iamFacts(observed: Observed): IamFacts {
  const f = observed.facts as Partial<IamFacts>;
  return {
    managed: f.managed === true,
    path: f.path,
    arn: f.arn,
    boundary: f.boundary,
    tags: f.tags ?? {},
    accessKeys: f.accessKeys ?? [],
    loginProfile: f.loginProfile === true,
    signingCertificates: f.signingCertificates ?? [],
    sshPublicKeys: f.sshPublicKeys ?? [],
    serviceSpecificCredentials: f.serviceSpecificCredentials ?? [],
    mfaDevices: f.mfaDevices ?? [],
    inlinePolicies: f.inlinePolicies ?? [],
    documents: f.documents ?? {},
    unsupported: f.unsupported ?? [],
    notRead: f.notRead ?? [],
  };
}

/**
 * Revoked means detailee-revoked exists with its deny-all intact. Any credential of any kind that
 * is usable (active access key, login profile, active signing certificate, SSH key or
 * service-specific credential) makes an un-revoked user enabled; a user with none cannot sign
 * anything, so it is reported as not enabled even if it holds groups.
 */
export function isDenied(f: IamFacts): boolean {
  return f.inlinePolicies.includes(REVOKED_POLICY) && hasDenyAll(f.documents[REVOKED_POLICY]);
}

function hasUsableCredential(f: IamFacts): boolean {
  const active = (c: IamCredential) => c.status === 'Active';
  return (
    f.loginProfile ||
    f.accessKeys.some(active) ||
    f.signingCertificates.some(active) ||
    f.sshPublicKeys.some(active) ||
    f.serviceSpecificCredentials.some(active)
  );
}

/** Any trace of a revocation: even a damaged deny-all means detailee must not hand the user back out. */
export function wasRevoked(observed: Observed): boolean {
  return iamFacts(observed).inlinePolicies.includes(REVOKED_POLICY) || observed.revokedAt !== undefined;
}

export function isEnabled(f: IamFacts): boolean {
  return !isDenied(f) && hasUsableCredential(f);
}

/** A user with no credentials, policies or tags; callers fill in what they know. */
export function emptyIamFacts(): IamFacts {
  return {
    managed: false,
    tags: {},
    accessKeys: [],
    loginProfile: false,
    signingCertificates: [],
    sshPublicKeys: [],
    serviceSpecificCredentials: [],
    mfaDevices: [],
    inlinePolicies: [],
    documents: {},
    unsupported: [],
    notRead: [],
  };
}
