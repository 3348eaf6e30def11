import type { Context } from '../lifecycle/context.js';
import { clockNote } from '../lifecycle/context.js';
import type { AuditEvent } from '../store/types.js';

/** Append one audit event on its own (for changes with no other row to commit with it). */
export async function recordEvent(ctx: Context, kind: string, assignmentId: string | null, details: Record<string, unknown>): Promise<AuditEvent> {
  return ctx.store.transaction((tx) =>
    tx.appendAudit({ at: ctx.clock.now().toISOString(), actor: ctx.actor, kind, assignmentId, details: { ...details, ...clockNote(ctx) } }),
  );
}
