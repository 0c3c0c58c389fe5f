// The garbage collection loop: objects whose controller owner is gone are deleted (a deleted
// Deployment's ReplicaSets, then their Pods), by controller/controllers/gc.

import type { Resource } from '../../proto/resources';
import { plan } from '../controllers/gc';
import type { HandlerResult, WorkQueue } from '../controllers/queue';
import type { LoopContext } from './types';
import { ignoreNotFound, WrittenRevisions } from './writes';

export const GC_KEY = 'gc';

export function watchGarbage(ctx: LoopContext, queue: WorkQueue): void {
  const onDelete = (type: string) => {
    if (type === 'DELETED') queue.add(GC_KEY);
  };
  ctx.caches.deployments.onChange(onDelete);
  ctx.caches.replicaSets.onChange(onDelete);
}

export async function collectGarbage(ctx: LoopContext): Promise<HandlerResult | void> {
  const objects: Resource[] = [...ctx.caches.deployments.list(), ...ctx.caches.replicaSets.list(), ...ctx.caches.pods.list()];
  const { actions } = plan(objects);
  const written = new WrittenRevisions();
  for (const action of actions) {
    // The cache may not have seen a just-created owner yet: confirm its absence with a live read.
    const owner = await ctx.registry.tryGet(action.owner.kind, action.object.namespace, action.owner.name);
    if (owner && owner.metadata.uid === action.owner.uid) continue;
    const cache = action.kind === 'Pod' ? ctx.caches.pods : action.kind === 'ReplicaSet' ? ctx.caches.replicaSets : ctx.caches.deployments;
    written.note(cache as never, await ctx.registry.delete(action.kind, action.object.namespace, action.object.name).catch(ignoreNotFound));
  }
  await written.caughtUp();
}
