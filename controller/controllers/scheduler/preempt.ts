// Preemption, as Kubernetes' DefaultPreemption: a pod that fits nowhere may take the room of pods
// of lower priority. On each node where only room is missing (it is ready, the pod tolerates its
// taints and matches its selection), every lower-priority pod is taken away in thought; if the pod
// then fits, as many of them as still leave it room are given back, highest priority first. The
// node chosen is the one whose victims' highest priority is lowest, then the fewest victims, then
// by name. Pure.

import type { Pod } from '../../../proto/resources';
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
}

export function findPreemption(pod: Pod, request: Resources, states: readonly NodeState[]): Preemption | undefined {
  if (pod.spec.preemptionPolicy === 'Never') return undefined;
  const priority = priorityOf(pod);
  let best: Preemption | undefined;
  for (const state of states) {
    const problems = fitProblems(state, pod, request);
    if (problems.length === 0 || !problems.every((p) => ROOM.has(p))) continue;
    const lower = state.members.filter((p) => !isBeingDeleted(p) && !isTerminated(p) && priorityOf(p) < priority);
    if (lower.length === 0) continue;
    let trial = adjusted(state, lower, -1);
    if (fitProblems(trial, pod, request).length > 0) continue;
    // Give back what can be given back: the highest priority first, then the oldest.
    const kept = new Set<Pod>();
    for (const candidate of [...lower].sort((a, b) => priorityOf(b) - priorityOf(a) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))) {
      const next = adjusted(trial, [candidate], +1);
      if (fitProblems(next, pod, request).length === 0) {
        trial = next;
        kept.add(candidate);
      }
    }
    const victims = lower.filter((p) => !kept.has(p));
    if (!best || better(victims, state, best)) best = { state, victims };
  }
  return best;
}

function better(victims: Pod[], state: NodeState, than: Preemption): boolean {
  const top = (v: Pod[]) => Math.max(...v.map(priorityOf));
  if (top(victims) !== top(than.victims)) return top(victims) < top(than.victims);
  if (victims.length !== than.victims.length) return victims.length < than.victims.length;
  return state.name < than.state.name;
}

/** The node as it would be with `pods` taken away (-1) or put back (+1). */
function adjusted(state: NodeState, pods: readonly Pod[], sign: 1 | -1): NodeState {
  const used = { ...state.used };
  let count = state.pods;
  for (const p of pods) {
    let fit: Resources;
    try {
      fit = podRequests(p).fit;
    } catch {
      fit = { cpu: 0, memory: 0 };
    }
    used.cpu += sign * fit.cpu;
    used.memory += sign * fit.memory;
    count += sign;
  }
  return { ...state, used, pods: count };
}
