// The horizontal pod autoscaler loop: every sync period, each autoscaler's target is read with its
// pods and the fresh usage reports, ./plan.ts decides, and the target's spec.replicas is set (as the
// scale subresource would) and the autoscaler's status written. Recommendations and scale events
// are remembered per autoscaler in this process, as Kubernetes' controller does.

import { matchesLabelSelector, type Deployment, type HorizontalPodAutoscaler, type LabelSelector, type Pod, type ReplicaSet, type ReplicationController, type StatefulSet } from '../../../proto/resources';
import type { Caches } from '../../cache';
import type { MetricsReader } from '../../metrics';
import { queueKey, requeueAfter, splitKey, writeStatusIfUnchanged, type ControlLoop } from '../run-controller';
import { planAutoscaler, SYNC_PERIOD_MS, type AutoscalerMemory } from './plan';

type Scalable = Deployment | ReplicaSet | StatefulSet | ReplicationController;

/** The scale target of an autoscaler, from the caches; undefined when it does not exist (or is no kind berth scales). */
function targetOf(caches: Caches, hpa: HorizontalPodAutoscaler): Scalable | undefined {
  const { kind, name } = hpa.spec.scaleTargetRef;
  const namespace = hpa.metadata.namespace;
  switch (kind) {
    case 'Deployment': return caches.deployments.get(namespace, name);
    case 'ReplicaSet': return caches.replicaSets.get(namespace, name);
    case 'StatefulSet': return caches.statefulSets.get(namespace, name);
    case 'ReplicationController': return caches.replicationControllers.get(namespace, name);
    default: return undefined;
  }
}

function selectorOf(target: Scalable): LabelSelector {
  return target.kind === 'ReplicationController' ? { matchLabels: target.spec.selector ?? {} } : target.spec.selector;
}

export function autoscalerLoop(metrics: MetricsReader): ControlLoop {
  const memories = new Map<string, AutoscalerMemory>();
  return {
    workers: 2,
    watch(caches, enqueue) {
      caches.autoscalers.onChange((type, obj) => {
        if (type === 'DELETED') memories.delete(obj.metadata.uid ?? '');
        enqueue(queueKey(obj.metadata.namespace, obj.metadata.name));
      });
    },
    async reconcile(ctx, key, written) {
      const [namespace, name] = splitKey(key);
      const hpa = ctx.caches.autoscalers.get(namespace, name);
      if (!hpa || hpa.metadata.deletionTimestamp) return;
      const target = targetOf(ctx.caches, hpa);
      const selector = target ? selectorOf(target) : undefined;
      const pods = target && selector
        ? ctx.caches.pods.list().filter((p: Pod) => (p.metadata.namespace ?? 'default') === (hpa.metadata.namespace ?? 'default') && matchesLabelSelector(p.metadata.labels ?? {}, selector))
        : [];
      const uid = hpa.metadata.uid ?? '';
      const decision = planAutoscaler({
        hpa, currentReplicas: target ? target.spec.replicas ?? 1 : undefined, pods, reports: target ? await metrics.reports() : [],
        memory: memories.get(uid) ?? { recommendations: [], scaleEvents: [] }, nowMs: ctx.clock().getTime(),
      });
      let applied = decision.scaleTo === undefined;
      if (decision.scaleTo !== undefined && target) {
        const scaled = await ctx.registry.mutate<Scalable>(target.kind, target.metadata.namespace, target.metadata.name ?? '', (t) =>
          t.metadata.uid === target.metadata.uid ? { ...t, spec: { ...t.spec, replicas: decision.scaleTo } } as Scalable : undefined, { keepStatus: true });
        applied = scaled?.metadata.uid === target.metadata.uid;
        if (applied) {
          ctx.record({
            involvedObject: { kind: 'HorizontalPodAutoscaler', namespace: hpa.metadata.namespace ?? 'default', name: hpa.metadata.name ?? '', uid },
            type: 'Normal', reason: 'SuccessfulRescale', message: `New size: ${decision.scaleTo}; reason: ${decision.reason}`, source: { component: 'horizontal-pod-autoscaler' },
          });
        }
      }
      // Remembered once made: a scale that did not happen (the target replaced meanwhile) is no scale event.
      if (applied) memories.set(uid, decision.memory);
      await writeStatusIfUnchanged(ctx, ctx.caches.autoscalers, written, hpa, decision.status);
      return requeueAfter(SYNC_PERIOD_MS);
    },
  };
}
