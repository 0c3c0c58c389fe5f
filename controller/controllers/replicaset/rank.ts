// Which pods to delete first when there are too many, as Kubernetes' ActivePodsWithRanks: the
// ones whose loss costs least come first.
//   1. unscheduled before scheduled            5. more siblings on the same node first
//   2. Pending before Unknown before Running   6. ready for less time before ready for longer
//   3. not ready before ready                  7. more container restarts first
//   4. lower pod-deletion-cost first           8. newer before older

import type { Pod } from '../../../proto/resources';
import { isReady, maxRestarts, readyCondition } from '../pods';
import { timeOf } from '../meta';
import { POD_DELETION_COST_ANNOTATION } from './types';

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** `pods` sorted most deletable first; `siblings` are the active pods used to rank doubling up. */
export function deletionOrder(pods: readonly Pod[], siblings: readonly Pod[]): Pod[] {
  const onNode = new Map<string, number>();
  for (const p of siblings) {
    const node = p.spec.nodeName ?? '';
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  const rank = (p: Pod) => onNode.get(p.spec.nodeName ?? '') ?? 0;
  return [...pods].sort((a, b) => compare(a, b, rank));
}

function compare(a: Pod, b: Pod, rank: (p: Pod) => number): number {
  const na = a.spec.nodeName ?? '';
  const nb = b.spec.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  const pa = PHASE_ORDER[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = PHASE_ORDER[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isReady(a);
  const rb = isReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (rank(a) !== rank(b)) return rank(b) - rank(a);
  if (ra && rb) {
    const c = laterOrUnknownFirst(timeOf(readyCondition(a)?.lastTransitionTime), timeOf(readyCondition(b)?.lastTransitionTime));
    if (c !== 0) return c;
  }
  const restarts = maxRestarts(b) - maxRestarts(a);
  if (restarts !== 0) return restarts;
  return laterOrUnknownFirst(timeOf(a.metadata.creationTimestamp), timeOf(b.metadata.creationTimestamp));
}

/** Unknown time first, then the later time first (Kubernetes' afterOrZero). */
function laterOrUnknownFirst(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return b - a;
}

function deletionCost(pod: Pod): number {
  const n = Number(pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION]);
  return Number.isInteger(n) ? n : 0;
}
