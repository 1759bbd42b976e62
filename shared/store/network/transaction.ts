import { ConcurrentModification } from '../../domain/network/errors.js';
import type { NetworkQuotaResource } from '../../domain/network/quota.js';
import { writeTransaction } from '../instances.js';
import { cancelledIndexes, type TransactItem } from '../table.js';
import { quotaUpdateStep } from './quota.js';

/** A change of a project's network quota usage (see quota.ts). */
export interface QuotaChange {
  projectId: string;
  counts: Partial<Record<NetworkQuotaResource, number>>;
  enforce: boolean;
}

/** One write of a transaction, with the error to raise if its condition is what failed; or a quota change. */
export type Step = { item: TransactItem; onConditionFailed?: () => Error | Promise<Error>; quota?: never } | { quota: QuotaChange; item?: never };

/**
 * Writes all steps or none. The quota changes of one project become one update of its usage
 * item. When a condition fails, the first failed step's error is raised (quota, an IP taken,
 * ...), or ConcurrentModification when the step has none.
 */
export async function runSteps(steps: Step[]): Promise<void> {
  const writes = [...steps.filter((s) => s.item), ...mergeQuotaChanges(steps)] as Extract<Step, { item: TransactItem }>[];
  try {
    await writeTransaction(writes.map((s) => s.item));
  } catch (err) {
    const failed = cancelledIndexes(err);
    if (failed.length === 0) throw err;
    const step = failed.map((i) => writes[i]).find((s) => s.onConditionFailed);
    throw step ? await step.onConditionFailed!() : new ConcurrentModification();
  }
}

function mergeQuotaChanges(steps: Step[]): Step[] {
  const byProject = new Map<string, QuotaChange>();
  for (const { quota } of steps) {
    if (!quota) continue;
    const merged = byProject.get(quota.projectId) ?? { projectId: quota.projectId, counts: {}, enforce: false };
    for (const [r, n] of Object.entries(quota.counts) as [NetworkQuotaResource, number][]) merged.counts[r] = (merged.counts[r] ?? 0) + n;
    merged.enforce ||= quota.enforce;
    byProject.set(quota.projectId, merged);
  }
  return [...byProject.values()].filter((q) => Object.values(q.counts).some((n) => n !== 0)).map(quotaUpdateStep);
}
