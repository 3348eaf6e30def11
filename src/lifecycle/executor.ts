import { existsSync } from 'node:fs';
import type { TargetName, Intent, Observed } from '../targets/model.js';
import type { Step, Target, VerifyResult } from '../targets/target.js';
import { objectOfObserved, type TargetProof } from '../targets/proof.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../time/clock.js';

/**
 * Plan, journal, apply, verify. Each step is written to the journal before it is made and after,
 * with its audit event; a crash between the two leaves a `started` row that the next run's plan
 * (made from the live state) either repeats idempotently or finds already done.
 */
interface StepResult {
  id: string;
  action: string;
  detail: string;
  status: 'done' | 'failed' | 'pending';
  error?: string | undefined;
}

export interface TargetResult {
  target: TargetName;
  ok: boolean;
  steps: StepResult[];
  verify?: { ok: boolean; problems: string[] } | undefined;
  /** A revocation's proof, from the read after the change. */
  proof?: TargetProof | undefined;
  /** The object read back (LDAP DN, IAM ARN), when it exists. */
  object?: string | undefined;
  /** LDAP group DNs by cn from the same read. */
  groupObjects?: Record<string, string> | undefined;
  error?: string | undefined;
}

export interface PlannedTarget {
  target: Target;
  intent: Intent;
  steps: Step[];
  /** Set when the target could not be read (planAll with settle); nothing is applied there. */
  error?: string | undefined;
}

export interface ExecuteOptions {
  store: Store;
  clock: Clock;
  actor: string;
  runId: string;
  assignmentId: string;
  operation: string;
  /** Called after each applied step with the running count; the fault hook lives here. */
  afterStep?: ((count: number) => unknown) | undefined;
  /** Extra audit detail (e.g. the pinned clock). */
  auditExtra?: Record<string, unknown> | undefined;
  /**
   * Runs each step's apply: onboarding takes the assignment's lock and re-reads its state here, so
   * a revocation that came in meanwhile stops it before its next external change.
   */
  stepGuard?: ((step: Step, apply: () => Promise<void>) => Promise<void>) | undefined;
}

/**
 * Inspect and plan every target; nothing is written. With `settle`, a target that cannot be read
 * gets a failed plan instead of failing them all: a revocation must still reach the others.
 */
export async function planAll(targets: { target: Target; intent: Intent }[], options: { settle?: boolean } = {}): Promise<PlannedTarget[]> {
  const out: PlannedTarget[] = [];
  for (const { target, intent } of targets) {
    const username = intent.kind === 'provision' || intent.kind === 'renew' ? intent.desired.username : intent.username;
    let observed: Observed;
    try {
      observed = await target.inspect(username, intent.kind);
    } catch (e) {
      if (!options.settle) throw e;
      out.push({ target, intent, steps: [], error: `the account could not be read: ${errText(e)}` });
      continue;
    }
    out.push({ target, intent, steps: target.plan(observed, intent) });
  }
  return out;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Apply each target's plan, then verify it. A failing target does not stop the others: revocation
 * must get as far as it can everywhere, and the result says per target what happened.
 */
export async function executePlans(plans: PlannedTarget[], o: ExecuteOptions): Promise<TargetResult[]> {
  const results = await applyPlans(plans, o);
  await verifyPlans(plans, results, o);
  return results;
}

/**
 * Apply each target's plan, without verifying: `verifyPlans` reads the results back later, so a
 * batch of assignments can be written first and then read back together.
 */
export async function applyPlans(plans: PlannedTarget[], o: ExecuteOptions): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  let applied = 0;
  for (const p of plans) {
    const res: TargetResult = { target: p.target.name, ok: true, steps: [] };
    results.push(res);
    if (p.error !== undefined) {
      res.ok = false;
      res.error = p.error;
      await recordFailure(o, { stepId: `${p.target.name}.inspect`, target: p.target.name, detail: 'read the account' }, p.error);
      continue;
    }
    let failed = false;
    for (const step of p.steps) {
      if (failed) {
        res.steps.push({ id: step.id, action: step.action, detail: step.detail, status: 'pending' });
        continue;
      }
      const base = {
        runId: o.runId,
        assignmentId: o.assignmentId,
        operation: o.operation,
        stepId: step.id,
        target: step.target,
        detail: step.detail,
      };
      await o.store.appendJournal({ ...base, status: 'started', at: o.clock.now().toISOString() });
      try {
        if (o.stepGuard) await o.stepGuard(step, () => p.target.apply(step));
        else await p.target.apply(step);
      } catch (e) {
        failed = true;
        res.ok = false;
        res.error = errText(e);
        res.steps.push({ id: step.id, action: step.action, detail: step.detail, status: 'failed', error: errText(e) });
        await recordFailure(o, { stepId: step.id, target: step.target, detail: step.detail }, errText(e));
        continue;
      }
      await o.store.transaction(async (tx) => {
        const at = o.clock.now().toISOString();
        await tx.appendJournal({ ...base, status: 'done', at });
        await tx.appendAudit({
          at,
          actor: o.actor,
          kind: 'step.applied',
          assignmentId: o.assignmentId,
          details: { operation: o.operation, target: step.target, step: step.id, detail: step.detail, ...o.auditExtra },
        });
      });
      res.steps.push({ id: step.id, action: step.action, detail: step.detail, status: 'done' });
      applied++;
      await o.afterStep?.(applied);
    }
  }
  return results;
}

