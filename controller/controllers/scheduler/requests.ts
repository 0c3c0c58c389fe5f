// What a pod asks of a node, and what a node offers (proto/resources/requests.ts: the count the
// agent re-checks with). For fitting, no request at all is 0; for scoring it counts as 100m cpu and
// 200Mi memory, as Kubernetes does, so that pods without requests still spread.

import type { Node, Pod } from '../../../proto/resources';
import { containerPath, containerRequests, nodeAllocatable, podRequests as requestsToFit, type NodeAllocatable, type ResourceAmounts } from '../../../proto/resources';

export type Resources = ResourceAmounts;
export type Allocatable = NodeAllocatable;

const DEFAULT_SCORE_CPU = 100;
const DEFAULT_SCORE_MEMORY = 200 * 1024 * 1024;

/** The pod's requests for fitting, and the non-zero ones for scoring. Throws on a bad quantity. */
export function podRequests(pod: Pod): { fit: Resources; score: Resources } {
  const score = { cpu: 0, memory: 0 };
  pod.spec.containers.forEach((c, i) => {
    const r = containerRequests(c, containerPath(pod, i));
    score.cpu += r.cpu ?? DEFAULT_SCORE_CPU;
    score.memory += r.memory ?? DEFAULT_SCORE_MEMORY;
  });
  return { fit: requestsToFit(pod), score };
}

/** What the node offers (unreported: no limit; unreadable: 0). */
export function allocatable(node: Node): Allocatable {
  return nodeAllocatable(node);
}
