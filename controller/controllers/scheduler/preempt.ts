// Preemption, as Kubernetes' DefaultPreemption: a pod that fits nowhere may take the room of pods
// of lower priority. On each node where only room is missing (it is ready, the pod tolerates its
// taints and matches its selection), every lower-priority pod is taken away in thought; if the pod
// then fits, as many of them as still leave it room are given back: first those whose
// PodDisruptionBudget has no disruption left to give, then the others, each group highest priority
// first. The node chosen is the one with the fewest victims that violate their budget, then whose
// victims' highest priority is lowest, then the fewest victims, then by name. A budget makes a
// victim less likely, never impossible (Kubernetes' preemption honours budgets on a best-effort
// basis). Pure.

import { addAmounts, matchesLabelSelector, type Pod, type PodDisruptionBudget } from '../../../proto/resources';
import { isBeingDeleted, isTerminated } from '../pods';
import { fitProblems } from './fit';
import type { NodeState } from './node-state';
import { podRequests, type Resources } from './requests';
import { FitReason } from './types';

/** Reasons preemption can cure: room. */
const ROOM: ReadonlySet<string> = new Set([FitReason.InsufficientCpu, FitReason.InsufficientMemory, FitReason.TooManyPods]);

export const priorityOf = (pod: Pod): number => pod.spec.priority ?? 0;

export interface Preemption {
  state: NodeState;
  victims: Pod[];
  /** How many of the victims their budgets do not allow to go. */
  violations: number;
}

/** The pods whose eviction, all together, would exceed a budget (Kubernetes' filterPodsWithPDBViolation). */
export function budgetViolators(pods: readonly Pod[], budgets: readonly PodDisruptionBudget[]): Set<Pod> {
  const left = new Map(budgets.map((b) => [b, b.status?.disruptionsAllowed ?? 0]));
  const violators = new Set<Pod>();
  for (const pod of pods) {
    for (const budget of budgets) {
      if (budget.metadata.namespace !== pod.metadata.namespace || !matchesLabelSelector(pod.metadata.labels, budget.spec.selector)) continue;
      const allowed = left.get(budget)! - 1;
      left.set(budget, allowed);
      if (allowed < 0) violators.add(pod);
    }
  }
  return violators;
}

export function findPreemption(pod: Pod, request: Resources, states: readonly NodeState[], budgets: readonly PodDisruptionBudget[] = []): Preemption | undefined {
  if (pod.spec.preemptionPolicy === 'Never') return undefined;
  const priority = priorityOf(pod);
  let best: Preemption | undefined;
  for (const state of states) {
    const problems = fitProblems(state, pod, request);
    if (problems.length === 0 || !problems.every((p) => ROOM.has(p) || p.startsWith('Insufficient '))) continue;
    const lower = state.members.filter((p) => !isBeingDeleted(p) && !isTerminated(p) && priorityOf(p) < priority);
    if (lower.length === 0) continue;
    let trial = adjusted(state, lower, -1);
    if (fitProblems(trial, pod, request).length > 0) continue;
    // Give back what can be given back: pods their budgets protect first, then the highest
    // priority, then the oldest.
    const byPriority = [...lower].sort((a, b) => priorityOf(b) - priorityOf(a) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    const protectedPods = budgetViolators(byPriority, budgets);
    const kept = new Set<Pod>();
    for (const candidate of [...byPriority.filter((p) => protectedPods.has(p)), ...byPriority.filter((p) => !protectedPods.has(p))]) {
      const next = adjusted(trial, [candidate], +1);
      if (fitProblems(next, pod, request).length === 0) {
        trial = next;
        kept.add(candidate);
      }
    }
    const victims = lower.filter((p) => !kept.has(p));
    const candidate = { state, victims, violations: budgetViolators(victims, budgets).size };
    if (!best || better(candidate, best)) best = candidate;
  }
  return best;
}

function better({ victims, state, violations }: Preemption, than: Preemption): boolean {
  if (violations !== than.violations) return violations < than.violations;
  const top = (v: Pod[]) => Math.max(...v.map(priorityOf));
  if (top(victims) !== top(than.victims)) return top(victims) < top(than.victims);
  if (victims.length !== than.victims.length) return victims.length < than.victims.length;
  return state.name < than.state.name;
}

/** The node as it would be with `pods` taken away (-1) or put back (+1). */
function adjusted(state: NodeState, pods: readonly Pod[], sign: 1 | -1): NodeState {
  let used = state.used;
  let count = state.pods;
  for (const p of pods) {
    let fit: Resources;
    try {
      fit = podRequests(p).fit;
    } catch {
      fit = { cpu: 0, memory: 0 };
    }
    used = addAmounts(used, fit, sign);
    count += sign;
  }
  return { ...state, used, pods: count };
}
