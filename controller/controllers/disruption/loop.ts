// The disruption loop: a PodDisruptionBudget's key -> its status (./plan.ts) over the caches,
// written when it changed. Woken by the budget, by any pod of its namespace (a pod's labels may
// have left the selector), and by a change of replicas of the owners a percentage is taken of.

import type { Pod } from '../../../proto/resources';
import type { Informer } from '../../cache';
import { controllerRef, sameJson } from '../meta';
import { requeueAfter, splitKey, watchNamespaceSummaries, writeStatusIfUnchanged, type ControlLoop, type ControllerContext } from '../run-controller';
import { budgetStatus, type ScaleOf } from './plan';

export const disruptionLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    watchNamespaceSummaries(caches.disruptionBudgets, [caches.pods, caches.replicaSets, caches.deployments, caches.statefulSets, caches.replicationControllers] as Informer[], enqueue);
  },
  async reconcile(ctx, key, written) {
    const [namespace, name] = splitKey(key);
    const pdb = ctx.caches.disruptionBudgets.get(namespace, name);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace);
    const { status, requeueAfterMs } = budgetStatus(pdb, pods, scaleFromCaches(ctx), ctx.clock());
    // Conditional: an eviction may have taken a disruption since the cache's view.
    if (!sameJson(status, pdb.status)) await writeStatusIfUnchanged(ctx, ctx.caches.disruptionBudgets, written, pdb, status);
    return requeueAfter(requeueAfterMs);
  },
};

/** A pod's owner's replicas from the caches: a Deployment's through its ReplicaSet, a ReplicaSet's, a StatefulSet's. */
function scaleFromCaches(ctx: ControllerContext): ScaleOf {
  const { caches } = ctx;
  return (pod: Pod) => {
    const ref = controllerRef(pod);
    if (!ref) return `found no controller ref for pod "${pod.metadata.name}"`;
    const namespace = pod.metadata.namespace;
    const noScale = `found no controllers for pod "${pod.metadata.name}"`;
    if (ref.kind === 'ReplicaSet') {
      const rs = caches.replicaSets.get(namespace, ref.name);
      if (!rs || rs.metadata.uid !== ref.uid) return noScale;
      const rsOwner = controllerRef(rs);
      if (rsOwner?.kind === 'Deployment') {
        const d = caches.deployments.get(namespace, rsOwner.name);
        if (d && d.metadata.uid === rsOwner.uid) return { owner: `Deployment/${rsOwner.uid}`, replicas: d.spec.replicas ?? 1 };
      }
      return { owner: `ReplicaSet/${ref.uid}`, replicas: rs.spec.replicas ?? 1 };
    }
    if (ref.kind === 'ReplicationController') {
      const rc = caches.replicationControllers.get(namespace, ref.name);
      if (!rc || rc.metadata.uid !== ref.uid) return noScale;
      return { owner: `ReplicationController/${ref.uid}`, replicas: rc.spec.replicas ?? 1 };
    }
    if (ref.kind === 'StatefulSet') {
      const sts = caches.statefulSets.get(namespace, ref.name);
      if (!sts || sts.metadata.uid !== ref.uid) return noScale;
      return { owner: `StatefulSet/${ref.uid}`, replicas: sts.spec.replicas ?? 1 };
    }
    // Jobs and DaemonSets have no scale a percentage could be of.
    return noScale;
  };
}
