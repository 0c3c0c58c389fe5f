// The disruption controller's decisions (Kubernetes' disruption controller and the eviction
// subresource), pure.
//
// A PodDisruptionBudget's status says how many of its pods may be evicted now:
// disruptionsAllowed = currentHealthy - desiredHealthy (never below 0). currentHealthy counts its
// pods that are Ready and not being deleted, except the ones an eviction took a moment ago
// (status.disruptedPods) whose deletion this controller has not seen yet. desiredHealthy is
// minAvailable, or expected - maxUnavailable, a percentage being of `expected`: the replicas the
// pods' owners want (an integer minAvailable counts the pods there are instead). An eviction takes
// one of the allowed disruptions in the same write that records the pod as disrupted, so two
// evictions racing cannot both take the last one (the second one's write conflicts).

import { matchesLabelSelector, type Condition, type Pod, type PodDisruptionBudget, type PodDisruptionBudgetStatus } from '../../../proto/resources';
import { newCondition, setCondition } from '../conditions';
import { scaledValue } from '../deployment/fenceposts';
import { isBeingDeleted, isReady, isTerminated } from '../pods';

/** An evicted pod whose deletion is not seen within this long counts as healthy again (Kubernetes' DeletionTimeout). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60 * 1000;

export const DISRUPTION_ALLOWED = 'DisruptionAllowed';

/** The pods of a budget: its namespace's pods its selector picks (none without a selector). */
export function budgetPods(pdb: PodDisruptionBudget, pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && matchesLabelSelector(p.metadata.labels, pdb.spec.selector));
}

/**
 * How many replicas a pod's owner wants, and who that owner is (one scale per owner, however many
 * of its pods the budget holds); a string says why there is none (no controller, or one without
 * a scale): then nothing may be disrupted, as in Kubernetes.
 */
export type ScaleOf = (pod: Pod) => { owner: string; replicas: number } | string | undefined;

export interface BudgetStatusResult {
  status: PodDisruptionBudgetStatus;
  /** Look again then: when the oldest disrupted pod's entry expires. */
  requeueAfterMs?: number;
}

/** The budget's status now. */
export function budgetStatus(pdb: PodDisruptionBudget, pods: readonly Pod[], scaleOf: ScaleOf, now: Date): BudgetStatusResult {
  const mine = budgetPods(pdb, pods);
  const previous = pdb.status;
  const generation = pdb.metadata.generation;
  const expectation = expectedHealth(pdb, mine, scaleOf);
  if (typeof expectation === 'string') {
    // Fail safe: nothing may be evicted while the budget cannot be computed.
    const status: PodDisruptionBudgetStatus = {
      ...(previous ?? { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 }),
      disruptionsAllowed: 0,
      observedGeneration: generation,
      conditions: setCondition(previous?.conditions, newCondition(DISRUPTION_ALLOWED, 'False', 'SyncFailed', expectation, now)),
    };
    return { status: withoutUpdateTime(status) };
  }
  const { disruptedPods, nextExpiryMs } = liveDisruptions(previous?.disruptedPods, mine, now);
  const currentHealthy = mine.filter((p) => !isBeingDeleted(p) && !disruptedPods[p.metadata.name!] && isReady(p)).length;
  const { expected, desiredHealthy } = expectation;
  const allowed = expected <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  const condition = allowed > 0
    ? newCondition(DISRUPTION_ALLOWED, 'True', 'SufficientPods', '', now)
    : newCondition(DISRUPTION_ALLOWED, 'False', 'InsufficientPods', '', now);
  const status: PodDisruptionBudgetStatus = {
    observedGeneration: generation,
    ...(Object.keys(disruptedPods).length > 0 ? { disruptedPods } : {}),
    disruptionsAllowed: allowed,
    currentHealthy,
    desiredHealthy,
    expectedPods: expected,
    conditions: setCondition(previous?.conditions, condition),
  };
  return { status: withoutUpdateTime(status), ...(nextExpiryMs !== undefined ? { requeueAfterMs: nextExpiryMs } : {}) };
}

/** Budgets' conditions carry only lastTransitionTime (as Kubernetes' metav1.Condition). */
function withoutUpdateTime(status: PodDisruptionBudgetStatus): PodDisruptionBudgetStatus {
  return { ...status, conditions: status.conditions?.map(({ lastUpdateTime: _, ...c }): Condition => c) };
}

