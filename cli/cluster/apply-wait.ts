// `apply --wait`: after an apply, watch until every applied Deployment, ReplicaSet, StatefulSet,
// DaemonSet and Pod is rolled out and ready, or fail as soon as one cannot get there. The verdict over a snapshot is
// pure (waitVerdict); waitForApplied runs it over live watches and prints progress.

import type { DaemonSet, Deployment, Pod, ReplicaSet, Resource, StatefulSet } from '../../proto/resources';
import { LiveObjects, type WatchSpec } from './live-objects';
import { podColumns, podFailure, podReady } from './pod-status';
import { daemonSetRolloutStatus, isOwnedBy, ReadyClock, rolloutWait, STABLE_FOR_MS, statefulSetRolloutStatus, type PodStability, type RolloutState } from './rollout-state';
import type { ClusterClient } from './types';

/** Kinds apply --wait waits for; others (namespaces) are done once stored. */
export const WAITED_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Pod'] as const;

export interface Snapshot {
  deployments: Deployment[];
  replicaSets: ReplicaSet[];
  pods: Pod[];
  statefulSets?: StatefulSet[];
  daemonSets?: DaemonSet[];
}

export interface TargetState {
  /** "deployment/web". */
  ref: string;
  state: RolloutState;
}

const key = (o: Resource) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Each target's state in `snapshot`; a target not yet seen is waiting. */
export function waitVerdict(targets: Resource[], snapshot: Snapshot, stability?: PodStability): TargetState[] {
  const all = [...snapshot.deployments, ...snapshot.replicaSets, ...(snapshot.statefulSets ?? []), ...(snapshot.daemonSets ?? []), ...snapshot.pods];
  const byKey = new Map<string, Resource>(all.map((o) => [key(o), o]));
  return targets.map((t) => {
    const ref = `${t.kind.toLowerCase()}/${t.metadata.name}`;
    const live = byKey.get(key(t));
    if (!live) return { ref, state: { state: 'waiting', message: `Waiting for ${ref} to appear...` } };
    if (live.kind === 'Deployment') return { ref, state: rolloutWait(live as Deployment, snapshot.replicaSets, snapshot.pods, stability) };
    if (live.kind === 'ReplicaSet') return { ref, state: replicaSetWait(live as ReplicaSet, snapshot.pods) };
    if (live.kind === 'StatefulSet' || live.kind === 'DaemonSet') return { ref, state: setWait(live as StatefulSet | DaemonSet, snapshot.pods) };
    return { ref, state: podWait(live as Pod) };
  });
}

function podWait(pod: Pod): RolloutState {
  const ref = `pod/${pod.metadata.name}`;
  const failure = podFailure(pod);
  if (failure) return { state: 'failed', message: `${ref}: ${failure.reason}${failure.message ? `: ${failure.message}` : ''}` };
  if (pod.status?.phase === 'Failed') return { state: 'failed', message: `${ref}: Failed${pod.status.message ? `: ${pod.status.message}` : ''}` };
  if (pod.status?.phase === 'Succeeded') return { state: 'done', message: `pod "${pod.metadata.name}" completed` };
  if (podReady(pod)) return { state: 'done', message: `pod "${pod.metadata.name}" is ready` };
  return { state: 'waiting', message: `Waiting for pod "${pod.metadata.name}" to be ready: ${podColumns(pod, new Date(0)).status}` };
}

function replicaSetWait(rs: ReplicaSet, pods: Pod[]): RolloutState {
  const ref = `replicaset/${rs.metadata.name}`;
  for (const pod of pods.filter((p) => isOwnedBy(p, rs))) {
    const failure = podFailure(pod);
    if (failure) return { state: 'failed', message: `${ref}: pod ${pod.metadata.name}: ${failure.reason}${failure.message ? `: ${failure.message}` : ''}` };
  }
  const desired = rs.spec.replicas ?? 1;
  const s = rs.status ?? {};
  if ((rs.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { state: 'waiting', message: `Waiting for replicaset "${rs.metadata.name}" spec update to be observed...` };
  if ((s.readyReplicas ?? 0) < desired || (s.replicas ?? 0) !== desired) {
    return { state: 'waiting', message: `Waiting for replicaset "${rs.metadata.name}": ${s.readyReplicas ?? 0} of ${desired} replicas are ready...` };
  }
  return { state: 'done', message: `replicaset "${rs.metadata.name}" is ready` };
}

/** A StatefulSet or DaemonSet: failed when one of its pods is stuck, else rollout status's verdict. */
function setWait(set: StatefulSet | DaemonSet, pods: Pod[]): RolloutState {
  const ref = `${set.kind.toLowerCase()}/${set.metadata.name}`;
  for (const pod of pods.filter((p) => isOwnedBy(p, set))) {
    const failure = podFailure(pod);
    if (failure) return { state: 'failed', message: `${ref}: pod ${pod.metadata.name}: ${failure.reason}${failure.message ? `: ${failure.message}` : ''}` };
  }
  return set.kind === 'StatefulSet' ? statefulSetRolloutStatus(set) : daemonSetRolloutStatus(set);
}

export type WaitOutcome = { ok: true } | { ok: false; message: string };

/**
 * Watch until every target is done (printing each progress line once, as it changes), one fails,
 * or `timeoutMs` passes.
 */
export async function waitForApplied(client: ClusterClient, targets: Resource[], timeoutMs: number, out: (s: string) => void): Promise<WaitOutcome> {
  const waited = targets.filter((t) => (WAITED_KINDS as readonly string[]).includes(t.kind));
  if (waited.length === 0) return { ok: true };
  const namespaces = [...new Set(waited.map((t) => t.metadata.namespace ?? 'default'))];
  // One namespace: watch only it; several: every namespace, the verdict picks what it needs.
  const namespace = namespaces.length === 1 ? namespaces[0] : undefined;
  const specs: WatchSpec[] = WAITED_KINDS.map((kind) => ({ kind, ...(namespace ? { namespace } : {}) }));
  const live = new LiveObjects(client);
  const printed = new Map<string, string>();
  let last: TargetState[] = [];
  const readyClock = new ReadyClock();
  const result = await live.until(specs, () => {
    const pods = live.list<Pod>('Pod');
    readyClock.observe(pods, Date.now());
    last = waitVerdict(waited, {
      deployments: live.list('Deployment'), replicaSets: live.list('ReplicaSet'), statefulSets: live.list('StatefulSet'), daemonSets: live.list('DaemonSet'), pods,
    }, readyClock);
    for (const t of last) {
      if (printed.get(t.ref) !== t.state.message && t.state.state !== 'failed') {
        printed.set(t.ref, t.state.message);
        out(`${t.state.message}\n`);
      }
    }
    const failed = last.find((t) => t.state.state === 'failed');
    if (failed) return { ok: false, message: failed.state.message } as WaitOutcome;
    return last.every((t) => t.state.state === 'done') ? ({ ok: true } as WaitOutcome) : undefined;
  }, timeoutMs, { recheckMs: STABLE_FOR_MS / 4 });
  if (result === 'timeout') {
    const pending = last.filter((t) => t.state.state !== 'done').map((t) => `${t.ref}: ${t.state.message}`);
    return { ok: false, message: `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${pending.length ? pending.join('; ') : 'the applied objects'}` };
  }
  return result;
}
