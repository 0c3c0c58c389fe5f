// A node as the scheduler sees it during one plan: what it offers, what its pods use, and how
// many pods of each owner group run on it. Bindings made earlier in the plan are added in.

import { addAmounts, type Node, type Pod } from '../../../proto/resources';
import { controllerRef } from '../meta';
import { isBeingDeleted, isTerminated } from '../pods';
import { allocatable, podRequests, type Allocatable, type Resources } from './requests';

export interface NodeState {
  readonly node: Node;
  readonly name: string;
  readonly allocatable: Allocatable;
  /** Requests of non-terminated pods on it, for fitting. */
  used: Resources;
  /** The same with the scoring defaults for pods without requests. */
  usedForScore: Resources;
  pods: number;
  /** The pods on it (bound, or placed earlier in the plan), for pod affinity and spreading. */
  readonly members: Pod[];
  /** Pods per owner group (see groupOf), not counting pods being deleted. */
  readonly groups: Map<string, number>;
}

/**
 * The group whose pods should spread: the controller owner's uid, or else (a bare pod) its
 * namespace and exact labels. A pod with neither has no group.
 */
export function groupOf(pod: Pod): string | undefined {
  const owner = controllerRef(pod);
  if (owner?.uid) return `owner:${owner.uid}`;
  const labels = pod.metadata.labels ?? {};
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return undefined;
  return `labels:${pod.metadata.namespace ?? 'default'}:${JSON.stringify(keys.map((k) => [k, labels[k]]))}`;
}

export function nodeStates(nodes: readonly Node[], boundPods: readonly Pod[]): NodeState[] {
  const states = [...nodes]
    .sort((a, b) => compareText(a.metadata.name ?? '', b.metadata.name ?? ''))
    .map((node): NodeState => ({
      node,
      name: node.metadata.name ?? '',
      allocatable: allocatable(node),
      used: { cpu: 0, memory: 0 },
      usedForScore: { cpu: 0, memory: 0 },
      pods: 0,
      members: [],
      groups: new Map(),
    }));
  const byName = new Map(states.map((s) => [s.name, s]));
  for (const pod of boundPods) {
    const state = byName.get(pod.spec.nodeName ?? '');
    if (!state || isTerminated(pod)) continue;
    let requests;
    try {
      requests = podRequests(pod);
    } catch {
      // Unreadable requests (it got there somehow): it still takes a pod slot, nothing we can count.
      requests = { fit: { cpu: 0, memory: 0 }, score: { cpu: 0, memory: 0 } };
    }
    place(state, pod, requests);
  }
  return states;
}

/** Count a pod on a node. */
export function place(state: NodeState, pod: Pod, requests: { fit: Resources; score: Resources }): void {
  state.used = addAmounts(state.used, requests.fit);
  state.usedForScore = { cpu: state.usedForScore.cpu + requests.score.cpu, memory: state.usedForScore.memory + requests.score.memory };
  state.pods++;
  state.members.push(pod);
  const group = groupOf(pod);
  if (group !== undefined && !isBeingDeleted(pod)) state.groups.set(group, (state.groups.get(group) ?? 0) + 1);
}

/** Take back a pod counted by place (a nomination's reservation, looked at again). */
export function unplace(state: NodeState, pod: Pod, requests: { fit: Resources; score: Resources }): void {
  const at = state.members.indexOf(pod);
  if (at < 0) return;
  state.members.splice(at, 1);
  state.used = addAmounts(state.used, requests.fit, -1);
  state.usedForScore = { cpu: state.usedForScore.cpu - requests.score.cpu, memory: state.usedForScore.memory - requests.score.memory };
  state.pods--;
  const group = groupOf(pod);
  if (group !== undefined && !isBeingDeleted(pod)) state.groups.set(group, (state.groups.get(group) ?? 1) - 1);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
