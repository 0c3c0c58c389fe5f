// The scheduling loop: pending pods -> nodes, by controller/scheduler. One key for the whole
// cluster: a plan places every pending pod at once, so that replicas made together spread.

import type { Pod } from '../../proto/resources';
import { getCondition, newCondition, replaceCondition } from '../controllers/conditions';
import { eventFor, keyOf } from '../controllers/objects';
import { isBeingDeleted, isTerminated } from '../controllers/pods';
import type { HandlerResult, WorkQueue } from '../controllers/queue';
import { plan, SCHEDULER_NAME } from '../scheduler';
import type { LoopContext } from './types';
import { WrittenRevisions } from './writes';

export const SCHEDULE_KEY = 'schedule';

/** Pods that could not be placed are looked at again this often even when nothing changes. */
const UNSCHEDULABLE_RETRY_MS = 5000;

export function watchScheduling(ctx: LoopContext, queue: WorkQueue): void {
  ctx.caches.pods.onChange((type, pod, previous) => {
    const pending = !pod.spec.nodeName;
    // A new pending pod; or a bound pod gone or finished: room for the pending ones.
    if (pending || type === 'DELETED' || (isTerminated(pod) && previous && !isTerminated(previous))) queue.add(SCHEDULE_KEY);
  });
  ctx.caches.nodes.onChange(() => queue.add(SCHEDULE_KEY));
}

export async function schedule(ctx: LoopContext): Promise<HandlerResult | void> {
  const pods = ctx.caches.pods.list();
  const pending = pods.filter((p) => !p.spec.nodeName && !isBeingDeleted(p) && !isTerminated(p));
  if (pending.length === 0) return;
  const bound = pods.filter((p) => p.spec.nodeName);
  const { bindings, unschedulable } = plan(pending, ctx.caches.nodes.list(), bound);
  const now = ctx.clock();
  const written = new WrittenRevisions();
  for (const { pod, nodeName } of bindings) {
    const scheduled = newCondition('PodScheduled', 'True', '', '', now);
    delete scheduled.reason;
    delete scheduled.message;
    delete scheduled.lastUpdateTime;
    const result = await ctx.registry.mutate<Pod>('Pod', pod.metadata.namespace, pod.metadata.name!, (p) => {
      if (p.metadata.uid !== pod.metadata.uid || p.spec.nodeName || p.metadata.deletionTimestamp) return undefined;
      return { ...p, spec: { ...p.spec, nodeName }, status: { ...p.status, phase: p.status?.phase ?? 'Pending', conditions: replaceCondition(p.status?.conditions, scheduled) } };
    });
    written.note(ctx.caches.pods, result);
    if (result?.spec.nodeName === nodeName) {
      ctx.record(eventFor(pod, SCHEDULER_NAME, 'Normal', 'Scheduled', `Successfully assigned ${keyOf(pod)} to ${nodeName}`));
    }
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
  await written.caughtUp();
  return unschedulable.length > 0 ? { requeueAfterMs: UNSCHEDULABLE_RETRY_MS } : undefined;
}
