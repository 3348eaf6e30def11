import type { TrustedSigner } from '../config/schema.js';

/** A detached signature file as read: its path (for messages and the extension) and its bytes. */
export interface SignatureFile {
  path: string;
  bytes: Uint8Array;
}

/** One signature entry checked by its form's verifier (JWS or CMS), before policy is applied. */
export type EntryResult = { ok: true; who: string; candidates: TrustedSigner[]; warnings?: string[] } | { ok: false; who?: string; reason: string };
