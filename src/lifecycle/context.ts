import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Clock } from '../time/clock.js';
import type { Config } from '../config/resolve.js';
import type { Store } from '../store/types.js';
import type { Target } from '../targets/target.js';

/** Everything a use case needs from the outside world, injected so tests control each part. */
export interface Context {
  config: Config;
  store: Store;
  clock: Clock & { pinned?: boolean };
  actor: string;
  /** Opens the configured targets; tests pass their own. */
  openTargets: () => Promise<Target[]>;
  afterStep?: ((count: number) => unknown) | undefined;
}

export function osActor(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

export function newRunId(): string {
  return randomUUID();
}

/** Audit detail every event of a run carries when the clock was pinned. */
export function clockNote(ctx: Context): Record<string, unknown> {
  return ctx.clock.pinned ? { clock: 'pinned', pinnedNow: ctx.clock.now().toISOString() } : {};
}
