import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { warnIfReadableByOthers } from '../config/load.js';
import { InputError, VerificationError } from '../errors.js';
import type { AuditEvent, Store, StoredAuditEvent } from '../store/types.js';
import { verifyFileBytes } from '../offboarding/file-signature.js';
import { ftiFromRow, storedAuditFromArray } from '../store/rows.js';
import { FtiChainIndex, type FtiFinding } from '../offboarding/fti-chain.js';
import { ed25519KeyId } from '../crypto/jws.js';
import { ChainVerifier } from './chain.js';
import { BATCH, finishBatch, walkStoredChain } from './read-chain.js';
import { startTail } from './tail.js';
import { canonicalJson } from '../crypto/canonical-json.js';

interface Checkpoint {
  format: 'detailee/audit-checkpoint/v1';
  size: number;
  hash: string;
  at: string;
  store: string;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  keyId: string;
  publicKey: string;
  signature: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  events: number;
  head: { seq: number; hash: string } | null;
  firstBadSeq: number | null;
  reason: string | null;
  checkpoint: {
    size: number;
    hash: string;
    ok: boolean;
    reason: string | null;
    /** `F.sig` over the checkpoint file's bytes: verified, or absent (checkpoints written before .sig files, or to stdout). */
    fileSignature?: 'verified' | 'absent';
  } | null;
  /**
   * The store's FTI rows against the chain's FTI events, both ways. Not checked when the chain
   * itself is broken: its events cannot vouch for anything then.
   */
  fti: { checked: boolean; entries: number; rows: number; findings: FtiFinding[] };
}

type Progress = (stage: string, done: number, total: number) => void;

/** Stream the chain in batches: memory stays flat however long the log is. */
export async function* iterateAudit(store: Store): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const batch = await store.readAudit(after, BATCH);
    if (batch.length === 0) return;
    yield* batch;
    after = batch[batch.length - 1]!.seq;
  }
}

export async function verifyAudit(
  store: Store,
  checkpoint?: SignedCheckpoint,
  trustedKey?: KeyObject,
  onProgress?: Progress,
): Promise<AuditVerifyResult> {
  if (checkpoint) verifyCheckpointSignature(checkpoint, trustedKey);
  const watch = checkpoint ? [checkpoint.checkpoint.size] : [];
  const v = new ChainVerifier(watch);
  const fti = new FtiChainIndex();
  await verifyChain(store, v, fti, watch, onProgress);
  const ftiResult: AuditVerifyResult['fti'] = { checked: false, entries: 0, rows: 0, findings: [] };
  if (!v.problem) {
    ftiResult.rows = await checkFtiRows(store, fti);
    ftiResult.findings = fti.finish();
    ftiResult.entries = fti.size;
    ftiResult.checked = true;
  }
  let cp: AuditVerifyResult['checkpoint'] = null;
  if (checkpoint) {
    const { size, hash } = checkpoint.checkpoint;
    const seen = v.hashAt(size);
    let reason: string | null = null;
    if (v.problem && v.problem.seq <= size) reason = `the chain is broken at event ${v.problem.seq}, inside the checkpointed range`;
    else if ((v.head?.seq ?? 0) < size) reason = `the log holds ${v.head?.seq ?? 0} events but the checkpoint vouches for ${size}: events were truncated or rolled back`;
    else if (seen !== hash) reason = `event ${size} does not match the checkpoint's hash: the log was rewritten behind the checkpoint`;
    cp = { size, hash, ok: reason === null, reason };
  }
  const firstFti = ftiResult.findings[0];
  const ok = !v.problem && (cp === null || cp.ok) && firstFti === undefined;
  return {
    ok,
    events: v.count,
    head: v.head ?? null,
    firstBadSeq: v.problem?.seq ?? (cp && !cp.ok ? Math.min(cp.size, (v.head?.seq ?? 0) + 1) : (firstFti?.event ?? null)),
    reason: v.problem?.reason ?? cp?.reason ?? firstFti?.message ?? null,
    checkpoint: cp,
    fti: ftiResult,
  };
}

/**
 * The chain through the verifier and, up to its first problem, its events through the FTI index.
 * The events as stored: details are parsed only where they are not canonical already, or where
 * the FTI index reads them (its own events). A long chain in a store file is verified in two
 * halves at once (tail.ts), with the verdict of one pass.
 */
async function verifyChain(store: Store, v: ChainVerifier, fti: FtiChainIndex, watch: number[], onProgress: Progress | undefined): Promise<void> {
  // The head read first is only a total (the progress display's, and where the halves meet):
  // events appended meanwhile are verified too, and the count then simply passes it.
  const head = onProgress || store.file !== undefined ? ((await store.auditHead())?.seq ?? 0) : 0;
  const total = onProgress ? head : 0;
  let done = 0;
  const step = (e: StoredAuditEvent, canonical: boolean): boolean => {
    v.addStored(e, canonical);
    if (onProgress && (++done % 1000 === 0 || done === total)) onProgress('audit verify', done, Math.max(done, total));
    if (v.problem) return false;
    fti.add(e);
    return true;
  };
  const tail = startTail(store, head, watch);
  if (!tail) return walkStoredChain(store, step);
  try {
    await walkStoredChain(store, (e, canonical) => step(e, canonical) && v.count < tail.after);
    // Stopped in the first half (a problem, or a chain shorter than the head said): that is the verdict.
    if (v.problem || v.count !== tail.after || v.head?.seq !== tail.after) return;
    const r = await tail.result;
    if (r?.verified && r.startHash === v.head.hash) {
      // The FTI events of the second half, in order; where the index throws, a single pass would
      // have thrown too, once the rest of that event's batch was read (a text there that is not
      // JSON failing first).
      for (const row of r.fti) {
        const e = storedAuditFromArray(row);
        try {
          fti.add(e);
        } catch (err) {
          await finishBatch(store, { after: e.seq, inBatch: e.seq % BATCH });
          throw err;
        }
      }
      v.absorb(r.state);
      done += r.state.count;
      onProgress?.('audit verify', done, Math.max(done, total));
      return;
    }
    // No answer to use (the worker failed, met an error, or read another event where the halves
    // meet): this thread goes on from there.
    await walkStoredChain(store, step, { after: tail.after, inBatch: 0 });
  } finally {
    tail.stop();
  }
}

