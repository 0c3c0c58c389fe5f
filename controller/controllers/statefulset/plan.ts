// The StatefulSet controller's decision for one StatefulSet (defaults applied), as Kubernetes'
// StatefulSet control (updateStatefulSet). See types.ts.

import type { PersistentVolumeClaim, Pod, StatefulSet, StatefulSetStatus, Volume } from '../../../proto/resources';
import { REVISION_HASH_LABEL } from '../daemonset';
import { templateHash } from '../deployment';
import { controllerReferenceTo, eventFor, isControlledBy, refOf, sameJson } from '../meta';
import { isAvailable, isBeingDeleted, isReady, isTerminated, nextAvailableDelay } from '../pods';
import { POD_INDEX_LABEL, POD_NAME_LABEL, STATEFULSET_CONTROLLER, type StatefulSetAction, type StatefulSetPlan } from './types';

/** The ordinal of one of the set's pods, from its name; undefined for a name not of the set. */
export function ordinalOf(sts: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}

/** The name of the claim a template makes for an ordinal. */
export const claimName = (sts: StatefulSet, template: string, ordinal: number) => `${template}-${sts.metadata.name}-${ordinal}`;

/** The revision a template is: <set>-<hash>, the value of the pods' controller-revision-hash. */
export const revisionOf = (sts: StatefulSet) => `${sts.metadata.name}-${templateHash(sts.spec.template)}`;

export function plan(sts: StatefulSet, allPods: readonly Pod[], claims: readonly PersistentVolumeClaim[], now: Date): StatefulSetPlan {
  const name = sts.metadata.name!;
  const namespace = sts.metadata.namespace ?? 'default';
  const replicas = sts.spec.replicas ?? 1;
  const start = sts.spec.ordinals?.start ?? 0;
  const parallel = sts.spec.podManagementPolicy === 'Parallel';
  const minReadySeconds = sts.spec.minReadySeconds ?? 0;
  const updateRevision = revisionOf(sts);
  const actions: StatefulSetAction[] = [];
  const events: StatefulSetAction[] = [];
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    events.push({ type: 'event', event: eventFor(sts, STATEFULSET_CONTROLLER, type, reason, message) });

  const pods = new Map<number, Pod>();
  for (const pod of allPods) {
    if (!isControlledBy(pod, sts)) continue;
    const ordinal = ordinalOf(sts, pod);
    if (ordinal !== undefined) pods.set(ordinal, pod);
  }
  const claimByName = new Map(claims.filter((c) => (c.metadata.namespace ?? 'default') === namespace).map((c) => [c.metadata.name!, c]));
  const inRange = (ordinal: number) => ordinal >= start && ordinal < start + replicas;
  const healthy = (pod: Pod) => !isBeingDeleted(pod) && pod.status?.phase === 'Running' && isAvailable(pod, minReadySeconds, now);

  const deletePod = (pod: Pod, why: string) => {
    actions.push({ type: 'delete-pod', pod: refOf(pod) });
    event('Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${name} successful${why}`);
  };
  const createPod = (ordinal: number) => {
    for (const claim of claimsFor(sts, ordinal)) {
      if (claimByName.has(claim.metadata.name!)) continue;
      actions.push({ type: 'create-claim', claim });
      claimByName.set(claim.metadata.name!, claim);
      event('Normal', 'SuccessfulCreate', `create Claim ${claim.metadata.name} Pod ${name}-${ordinal} in StatefulSet ${name} success`);
    }
    actions.push({ type: 'create-pod', pod: podFor(sts, ordinal, updateRevision) });
    event('Normal', 'SuccessfulCreate', createdMessage(`${name}-${ordinal}`, name));
  };

  // Pods that ended are made again (a StatefulSet's pods always run).
  for (const [, pod] of pods) {
    if (isTerminated(pod) && !isBeingDeleted(pod)) deletePod(pod, '');
  }
  const live = (ordinal: number) => {
    const pod = pods.get(ordinal);
    return pod && !isTerminated(pod) ? pod : undefined;
  };

  // Pods in range, lowest first: made when missing; OrderedReady stops at the first unhealthy one.
  let blocked = false;
  for (let ordinal = start; ordinal < start + replicas; ordinal++) {
    const pod = live(ordinal);
    if (!pod) {
      if (!blocked && !pods.has(ordinal)) createPod(ordinal);
      if (!parallel) blocked = true;
      continue;
    }
    if (!parallel && !healthy(pod)) blocked = true;
  }

  // Condemned pods (ordinal out of range), highest first: all at once, or one at a time when the rest are healthy.
  const condemned = [...pods.entries()].filter(([o]) => !inRange(o)).sort(([a], [b]) => b - a).map(([, p]) => p);
  for (const pod of condemned) {
    if (isBeingDeleted(pod)) {
      if (!parallel) blocked = true;
      continue;
    }
    if (parallel) {
      deletePod(pod, '');
      continue;
    }
    if (blocked) break;
    deletePod(pod, '');
    blocked = true;
  }

  // whenScaled Delete: the claims of ordinals a scale-down removed go once their pod has gone.
  if (sts.spec.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete') {
    for (const claim of claimByName.values()) {
      const ordinal = claimOrdinal(sts, claim);
      if (ordinal === undefined || inRange(ordinal) || pods.has(ordinal) || isBeingDeleted(claim)) continue;
      actions.push({ type: 'delete-claim', claim: refOf(claim) });
      event('Normal', 'SuccessfulDelete', `delete Claim ${claim.metadata.name} in StatefulSet ${name} successful`);
    }
  }

  // The rolling update, from the highest ordinal down to the partition: one pod at a time, once all are healthy.
  const inRangePods = [...pods.entries()].filter(([o]) => inRange(o)).map(([, p]) => p);
  const allHealthy = inRangePods.length === replicas && inRangePods.every(healthy);
  if (sts.spec.updateStrategy?.type !== 'OnDelete' && allHealthy && condemned.length === 0) {
    const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let ordinal = start + replicas - 1; ordinal >= start && ordinal >= partition; ordinal--) {
      const pod = pods.get(ordinal)!;
      if (pod.metadata.labels?.[REVISION_HASH_LABEL] === updateRevision) continue;
      deletePod(pod, ' (rolling update)');
      break;
    }
  }

  const status = statusOf(sts, [...pods.values()], updateRevision, minReadySeconds, now);
  if (!sameJson(sts.status ?? {}, status)) actions.push({ type: 'update-statefulset-status', statefulSet: refOf(sts), status });
  actions.push(...events);
  const requeue = nextAvailableDelay([...pods.values()], minReadySeconds, now);
  return { actions, ...(requeue !== undefined ? { requeueAfterMs: requeue } : {}) };
}