/** [expected pods, desired healthy], or why they cannot be known. */
function expectedHealth(pdb: PodDisruptionBudget, pods: readonly Pod[], scaleOf: ScaleOf): { expected: number; desiredHealthy: number } | string {
  const { minAvailable, maxUnavailable } = pdb.spec;
  if (typeof minAvailable === 'number') return { expected: pods.length, desiredHealthy: minAvailable };
  // Neither: nothing is expected, so nothing may be disrupted (Kubernetes' reading of an empty budget).
  if (minAvailable === undefined && maxUnavailable === undefined) return { expected: 0, desiredHealthy: 0 };
  const expected = ownersScale(pods, scaleOf);
  if (typeof expected === 'string') return expected;
  if (minAvailable !== undefined) return { expected, desiredHealthy: scaledValue(minAvailable, expected, true, 'spec.minAvailable') };
  return { expected, desiredHealthy: Math.max(0, expected - scaledValue(maxUnavailable, expected, true, 'spec.maxUnavailable')) };
}

/** The replicas all the pods' owners want together, each owner counted once. */
function ownersScale(pods: readonly Pod[], scaleOf: ScaleOf): number | string {
  const seen = new Map<string, number>();
  for (const pod of pods) {
    if (isTerminated(pod)) continue;
    const scale = scaleOf(pod);
    if (typeof scale === 'string') return scale;
    if (!scale) continue;
    seen.set(scale.owner, scale.replicas);
  }
  let sum = 0;
  for (const replicas of seen.values()) sum += replicas;
  return sum;
}

/** The disrupted-pod entries still pending: the pod exists, is not yet being deleted, and the entry is young. */
function liveDisruptions(entries: Record<string, string> | undefined, pods: readonly Pod[], now: Date): { disruptedPods: Record<string, string>; nextExpiryMs?: number } {
  const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
  const disruptedPods: Record<string, string> = {};
  let nextExpiryMs: number | undefined;
  for (const [name, at] of Object.entries(entries ?? {})) {
    const pod = byName.get(name);
    if (!pod || isBeingDeleted(pod)) continue;
    const left = Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS - now.getTime();
    if (!(left > 0)) continue;
    disruptedPods[name] = at;
    nextExpiryMs = Math.min(nextExpiryMs ?? Infinity, left);
  }
  return { disruptedPods, ...(nextExpiryMs !== undefined ? { nextExpiryMs } : {}) };
}

// --- the eviction subresource ---

export const VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget.";

export type EvictionVerdict =
  /** No budget stands in the way: delete the pod. */
  | { type: 'delete' }
  /** Delete the pod, having written this status to the budget (one disruption taken). */
  | { type: 'take-disruption'; budget: PodDisruptionBudget; status: PodDisruptionBudgetStatus }
  /** Not now (too many requests: try again later) or not at all (more than one budget). */
  | { type: 'refuse'; code: 'resource-exhausted' | 'internal'; message: string };

/** Whether `pod` may be evicted now under the budgets of its namespace (Kubernetes' eviction REST). */
export function evictionVerdict(pod: Pod, budgets: readonly PodDisruptionBudget[], now: Date): EvictionVerdict {
  // A pod that is not running, or already going, costs no budget anything.
  if (isTerminated(pod) || (pod.status?.phase ?? 'Pending') === 'Pending' || isBeingDeleted(pod)) return { type: 'delete' };
  const mine = budgets.filter((b) => b.metadata.namespace === pod.metadata.namespace && matchesLabelSelector(pod.metadata.labels, b.spec.selector));
  if (mine.length === 0) return { type: 'delete' };
  if (mine.length > 1) return { type: 'refuse', code: 'internal', message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.' };
  const budget = mine[0]!;
  const status = budget.status;
  const name = budget.metadata.name!;
  if (!status || (status.observedGeneration ?? 0) < (budget.metadata.generation ?? 0)) {
    return { type: 'refuse', code: 'resource-exhausted', message: `${VIOLATES_BUDGET} The disruption budget ${name} is still being processed by the server.` };
  }
  if (!isReady(pod)) {
    // An unhealthy pod takes nothing from the budget: it may go when the policy says always, or
    // while the budget is met anyway.
    const healthyEnough = status.currentHealthy >= status.desiredHealthy && status.desiredHealthy > 0;
    if (budget.spec.unhealthyPodEvictionPolicy === 'AlwaysAllow' || healthyEnough) return { type: 'delete' };
  }
  if (status.disruptionsAllowed <= 0) {
    // Evictions since the controller last counted have taken their allowance but not yet their pod
    // from currentHealthy: count them gone.
    const healthy = Math.min(status.currentHealthy, status.desiredHealthy + status.disruptionsAllowed);
    return { type: 'refuse', code: 'resource-exhausted', message: `${VIOLATES_BUDGET} The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${healthy} currently.` };
  }
  return {
    type: 'take-disruption',
    budget,
    status: { ...status, disruptionsAllowed: status.disruptionsAllowed - 1, disruptedPods: { ...status.disruptedPods, [pod.metadata.name!]: now.toISOString() } },
  };
}
