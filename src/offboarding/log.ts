import { dateIn } from '../assignment/term.js';
import { ActionError, InputError, VerificationError } from '../errors.js';
import { clockNote, type Context } from '../lifecycle/context.js';
import { StoreConflictError, type AssignmentRecord, type Store, type StoreTx } from '../store/types.js';
import { deriveFtiLog, FTI_EVENT, normaliseFtiEntry, ftiEntryHash, ftiEventShape, FtiChainIndex, type DerivedFtiLog, type FtiFinding, type FtiLogEntry } from './fti-chain.js';
import { ftiEntryId, validateFtiEntry, type FtiEntry, type FtiEntryInput } from './fti.js';

function unknownAssignment(id: string): InputError {
  return new InputError(`No assignment ${id} in the store.`, { code: 'assignment.unknown', actions: ['Run `detailee status` to list assignments.'] });
}

async function openAssignment(ctx: Context, assignmentId: string): Promise<AssignmentRecord> {
  const rec = await ctx.store.getAssignment(assignmentId);
  if (!rec) throw unknownAssignment(assignmentId);
  if (rec.state === 'closed') {
    throw new InputError(`Assignment ${assignmentId} is closed; its FTI log was sealed by the destruction certificate.`, {
      code: 'fti.closed',
      actions: ['Record a disclosure against an open assignment.'],
    });
  }
  return rec;
}

/** The row and the event that vouches for it, in the caller's transaction: one commits with the other or neither does. */
async function insertEntry(ctx: Context, tx: StoreTx, valid: FtiEntryInput, assignmentId: string, now: Date, supersedes?: string): Promise<FtiEntry> {
  const seq = await tx.nextFtiSeq(assignmentId);
  const entry: FtiEntry = { ...valid, id: ftiEntryId(assignmentId, seq), assignmentId, recordedAt: now.toISOString(), recordedBy: ctx.actor };
  await tx.insertFti({ id: entry.id, assignmentId, seq, recordedAt: entry.recordedAt, data: { ...entry } });
  await tx.appendAudit({
    at: entry.recordedAt,
    actor: ctx.actor,
    kind: supersedes === undefined ? FTI_EVENT.recorded : FTI_EVENT.corrected,
    assignmentId,
    details: { ...ftiEventShape(entry), ...(supersedes === undefined ? {} : { supersedes }), ...clockNote(ctx) },
  });
  return entry;
}

/** Record one disclosure in the FTI log (IRC 6103(p)(4)(A)): a row and its audit event, together. */
export async function recordFti(ctx: Context, assignmentId: string, input: unknown): Promise<FtiEntry> {
  const now = ctx.clock.now();
  const rec = await openAssignment(ctx, assignmentId);
  const valid = validateFtiEntry(input, dateIn(now, rec.term.timezone));
  return ctx.store.transaction((tx) => insertEntry(ctx, tx, valid, assignmentId, now));
}

/**
 * Correct an entry: a new entry (a new id, a new event naming the one it supersedes), never an
 * update of the old row. `changes` holds only the fields being corrected; the others are carried
 * over from the corrected entry, and the whole result is validated as a new entry.
 */
export async function correctFti(ctx: Context, assignmentId: string, entryId: string, changes: Partial<FtiEntryInput>): Promise<FtiEntry & { supersedes: string }> {
  const now = ctx.clock.now();
  const rec = await openAssignment(ctx, assignmentId);
  const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  if (Object.keys(given).length === 0) {
    throw new InputError('A correction must change at least one field.', {
      code: 'fti.correct-empty',
      actions: ['Pass the corrected fields, e.g. --records 300 or --location "Bldg 2, Room 120".'],
    });
  }
  const log = await readFtiLog(ctx.store, assignmentId);
  const prior = log.history.find((e) => e.id === entryId);
  if (!prior) {
    throw new InputError(`Assignment ${assignmentId} has no FTI log entry ${entryId}.`, { code: 'fti.unknown-entry', actions: [`Run \`detailee fti list ${assignmentId}\` to see its entries.`] });
  }
  if (prior.supersededBy !== undefined) {
    throw new InputError(`FTI log entry ${entryId} was already corrected by ${prior.supersededBy}.`, { code: 'fti.superseded', actions: [`Correct ${prior.supersededBy} instead.`] });
  }
  const base: Record<string, unknown> = { description: prior.description, type: prior.type, taxYears: prior.taxYears, records: prior.records, media: prior.media, location: prior.location, received: prior.received };
  if (prior.sender !== undefined) base.sender = prior.sender;
  if (prior.reason !== undefined) base.reason = prior.reason;
  const valid = validateFtiEntry({ ...base, ...given }, dateIn(now, rec.term.timezone));
  if (ftiEntryHash({ ...prior, ...valid } as Record<string, unknown>) === ftiEntryHash(prior as unknown as Record<string, unknown>)) {
    throw new InputError(`The correction leaves entry ${entryId} as it is.`, { code: 'fti.correct-empty', actions: ['Pass the fields whose values are wrong, with the right values.'] });
  }
  return ctx.store.transaction(async (tx) => {
    // The assignment's version guards the read above: a concurrent correction of the same entry
    // (which bumps it too) makes this one fail instead of both superseding one entry.
    try {
      await tx.updateAssignment(rec, rec.version);
    } catch (e) {
      if (!(e instanceof StoreConflictError)) throw e;
      throw new ActionError(`Assignment ${assignmentId} changed while the correction was prepared; nothing was recorded.`, {
        code: 'fti.concurrent',
        actions: [`Run \`detailee fti list ${assignmentId}\`, then the correction again.`],
      });
    }
    return { ...(await insertEntry(ctx, tx, valid, assignmentId, now, entryId)), supersedes: entryId };
  });
}

