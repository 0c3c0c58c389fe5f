// The replica set loop: ReplicaSet -> its Pods, by controller/controllers/replicaset.

import type { Pod, ReplicaSet } from '../../proto/resources';
import { controllerRef, isControlledBy } from '../controllers/objects';
import { plan, randomSuffix } from '../controllers/replicaset';
import type { HandlerResult, WorkQueue } from '../controllers/queue';
import { BerthError } from '../../proto/errors';
import type { LoopContext } from './types';
import { ignoreNotFound, queueKey, splitKey, WrittenRevisions } from './writes';

export function watchReplicaSets(ctx: LoopContext, queue: WorkQueue): void {
  ctx.caches.replicaSets.onChange((_type, rs) => queue.add(queueKey(rs.metadata.namespace, rs.metadata.name)));
  ctx.caches.pods.onChange((_type, pod) => {
    const owner = controllerRef(pod);
    if (owner?.kind === 'ReplicaSet') queue.add(queueKey(pod.metadata.namespace, owner.name));
  });
}

export async function reconcileReplicaSet(ctx: LoopContext, key: string): Promise<HandlerResult | void> {
  const [namespace, name] = splitKey(key);
  const replicaSet = ctx.caches.replicaSets.get(namespace, name);
  if (!replicaSet || replicaSet.metadata.deletionTimestamp) return;
  const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && isControlledBy(p, replicaSet));
  const { actions, requeueAfterMs } = plan(replicaSet, pods, ctx.clock(), randomSuffix);
  const written = new WrittenRevisions();
  for (const action of actions) {
    switch (action.type) {
      case 'create-pod':
        written.note(ctx.caches.pods, await ctx.registry.create<Pod>(action.pod).catch((err: unknown) => {
          // A name taken by chance: the next pass makes another.
          if (err instanceof BerthError && err.code === 'already-exists') return undefined;
          throw err;
        }));
        break;
      case 'delete-pod':
        written.note(ctx.caches.pods, await ctx.registry.delete('Pod', action.pod.namespace, action.pod.name).catch(ignoreNotFound));
        break;
      case 'update-replicaset-status':
        written.note(ctx.caches.replicaSets, await ctx.registry.mutate<ReplicaSet>('ReplicaSet', namespace, name, (rs) =>
          rs.metadata.uid === replicaSet.metadata.uid ? { ...rs, status: action.status } : undefined));
        break;
      case 'event':
        ctx.record(action.event);
        break;
    }
  }
  await written.caughtUp();
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}
