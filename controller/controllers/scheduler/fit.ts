// Whether a pod fits a node, and why not: the filters in the order Kubernetes runs them (readiness,
// taints and cordoning, node selection, room; the volume, spreading and pod-affinity filters come
// after, in plan.ts). A node that fails a filter is not looked at further, except that the resource filter reports every
// resource that is short (a node may count for both Insufficient cpu and Insufficient memory).

import { shortExtended, type Pod } from '../../../proto/resources';
import { getCondition } from '../conditions';
import type { NodeState } from './node-state';
import type { Resources } from './requests';
import { matchesNodeSelection, taintProblem } from './placement';
import { FitReason } from './types';

/** The reasons the pod cannot go to this node; empty when it can. */
export function fitProblems(state: NodeState, pod: Pod, request: Resources): string[] {
  const node = state.node;
  if (getCondition(node.status?.conditions, 'Ready')?.status !== 'True') return [FitReason.NotReady];
  const taint = taintProblem(pod, node);
  if (taint) return [taint];
  if (!matchesNodeSelection(pod, node)) return [FitReason.NodeSelector];
  const problems: string[] = [];
  const a = state.allocatable;
  if (state.pods + 1 > a.pods) problems.push(FitReason.TooManyPods);
  if (request.cpu > 0 && request.cpu > a.cpu - state.used.cpu) problems.push(FitReason.InsufficientCpu);
  if (request.memory > 0 && request.memory > a.memory - state.used.memory) problems.push(FitReason.InsufficientMemory);
  for (const name of shortExtended(request, a, state.used)) problems.push(`Insufficient ${name}`);
  return problems;
}

/**
 * Kubernetes' FitError message: `0/3 nodes are available: 1 node(s) didn't match Pod's node
 * selector, 2 Insufficient cpu.` The "<count> <reason>" parts are sorted as strings, as there.
 */
export function unschedulableReason(nodeCount: number, reasons: ReadonlyMap<string, number>): string {
  if (nodeCount === 0) return '0/0 nodes are available: no nodes registered.';
  const parts = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}
