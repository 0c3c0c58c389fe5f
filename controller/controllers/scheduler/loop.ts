// The scheduling loop: pending pods -> nodes, by ./plan.ts. One key for the whole cluster: a plan
// places every pending pod at once, so that replicas made together spread.

import { SELECTED_NODE_ANNOTATION, type PersistentVolumeClaim, type Pod } from '../../../proto/resources';
import { getCondition, newCondition, replaceCondition } from '../conditions';
import { eventFor, keyOf } from '../meta';
import { isBeingDeleted, isTerminated } from '../pods';
import { ignoreNotFound } from '../../objects';
import type { HandlerResult } from '../queue';
import type { ControlLoop, ControllerContext } from '../run-controller';
import type { WrittenRevisions } from '../written';
import { plan } from './plan';
import { SCHEDULER_NAME } from './types';

const SCHEDULE_KEY = 'schedule';

/** Pods that could not be placed are looked at again this often even when nothing changes. */
const UNSCHEDULABLE_RETRY_MS = 5000;

export const schedulerLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    caches.pods.onChange((type, pod, previous) => {
      const pending = !pod.spec.nodeName;
      // A new pending pod; or a bound pod gone or finished: room for the pending ones.
      if (pending || type === 'DELETED' || (isTerminated(pod) && previous && !isTerminated(previous))) enqueue(SCHEDULE_KEY);
    });
    caches.nodes.onChange(() => enqueue(SCHEDULE_KEY));
    // A claim bound or given its node may let a waiting pod go.
    caches.claims.onChange(() => enqueue(SCHEDULE_KEY));
    caches.volumes.onChange(() => enqueue(SCHEDULE_KEY));
  },
  initialKeys: [SCHEDULE_KEY],
  reconcile: (ctx, _key, written) => schedule(ctx, written),
};

async function schedule(ctx: ControllerContext, written: WrittenRevisions): Promise<HandlerResult | void> {
  const pods = ctx.caches.pods.list();
  const pending = pods.filter((p) => !p.spec.nodeName && !isBeingDeleted(p) && !isTerminated(p));
  if (pending.length === 0) return;
  const bound = pods.filter((p) => p.spec.nodeName);
  const storage = { claims: ctx.caches.claims.list(), volumes: ctx.caches.volumes.list(), classes: ctx.caches.storageClasses.list() };
  const { bindings, unschedulable, claimSelections, preemptions, gated } = plan(pending, ctx.caches.nodes.list(), bound, storage, ctx.caches.disruptionBudgets.list());
  const now = ctx.clock();
  for (const { pod, nodeName } of bindings) {
    const scheduled = newCondition('PodScheduled', 'True', '', '', now);
    delete scheduled.reason;
    delete scheduled.message;
    delete scheduled.lastUpdateTime;
    const result = await ctx.registry.mutate<Pod>('Pod', pod.metadata.namespace, pod.metadata.name!, (p) => {
      if (p.metadata.uid !== pod.metadata.uid || p.spec.nodeName || p.metadata.deletionTimestamp) return undefined;
      const { nominatedNodeName: _nominated, ...status } = p.status ?? {};
      return { ...p, spec: { ...p.spec, nodeName }, status: { ...status, phase: p.status?.phase ?? 'Pending', conditions: replaceCondition(p.status?.conditions, scheduled) } };
    });
    written.note(ctx.caches.pods, result);
    if (result?.spec.nodeName === nodeName) {
      ctx.record(eventFor(pod, SCHEDULER_NAME, 'Normal', 'Scheduled', `Successfully assigned ${keyOf(pod)} to ${nodeName}`));
    }
  }
  for (const { claims, nodeName } of claimSelections) {
    for (const claim of claims) {
      written.note(ctx.caches.claims, await ctx.registry.mutate<PersistentVolumeClaim>('PersistentVolumeClaim', claim.namespace, claim.name, (c) => {
        if (c.metadata.annotations?.[SELECTED_NODE_ANNOTATION] || c.spec.volumeName) return undefined;
        return { ...c, metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, [SELECTED_NODE_ANNOTATION]: nodeName } } };
      }));
    }
  }
  for (const { pod, nodeName, victims } of preemptions) {
    written.note(ctx.caches.pods, await ctx.registry.mutate<Pod>('Pod', pod.metadata.namespace, pod.metadata.name!, (p) =>
      (p.metadata.uid !== pod.metadata.uid || p.spec.nodeName ? undefined : { ...p, status: { ...p.status, nominatedNodeName: nodeName } })).catch(ignoreNotFound));
    for (const victim of victims) {
      written.note(ctx.caches.pods, await ctx.registry.delete('Pod', victim.metadata.namespace, victim.metadata.name!).catch(ignoreNotFound));
      ctx.record(eventFor(victim, SCHEDULER_NAME, 'Normal', 'Preempted', `Preempted by pod ${pod.metadata.uid} on node ${nodeName}`));
    }
  }
  for (const pod of gated) {
    if (getCondition(pod.status?.conditions, 'PodScheduled')?.reason === 'SchedulingGated') continue;
    const condition = newCondition('PodScheduled', 'False', 'SchedulingGated', 'Scheduling is blocked due to non-empty scheduling gates', now);
    delete condition.lastUpdateTime;
    written.note(ctx.caches.pods, await ctx.registry.mutate<Pod>('Pod', pod.metadata.namespace, pod.metadata.name!, (p) =>
      (p.metadata.uid !== pod.metadata.uid || p.spec.nodeName ? undefined : { ...p, status: { ...p.status, phase: 'Pending', conditions: replaceCondition(p.status?.conditions, condition) } })).catch(ignoreNotFound));
  }
  for (const { pod, reason } of unschedulable) {
    const current = getCondition(pod.status?.conditions, 'PodScheduled');
    if (current?.status === 'False' && current.message === reason) continue;
    const condition = newCondition('PodScheduled', 'False', 'Unschedulable', reason, now);
    delete condition.lastUpdateTime;
    written.note(ctx.caches.pods, await ctx.registry.mutate<Pod>('Pod', pod.metadata.namespace, pod.metadata.name!, (p) => {
      if (p.metadata.uid !== pod.metadata.uid || p.spec.nodeName) return undefined;
      return { ...p, status: { ...p.status, phase: 'Pending', conditions: replaceCondition(p.status?.conditions, condition) } };
    }));
    ctx.record(eventFor(pod, SCHEDULER_NAME, 'Warning', 'FailedScheduling', reason));
  }
  return unschedulable.length > 0 ? { requeueAfterMs: UNSCHEDULABLE_RETRY_MS } : undefined;
}
