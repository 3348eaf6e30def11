import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { LockedError } from '../errors.js';
import type { Context } from './context.js';
import { systemClock } from '../time/clock.js';

/**
 * A per-assignment lock held for one short critical section: an onboarding step (re-read the
 * state, apply one external change) or a state change (revoke). It orders a revocation against an
 * onboarding that is still applying: whichever holds the lock finishes its section first, and an
 * onboarding step that comes after a revocation sees the new state and stops.
 */
const ASSIGNMENT_LOCK_TTL_MS = 60_000;
/** How long to wait for another process's section before giving up (exit 4). */
const WAIT_MS = 30_000;

const defaultWait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function withAssignmentLock<T>(
  ctx: Pick<Context, 'store'>,
  id: string,
  fn: () => Promise<T>,
  o: { wait?: (ms: number) => Promise<void>; now?: () => Date } = {},
): Promise<T> {
  const name = `assignment:${id}`;
  const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  const wait = o.wait ?? defaultWait;
  // Lock expiry is wall-clock: a pinned rehearsal clock must not make a live holder look dead.
  const now = o.now ?? (() => systemClock.now());
  let waited = 0;
  for (let delay = 5; ; delay = Math.min(delay * 2, 250)) {
    const r = await ctx.store.acquireLock(name, holder, now(), ASSIGNMENT_LOCK_TTL_MS);
    if (r.acquired) break;
    if (waited >= WAIT_MS) {
      throw new LockedError(`Another run is changing assignment ${id}; gave up waiting after ${WAIT_MS / 1000} s.`, {
        code: 'assignment.locked',
        actions: ['Run the command again once the other run has finished.'],
      });
    }
    await wait(delay);
    waited += delay;
  }
  try {
    return await fn();
  } finally {
    await ctx.store.releaseLock(name, holder).catch(() => undefined);
  }
}