function statusOf(sts: StatefulSet, pods: readonly Pod[], updateRevision: string, minReadySeconds: number, now: Date): StatefulSetStatus {
  const counted = pods.filter((p) => !isTerminated(p));
  const revision = (p: Pod) => p.metadata.labels?.[REVISION_HASH_LABEL];
  const updated = counted.filter((p) => revision(p) === updateRevision).length;
  const replicas = sts.spec.replicas ?? 1;
  const ready = counted.filter(isReady).length;
  // The current revision moves to the update revision once every replica runs it (Kubernetes' completeRollingUpdate).
  const currentRevision = updated === replicas && ready === replicas ? updateRevision : sts.status?.currentRevision ?? updateRevision;
  const status: StatefulSetStatus = {
    replicas: counted.length,
    readyReplicas: ready,
    currentReplicas: counted.filter((p) => revision(p) === currentRevision).length,
    updatedReplicas: updated,
    availableReplicas: counted.filter((p) => isAvailable(p, minReadySeconds, now)).length,
    currentRevision,
    updateRevision,
    collisionCount: 0,
  };
  if (sts.metadata.generation !== undefined) status.observedGeneration = sts.metadata.generation;
  return status;
}

/** The ordinal a claim of the set was made for, if it is one of its templates'. */
function claimOrdinal(sts: StatefulSet, claim: PersistentVolumeClaim): number | undefined {
  for (const t of sts.spec.volumeClaimTemplates ?? []) {
    const prefix = `${t.metadata.name}-${sts.metadata.name}-`;
    const name = claim.metadata.name ?? '';
    if (name.startsWith(prefix) && /^(0|[1-9][0-9]*)$/.test(name.slice(prefix.length))) return Number(name.slice(prefix.length));
  }
  return undefined;
}

export const createdMessage = (pod: string, set: string) => `create Pod ${pod} in StatefulSet ${set} successful`;

/** The claims an ordinal's pod mounts, as the templates make them (the set's selector labels on each). */
export function claimsFor(sts: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const whenDeleted = sts.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
  return (sts.spec.volumeClaimTemplates ?? []).map((t) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(sts, t.metadata.name!, ordinal),
      namespace: sts.metadata.namespace,
      labels: { ...t.metadata.labels, ...sts.spec.selector.matchLabels },
      ...(t.metadata.annotations ? { annotations: t.metadata.annotations } : {}),
      ...(whenDeleted ? { ownerReferences: [controllerReferenceTo(sts)] } : {}),
    },
    spec: structuredClone(t.spec),
  }));
}

/** The pod of an ordinal: the template, its claims as volumes, a stable hostname under the set's Service. */
export function podFor(sts: StatefulSet, ordinal: number, revision: string): Pod & { metadata: { name: string } } {
  const template = structuredClone(sts.spec.template);
  const name = `${sts.metadata.name}-${ordinal}`;
  const spec = template.spec;
  const claimVolumes: Volume[] = (sts.spec.volumeClaimTemplates ?? []).map((t) => ({
    name: t.metadata.name!,
    persistentVolumeClaim: { claimName: claimName(sts, t.metadata.name!, ordinal) },
  }));
  // A claim template takes the place of a pod volume of the same name, as in Kubernetes.
  spec.volumes = [...(spec.volumes ?? []).filter((v) => !claimVolumes.some((c) => c.name === v.name)), ...claimVolumes];
  if (spec.volumes.length === 0) delete spec.volumes;
  spec.hostname = name;
  if (sts.spec.serviceName) spec.subdomain = sts.spec.serviceName;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: sts.metadata.namespace,
      labels: { ...template.metadata?.labels, [REVISION_HASH_LABEL]: revision, [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerReferenceTo(sts)],
    },
    spec,
    status: { phase: 'Pending' },
  };
}