/** Every FTI row of the store through the index, in pages; returns how many rows there were. */
async function checkFtiRows(store: Store, index: FtiChainIndex): Promise<number> {
  let count = 0;
  for (let offset = 0; ; offset += BATCH) {
    const page = await store.exportRaw('fti', offset, BATCH);
    for (const raw of page) {
      count++;
      index.checkRow(ftiFromRow(raw));
    }
    if (page.length < BATCH) return count;
  }
}

/** The same key id certificates carry, so one key has one name everywhere. */
function keyId(publicKey: KeyObject): string {
  return ed25519KeyId(publicKey);
}

export function loadEd25519PrivateKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (e) {
    throw new InputError(`Cannot read the signing key ${path}: ${(e as Error).message}`, {
      code: 'key.unreadable',
      actions: ['Point certificates.signingKey at an Ed25519 private key in PEM (detailee init makes one).'],
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InputError(`The signing key ${path} is ${key.asymmetricKeyType}, not Ed25519.`, {
      code: 'key.type',
      actions: ['Generate an Ed25519 key: openssl genpkey -algorithm ed25519'],
    });
  }
  warnIfReadableByOthers(path, 'signing key');
  return key;
}

export function loadPublicKey(path: string): KeyObject {
  try {
    return createPublicKey(readFileSync(path));
  } catch (e) {
    throw new InputError(`Cannot read the public key ${path}: ${(e as Error).message}`, {
      code: 'key.unreadable',
      actions: ['Pass a PEM public (or private) key.'],
    });
  }
}

export async function makeCheckpoint(store: Store, key: KeyObject, now: Date): Promise<SignedCheckpoint> {
  const head = await store.auditHead();
  if (!head) {
    throw new InputError('The audit log is empty; there is nothing to checkpoint.', {
      code: 'audit.empty',
      actions: ['Checkpoint after the first recorded change.'],
    });
  }
  const checkpoint: Checkpoint = { format: 'detailee/audit-checkpoint/v1', size: head.seq, hash: head.hash, at: now.toISOString(), store: store.location };
  const pub = createPublicKey(key);
  const signature = sign(null, Buffer.from(canonicalJson(checkpoint)), key).toString('base64url');
  return { checkpoint, keyId: keyId(pub), publicKey: pub.export({ type: 'spki', format: 'pem' }).toString(), signature };
}

/**
 * A checkpoint is only as good as the key that vouches for it: verification uses the trusted key
 * from config (or --key), never the key embedded in the file, so a forged checkpoint fails.
 */
export function verifyCheckpointSignature(cp: SignedCheckpoint, trusted: KeyObject | undefined): void {
  if (!trusted) {
    throw new InputError('No key to check the checkpoint against.', {
      code: 'audit.no-key',
      actions: ['Set certificates.signingKey in the config, or pass --key with the public key that signed checkpoints.'],
    });
  }
  const trustedPub = trusted.type === 'private' ? createPublicKey(trusted) : trusted;
  if (cp?.checkpoint?.format !== 'detailee/audit-checkpoint/v1' || typeof cp.signature !== 'string') {
    throw new VerificationError('The checkpoint file is not a detailee audit checkpoint.', {
      code: 'audit.checkpoint-format',
      actions: ['Pass a file written by `detailee audit checkpoint`.'],
    });
  }
  const ok = verify(null, Buffer.from(canonicalJson(cp.checkpoint)), trustedPub, Buffer.from(cp.signature, 'base64url'));
  if (!ok) {
    throw new VerificationError(`The checkpoint's signature does not verify with the trusted key ${keyId(trustedPub)}: it is forged or altered.`, {
      code: 'audit.checkpoint-signature',
      actions: ['Use a checkpoint written by this installation, and keep checkpoints where the store\'s writers cannot change them.'],
    });
  }
}

/**
 * `F.sig` beside a checkpoint file: raw Ed25519 over its exact bytes, by the same trusted key that
 * must have signed the checkpoint inside (so `openssl pkeyutl -verify -rawin` checks it too).
 */
export function verifyCheckpointFileSignature(bytes: Uint8Array, signature: Uint8Array, trusted: KeyObject | undefined): void {
  if (!trusted) {
    throw new InputError('No key to check the checkpoint against.', {
      code: 'audit.no-key',
      actions: ['Set certificates.signingKey in the config, or pass --key with the public key that signed checkpoints.'],
    });
  }
  if (!verifyFileBytes(bytes, signature, trusted)) {
    const pub = trusted.type === 'private' ? createPublicKey(trusted) : trusted;
    throw new VerificationError(`The checkpoint file's detached signature (.sig) does not verify over its bytes with the trusted key ${keyId(pub)}: the file or its .sig was altered.`, {
      code: 'audit.checkpoint-file-signature',
      actions: ['Use the checkpoint and its .sig as written by `detailee audit checkpoint --out`.'],
    });
  }
}

export function parseCheckpoint(text: string): SignedCheckpoint {
  try {
    return JSON.parse(text) as SignedCheckpoint;
  } catch {
    throw new VerificationError('The checkpoint file is not valid JSON.', { code: 'audit.checkpoint-format', actions: ['Pass a file written by `detailee audit checkpoint`.'] });
  }
}
