// Where a Deployment's rollout stands, from the Deployment, its ReplicaSets and their pods (pure).
// The messages are kubectl rollout status's; `rolloutWait` adds what `apply --wait` needs on top:
// no old pods left, and a fast failure when a new pod cannot start.

import { isDeepStrictEqual } from 'node:util';
import type { DaemonSet, Deployment, Pod, PodTemplateSpec, ReplicaSet, Resource, StatefulSet } from '../../proto/resources';
import { podFailure, podReady } from './pod-status';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
export const POD_TEMPLATE_HASH = 'pod-template-hash';

export function revisionOf(obj: Resource): number {
  const n = Number(obj.metadata.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export const isOwnedBy = (obj: Resource, owner: Resource): boolean =>
  !!owner.metadata.uid && (obj.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);

/** The Deployment's ReplicaSets, oldest revision first. */
export function replicaSetsOf(d: Deployment, all: ReplicaSet[]): ReplicaSet[] {
  return all.filter((rs) => isOwnedBy(rs, d)).sort((a, b) => revisionOf(a) - revisionOf(b));
}

/** A template as the Deployment holds it: a ReplicaSet's copy carries the pod-template-hash label. */
export function templateWithoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const copy = structuredClone(template);
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy;
}

/** The ReplicaSet of the Deployment's current template, if it exists yet. */
export function newReplicaSet(d: Deployment, owned: ReplicaSet[]): ReplicaSet | undefined {
  const byTemplate = owned.find((rs) => isDeepStrictEqual(templateWithoutHash(rs.spec.template), templateWithoutHash(d.spec.template)));
  if (byTemplate) return byTemplate;
  const revision = revisionOf(d);
  return revision ? owned.find((rs) => revisionOf(rs) === revision) : undefined;
}

export type RolloutState =
  | { state: 'waiting'; message: string }
  | { state: 'done'; message: string }
  | { state: 'failed'; message: string };

/** kubectl rollout status's verdict on a Deployment, from its status alone. */
export function deploymentRolloutStatus(d: Deployment): RolloutState {
  const name = d.metadata.name;
  const s = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) {
    return { state: 'waiting', message: 'Waiting for deployment spec update to be observed...' };
  }
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', message: `deployment "${name}" exceeded its progress deadline` };
  }
  const desired = d.spec.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const total = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < desired) {
    return { state: 'waiting', message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...` };
  }
  if (total > updated) {
    return { state: 'waiting', message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...` };
  }
  if (available < updated) {
    return { state: 'waiting', message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...` };
  }
  return { state: 'done', message: `deployment "${name}" successfully rolled out` };
}

/** kubectl rollout status's verdict on a DaemonSet (RollingUpdate), from its status. */
export function daemonSetRolloutStatus(ds: DaemonSet): RolloutState {
  const name = ds.metadata.name;
  const s = ds.status ?? {};
  if ((ds.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { state: 'waiting', message: 'Waiting for daemon set spec update to be observed...' };
  const desired = s.desiredNumberScheduled ?? 0;
  const updated = s.updatedNumberScheduled ?? 0;
  const available = s.numberAvailable ?? 0;
  if (updated < desired) return { state: 'waiting', message: `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...` };
  if (available < desired) return { state: 'waiting', message: `Waiting for daemon set "${name}" rollout to finish: ${available} of ${updated} updated pods are available...` };
  return { state: 'done', message: `daemon set "${name}" successfully rolled out` };
}

/** kubectl rollout status's verdict on a StatefulSet (RollingUpdate), from its status. */
export function statefulSetRolloutStatus(sts: StatefulSet): RolloutState {
  const s = sts.status ?? {};
  if ((sts.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return { state: 'waiting', message: 'Waiting for statefulset spec update to be observed...' };
  const replicas = sts.spec.replicas ?? 1;
  const ready = s.readyReplicas ?? 0;
  if (ready < replicas) return { state: 'waiting', message: `Waiting for ${replicas - ready} pods to be ready...` };
  const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  const updated = s.updatedReplicas ?? 0;
  if (partition > 0) {
    if (updated < replicas - partition) {
      return { state: 'waiting', message: `Waiting for partitioned roll out to finish: ${updated} out of ${replicas - partition} new pods have been updated...` };
    }
    return { state: 'done', message: `partitioned roll out complete: ${updated} new pods have been updated...` };
  }
  if (s.updateRevision !== s.currentRevision) {
    return { state: 'waiting', message: `waiting for statefulset rolling update to complete ${updated} pods at revision ${s.updateRevision}...` };
  }
  return { state: 'done', message: `statefulset rolling update complete ${s.currentReplicas ?? 0} pods at revision ${s.currentRevision}...` };
}

/**
 * `apply --wait`'s verdict: rolled out as kubectl says, with as many replicas as desired and no
 * pod of an older template left; failed at once when a pod of the current template is stuck
 * (image pull, crash loop, unschedulable) or the progress deadline passed.
 */
export function rolloutWait(d: Deployment, replicaSets: ReplicaSet[], pods: Pod[], stability?: PodStability, options: { failOnStuckPods?: boolean } = {}): RolloutState {
  const ref = `deployment/${d.metadata.name}`;
  const owned = replicaSetsOf(d, replicaSets);
  const current = newReplicaSet(d, owned);
  const podsOf = (rs: ReplicaSet) => pods.filter((p) => isOwnedBy(p, rs));
  const newPods = [...(current ? podsOf(current) : owned.flatMap(podsOf))].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  for (const pod of newPods) {
    const failure = podFailure(pod) ?? restarted(pod);
    if (!failure) continue;
    const what = `pod ${pod.metadata.name}: ${failure.reason}${failure.message ? `: ${failure.message}` : ''}`;
    // apply --wait fails fast; rollout status waits as kubectl's does (a stuck pod may yet start), but never calls it done.
    if (options.failOnStuckPods === false) return { state: 'waiting', message: `Waiting for deployment "${d.metadata.name}" rollout to finish: ${what}...` };
    return { state: 'failed', message: `${ref}: ${what}` };
  }
  const status = deploymentRolloutStatus(d);
  if (status.state === 'failed') {
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
    return { state: 'failed', message: `${ref}: ${status.message}${progressing?.message ? `: ${progressing.message}` : ''}` };
  }
  if (status.state === 'waiting') return status;
  const desired = d.spec.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.replicas ?? 0) !== desired || (s.availableReplicas ?? 0) !== desired) {
    return { state: 'waiting', message: `Waiting for deployment "${d.metadata.name}" rollout to finish: ${s.availableReplicas ?? 0} of ${desired} replicas are available...` };
  }
  const old = owned.filter((rs) => rs !== current).flatMap(podsOf);
  if (old.length > 0) {
    return { state: 'waiting', message: `Waiting for deployment "${d.metadata.name}" rollout to finish: ${old.length} old pods are pending termination...` };
  }
  if (stability) {
    // Ready for an instant is not ready: a container that exits at once was Ready until it did.
    const holdMs = Math.max((d.spec.minReadySeconds ?? 0) * 1000, STABLE_FOR_MS);
    const settling = newPods.filter((p) => !p.metadata.deletionTimestamp).filter((p) => {
      const since = stability.readySince(p);
      return since === undefined || stability.now - since < holdMs;
    });
    if (settling.length > 0) {
      return { state: 'waiting', message: `Waiting for deployment "${d.metadata.name}" rollout to finish: ${settling.length} new pods have not stayed ready for ${holdMs / 1000}s yet...` };
    }
  }
  return status;
}

/** How long a new pod must have stayed ready (at least; minReadySeconds when longer) before a wait calls the rollout done. */
export const STABLE_FOR_MS = 1000;

/** When the waiting client saw each pod become ready (and stay so), by its own clock. */
export interface PodStability {
  readySince(pod: Pod): number | undefined;
  now: number;
}

/** Watches pods go ready: each pod's first sighting as ready, forgotten when it is seen unready. */
export class ReadyClock implements PodStability {
  private readonly since = new Map<string, number>();
  now = 0;

  observe(pods: readonly Pod[], now: number): void {
    this.now = now;
    for (const pod of pods) {
      const key = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (!podReady(pod)) this.since.delete(key);
      else if (!this.since.has(key)) this.since.set(key, now);
    }
  }

  readySince(pod: Pod): number | undefined {
    return this.since.get(pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`);
  }
}

/** A container of a new pod that has restarted: a crash loop, whatever the probes say now. */
function restarted(pod: Pod): { reason: string; message: string } | undefined {
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    if ((c.restartCount ?? 0) === 0) continue;
    const last = c.lastState?.terminated;
    const exit = last ? ` (last exit: ${last.reason ?? 'Error'}, code ${last.exitCode})` : '';
    return { reason: 'CrashLoopBackOff', message: `container ${c.name} has restarted ${c.restartCount} time${c.restartCount === 1 ? '' : 's'}${exit}` };
  }
  return undefined;
}