function ftiMismatchError(assignmentId: string | null, findings: FtiFinding[]): VerificationError {
  const unboundOnly = findings.every((f) => f.problem === 'unbound');
  return new VerificationError(
    `The FTI log${assignmentId ? ` of ${assignmentId}` : ''} does not match the audit chain: ${findings.map((f) => f.message).join('; ')}.`,
    {
      code: unboundOnly ? 'fti.unbound' : 'fti.tampered',
      details: { findings },
      actions: unboundOnly
        ? [`Check the listed entries against your paper records, then run \`detailee fti import-legacy ${assignmentId ?? 'ID'}\`: it records their present content in the chain, marked as imported.`]
        : ['Treat the store as tampered with: restore it from a backup and run `detailee audit verify --checkpoint` against a checkpoint kept elsewhere.'],
    },
  );
}

/** The chain's view of one assignment's FTI log, with every discrepancy found. */
async function readFtiLog(store: Store, assignmentId: string, uptoSeq?: number): Promise<DerivedFtiLog> {
  if (!(await store.getAssignment(assignmentId))) throw unknownAssignment(assignmentId);
  return deriveFtiLog(await store.auditFor(assignmentId), await store.listFti(assignmentId), uptoSeq);
}

/**
 * The entries in force (corrections applied), built from the chain; fails closed (exit 3) when any
 * row was deleted, altered or inserted, so no certificate is built from a log the chain disowns.
 */
export async function listFtiEntries(store: Store, assignmentId: string, options: { history?: boolean } = {}): Promise<FtiLogEntry[]> {
  const log = await readFtiLog(store, assignmentId);
  if (log.findings.length > 0) throw ftiMismatchError(assignmentId, log.findings);
  return options.history ? log.history : log.current;
}

/**
 * Every assignment's entries, in assignment order, each checked as listFtiEntries checks one:
 * a single log the chain disowns fails the whole listing (exit 3), so nothing is shown from a
 * store that was tampered with.
 */
export async function listAllFtiEntries(store: Store, options: { history?: boolean } = {}): Promise<FtiLogEntry[]> {
  const out: FtiLogEntry[] = [];
  for (const s of await store.listSummaries()) {
    const rows = await store.listFti(s.id);
    const events = await store.auditFor(s.id);
    const log = deriveFtiLog(events, rows);
    if (log.findings.length > 0) throw ftiMismatchError(s.id, log.findings);
    out.push(...(options.history ? log.history : log.current));
  }
  return out;
}

export interface LegacyImport {
  assignmentId: string;
  imported: { entry: string; event: number; legacyEvent: number }[];
  /** Entries listed but not imported (a dry run). */
  pending: { entry: string; legacyEvent: number; content: Record<string, unknown> }[];
}

/**
 * FTI rows written before entries were hashed have an `fti.recorded` event with their shape only.
 * Appending hashes for them silently would launder whatever was changed meanwhile, so this is an
 * explicit act: the operator checks the entries, then each gets an `fti.imported` event naming
 * the legacy event and who vouched for the present content, and certificates mark them imported.
 * Refused when anything else is wrong (a deleted, altered or inserted row).
 */
export async function importLegacyFti(
  ctx: Context,
  assignmentId: string,
  options: { apply: boolean; /** The content the officer was shown (a preview's `pending`): vouch for exactly that. */ shown?: LegacyImport['pending'] },
): Promise<LegacyImport> {
  const log = await readFtiLog(ctx.store, assignmentId);
  const other = log.findings.filter((f) => f.problem !== 'unbound');
  if (other.length > 0) throw ftiMismatchError(assignmentId, other);
  const unbound = log.findings.filter((f) => f.problem === 'unbound');
  const rows = new Map((await ctx.store.listFti(assignmentId)).map((r) => [r.id, r]));
  const index = new FtiChainIndex();
  for (const e of await ctx.store.auditFor(assignmentId)) index.add(e);
  const pending = index.unbound().filter((u) => unbound.some((f) => f.entry === u.entry));
  const result: LegacyImport = { assignmentId, imported: [], pending: [] };
  if (!options.apply) {
    // The present content, for the operator to check before vouching for it.
    result.pending = pending.map((u) => ({ entry: u.entry, legacyEvent: u.event, content: normaliseFtiEntry(rows.get(u.entry)!.data) }));
    return result;
  }
  if (pending.length === 0) return result;
  if (options.shown) {
    const shown = new Map(options.shown.map((p) => [p.entry, ftiEntryHash(p.content)]));
    const differs = pending.filter((u) => shown.get(u.entry) !== ftiEntryHash(rows.get(u.entry)!.data));
    if (differs.length > 0 || shown.size !== pending.length) {
      throw new ActionError(`The legacy FTI entries of ${assignmentId} changed after they were shown${differs.length > 0 ? ` (${differs.map((u) => u.entry).join(', ')})` : ''}; nothing was imported.`, {
        code: 'fti.import-changed',
        actions: [`Run \`detailee fti import-legacy ${assignmentId}\` again and check what it shows.`],
      });
    }
  }
  await ctx.store.transaction(async (tx) => {
    for (const u of pending) {
      const row = rows.get(u.entry)!;
      const e = await tx.appendAudit({
        at: ctx.clock.now().toISOString(),
        actor: ctx.actor,
        kind: FTI_EVENT.imported,
        assignmentId,
        details: { ...ftiEventShape(row.data as unknown as FtiEntry), legacyEvent: u.event, ...clockNote(ctx) },
      });
      result.imported.push({ entry: u.entry, event: e.seq, legacyEvent: u.event });
    }
  });
  return result;
}
