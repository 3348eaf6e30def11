import { dateIn } from '../assignment/term.js';
import { InputError } from '../errors.js';
import { clockNote, type Context } from '../lifecycle/context.js';
import type { Store } from '../store/types.js';
import { ftiEntryId, validateFtiEntry, type FtiEntry } from './fti.js';

/** Record one disclosure in the FTI log (IRC 6103(p)(4)(A)): a row and its audit event, together. */
export async function recordFti(ctx: Context, assignmentId: string, input: unknown): Promise<FtiEntry> {
  const now = ctx.clock.now();
  const rec = await ctx.store.getAssignment(assignmentId);
  if (!rec) {
    throw new InputError(`No assignment ${assignmentId} in the store.`, { code: 'assignment.unknown', actions: ['Run `detailee status` to list assignments.'] });
  }
  if (rec.state === 'closed') {
    throw new InputError(`Assignment ${assignmentId} is closed; its FTI log was sealed by the destruction certificate.`, {
      code: 'fti.closed',
      actions: ['Record a disclosure against an open assignment.'],
    });
  }
  const valid = validateFtiEntry(input, dateIn(now, rec.term.timezone));
  return ctx.store.transaction(async (tx) => {
    const seq = await tx.nextFtiSeq(assignmentId);
    const entry: FtiEntry = { ...valid, id: ftiEntryId(assignmentId, seq), assignmentId, recordedAt: now.toISOString(), recordedBy: ctx.actor };
    await tx.insertFti({ id: entry.id, assignmentId, seq, recordedAt: entry.recordedAt, data: { ...entry } });
    // The audit event names the entry and its shape, never its description: inspection counts too.
    await tx.appendAudit({
      at: entry.recordedAt,
      actor: ctx.actor,
      kind: 'fti.recorded',
      assignmentId,
      details: { entry: entry.id, media: entry.media, records: entry.records, received: entry.received, ...clockNote(ctx) },
    });
    return entry;
  });
}

export async function listFtiEntries(store: Store, assignmentId: string): Promise<FtiEntry[]> {
  if (!(await store.getAssignment(assignmentId))) {
    throw new InputError(`No assignment ${assignmentId} in the store.`, { code: 'assignment.unknown', actions: ['Run `detailee status` to list assignments.'] });
  }
  return (await store.listFti(assignmentId)).map((f) => f.data as unknown as FtiEntry);
}
