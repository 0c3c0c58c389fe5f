// One scheduling pass over the pending pods, oldest first. See types.ts for the rules.

import type { Node, Pod, PodDisruptionBudget } from '../../../proto/resources';
import { timeOf } from '../meta';
import { isBeingDeleted, isTerminated } from '../pods';
import { fitProblems, unschedulableReason } from './fit';
import { compareText, groupOf, nodeStates, place, unplace, type NodeState } from './node-state';
import { podRequests, type Resources } from './requests';
import { findPreemption, priorityOf } from './preempt';
import { hasPlacementRules, podAffinityProblem, preference, spreadProblem } from './placement';
import { SCHEDULER_NAME, type SchedulePlan } from './types';
import { podVolumes, type Storage } from './volumes';

/**
 * Bind pending pods to nodes. `pendingPods`: pods without spec.nodeName (others, and pods being
 * deleted or ended, are skipped); `boundPods`: the pods already on nodes (their requests count);
 * `budgets`: the PodDisruptionBudgets preemption tries not to break.
 */
export function plan(pendingPods: readonly Pod[], nodes: readonly Node[], boundPods: readonly Pod[], storage?: Storage, budgets: readonly PodDisruptionBudget[] = []): SchedulePlan {
  const states = nodeStates(nodes, boundPods);
  const result: SchedulePlan = { bindings: [], unschedulable: [], claimSelections: [], preemptions: [], gated: [] };
  // Pods for another scheduler are that scheduler's.
  const queue = pendingPods.filter((p) => !p.spec.nodeName && !isBeingDeleted(p) && !isTerminated(p) && (p.spec.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME)
    .sort((a, b) => priorityOf(b) - priorityOf(a) || byAge(a, b));
  const withAntiAffinity = boundPods.filter((p) => p.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length);
  // A pod nominated to a node (its preemption's victims are going) holds its room there against
  // pods of lower priority, which come after it in the queue.
  const reservations = new Map<Pod, { state: NodeState; requests: ReturnType<typeof podRequests> }>();
  for (const pod of queue) {
    const state = states.find((s) => s.name === pod.status?.nominatedNodeName);
    if (!state) continue;
    try {
      const requests = podRequests(pod);
      place(state, pod, requests);
      reservations.set(pod, { state, requests });
    } catch {
      // Unreadable requests: it holds nothing.
    }
  }
  for (const pod of queue) {
    if (pod.spec.schedulingGates?.length) {
      result.gated.push(pod);
      continue;
    }
    const reservation = reservations.get(pod);
    if (reservation) unplace(reservation.state, pod, reservation.requests);
    let requests;
    try {
      requests = podRequests(pod);
    } catch (err) {
      result.unschedulable.push({ pod, reason: (err as Error).message });
      continue;
    }
    const volumes = podVolumes(pod, storage);
    if (volumes.problem) {
      result.unschedulable.push({ pod, reason: `0/${states.length} nodes are available: ${volumes.problem}.` });
      continue;
    }
    const reasons = new Map<string, number>();
    const feasible: NodeState[] = [];
    for (const state of states) {
      const problems = fitProblems(state, pod, requests.fit);
      const later = problems.length === 0
        ? volumes.nodeProblem(state.node) ?? spreadProblem(pod, state, states) ?? podAffinityProblem(pod, state, states, withAntiAffinity)
        : undefined;
      if (later) problems.push(later);
      if (problems.length === 0) feasible.push(state);
      for (const p of problems) reasons.set(p, (reasons.get(p) ?? 0) + 1);
    }
    if (feasible.length === 0) {
      result.unschedulable.push({ pod, reason: unschedulableReason(states.length, reasons) });
      // Victims chosen earlier are still going: wait for them rather than take more.
      const nominated = pod.status?.nominatedNodeName;
      const waiting = nominated !== undefined && states.some((s) => s.name === nominated && s.members.some(isBeingDeleted));
      const preemption = waiting ? undefined : findPreemption(pod, requests.fit, states, budgets);
      if (preemption) result.preemptions.push({ pod, nodeName: preemption.state.name, victims: preemption.victims });
      const holds = preemption?.state ?? (waiting ? reservation?.state : undefined);
      if (holds) place(holds, pod, requests);
      continue;
    }
    const group = groupOf(pod);
    const scored = feasible.map((state) => ({ state, preference: hasPlacementRules(pod) || state.node.spec?.taints?.length ? preference(pod, state, states) : 0 }));
    const best = scored.reduce((a, b) => (b.preference > a.preference || (b.preference === a.preference && better(b.state, a.state, group, requests.score)) ? b : a)).state;
    place(best, pod, requests);
    if (pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) withAntiAffinity.push(pod);
    if (volumes.unbound.length > 0) {
      result.claimSelections.push({ pod, nodeName: best.name, claims: volumes.unbound.map((c) => ({ namespace: c.metadata.namespace ?? 'default', name: c.metadata.name! })) });
    } else {
      result.bindings.push({ pod, nodeName: best.name });
    }
  }
  return result;
}

/** Whether node a beats node b for this pod, preferences being equal: fewer of its group, then less requested, then name. */
function better(a: NodeState, b: NodeState, group: string | undefined, request: Resources): boolean {
  if (group !== undefined) {
    const ga = a.groups.get(group) ?? 0;
    const gb = b.groups.get(group) ?? 0;
    if (ga !== gb) return ga < gb;
  }
  const fa = requestedFraction(a, request);
  const fb = requestedFraction(b, request);
  if (fa !== fb) return fa < fb;
  return compareText(a.name, b.name) < 0;
}

/** The mean of the cpu and memory fractions of allocatable that would be requested with the pod. */
function requestedFraction(state: NodeState, request: Resources): number {
  const fraction = (used: number, total: number) => (total === Infinity ? 0 : total <= 0 ? 1 : used / total);
  const cpu = fraction(state.usedForScore.cpu + request.cpu, state.allocatable.cpu);
  const memory = fraction(state.usedForScore.memory + request.memory, state.allocatable.memory);
  return (cpu + memory) / 2;
}

/** Oldest first (first come, first served), then by namespace/name for a stable order. */
function byAge(a: Pod, b: Pod): number {
  const ta = timeOf(a.metadata.creationTimestamp) ?? 0;
  const tb = timeOf(b.metadata.creationTimestamp) ?? 0;
  return ta - tb || compareText(`${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`, `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`);
}
