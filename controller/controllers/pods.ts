// What a controller needs to know about a pod's state: active, ready, available (ready for at
// least minReadySeconds, as Kubernetes' podutil.IsPodAvailable).

import type { Condition, Pod } from '../../proto/resources';
import { timeOf } from './meta';

/** Succeeded or Failed: its containers are gone for good; it is no replica any more. */
export function isTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function isBeingDeleted(obj: { metadata: { deletionTimestamp?: string } }): boolean {
  return obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== '';
}

/** Counts as a replica: neither terminated nor being deleted (Kubernetes' IsPodActive). */
export function isActive(pod: Pod): boolean {
  return !isTerminated(pod) && !isBeingDeleted(pod);
}

export function readyCondition(pod: Pod): Condition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

/**
 * When a ready pod becomes (or became) available: the Ready transition plus minReadySeconds.
 * Undefined when it is not ready, or when minReadySeconds > 0 and the transition time is unknown.
 * With minReadySeconds 0 a ready pod is available at once (returns -Infinity).
 */
export function availableSince(pod: Pod, minReadySeconds: number): number | undefined {
  if (!isReady(pod)) return undefined;
  if (minReadySeconds <= 0) return -Infinity;
  const since = timeOf(readyCondition(pod)?.lastTransitionTime);
  return since === undefined ? undefined : since + minReadySeconds * 1000;
}

/** Ready for longer than minReadySeconds at `now` (strictly, as Kubernetes compares). */
export function isAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  const at = availableSince(pod, minReadySeconds);
  if (at === undefined) return false;
  return at === -Infinity || at < now.getTime();
}

/**
 * The earliest moment after `now` at which one of these ready pods turns available, as a delay in
 * ms (+1 because availability needs strictly more than minReadySeconds); undefined if none will.
 */
export function nextAvailableDelay(pods: readonly Pod[], minReadySeconds: number, now: Date): number | undefined {
  let soonest: number | undefined;
  for (const pod of pods) {
    const at = availableSince(pod, minReadySeconds);
    if (at === undefined || at === -Infinity || at < now.getTime()) continue;
    const delay = at - now.getTime() + 1;
    if (soonest === undefined || delay < soonest) soonest = delay;
  }
  return soonest;
}

export function maxRestarts(pod: Pod): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
}

/**
 * A DaemonSet's pod: it tolerates its node being not ready or unreachable (Kubernetes adds those
 * NoExecute tolerations), so the node lifecycle never evicts it; it stays bound to its node.
 */
export function isDaemonPod(pod: Pod): boolean {
  return pod.metadata.ownerReferences?.some((r) => r.controller === true && r.kind === 'DaemonSet') ?? false;
}
