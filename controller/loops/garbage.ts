// The garbage collection loop: objects whose controller owner is gone are deleted (a deleted
// Deployment's ReplicaSets, then their Pods), by controller/controllers/gc.

import type { Event, Resource } from '../../proto/resources';
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

export const EVENTS_KEY = 'events';

/** Events are kept this long after they last happened (Kubernetes' --event-ttl default). */
export const EVENT_TTL_MS = 60 * 60 * 1000;
const EVENT_SWEEP_EVERY_MS = 5 * 60 * 1000;

/** Delete events older than the TTL; look again in a while. */
export async function expireEvents(ctx: LoopContext): Promise<HandlerResult> {
  const cutoff = ctx.clock().getTime() - EVENT_TTL_MS;
  const { items } = await ctx.registry.list<Event>('Event');
  for (const event of items) {
    const last = Date.parse(event.lastTimestamp ?? event.metadata.creationTimestamp ?? '');
    if (!Number.isNaN(last) && last < cutoff) {
      await ctx.registry.delete('Event', event.metadata.namespace, event.metadata.name!).catch(ignoreNotFound);
    }
  }
  return { requeueAfterMs: EVENT_SWEEP_EVERY_MS };
}