/**
 * Read back each target whose plan applied in full (`results` from `applyPlans`, in the same
 * order) and fill in its verification; a target that failed to apply is left as it failed.
 */
export async function verifyPlans(plans: PlannedTarget[], results: TargetResult[], o: ExecuteOptions): Promise<void> {
  for (const [i, p] of plans.entries()) {
    const res = results[i]!;
    if (p.error !== undefined || res.steps.some((s) => s.status !== 'done')) continue;
    let v: VerifyResult;
    try {
      v = await p.target.verify(p.intent);
    } catch (e) {
      res.ok = false;
      res.error = `verification could not be read: ${errText(e)}`;
      res.verify = { ok: false, problems: [res.error] };
      continue;
    }
    res.verify = { ok: v.ok, problems: v.problems };
    res.proof = v.proof;
    res.object = objectOfObserved(v.observed);
    const groupObjects = (v.observed.facts as { groupObjects?: Record<string, string> }).groupObjects;
    if (groupObjects !== undefined) res.groupObjects = groupObjects;
    if (!v.ok) {
      res.ok = false;
      res.error = `verification failed: ${v.problems.join('; ')}`;
    }
    await o.store.appendJournal({
      runId: o.runId,
      assignmentId: o.assignmentId,
      operation: o.operation,
      stepId: `${p.target.name}.verify`,
      target: p.target.name,
      status: v.ok ? 'verified' : 'failed',
      detail: v.ok ? 'read back: as planned' : v.problems.join('; '),
      at: o.clock.now().toISOString(),
    });
  }
}

/** A failed step's journal row and its audit event, in one transaction. */
async function recordFailure(o: ExecuteOptions, step: { stepId: string; target: TargetName; detail: string }, error: string): Promise<void> {
  await o.store.transaction(async (tx) => {
    const at = o.clock.now().toISOString();
    await tx.appendJournal({ runId: o.runId, assignmentId: o.assignmentId, operation: o.operation, ...step, status: 'failed', at, error });
    await tx.appendAudit({
      at,
      actor: o.actor,
      kind: 'step.failed',
      assignmentId: o.assignmentId,
      details: { operation: o.operation, target: step.target, step: step.stepId, error, ...o.auditExtra },
    });
  });
}

/**
 * Test and rehearsal hooks. DETAILEE_FAULT_AFTER_STEP=N kills the process after the Nth step.
 * DETAILEE_PAUSE_AFTER_STEP=N with DETAILEE_PAUSE_FILE=F stops after the Nth step, says so on
 * stderr, and goes on once F exists: another process can then act in the middle of this run.
 */
export function faultHookFromEnv(env: NodeJS.ProcessEnv = process.env): ((n: number) => void | Promise<void>) | undefined {
  const kill = stepNumber(env.DETAILEE_FAULT_AFTER_STEP);
  const pause = stepNumber(env.DETAILEE_PAUSE_AFTER_STEP);
  const file = env.DETAILEE_PAUSE_FILE;
  if (kill === undefined && (pause === undefined || !file)) return undefined;
  return async (count) => {
    if (count === kill) process.kill(process.pid, 'SIGKILL');
    if (count === pause && file) {
      process.stderr.write(`paused after step ${count}\n`);
      while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
    }
  };
}

function stepNumber(raw: string | undefined): number | undefined {
  const n = Number(raw);
  return raw && Number.isInteger(n) && n >= 1 ? n : undefined;
}
