// The garbage collection loop: objects whose controller owner is gone are deleted (a deleted
// Deployment's ReplicaSets, then their Pods), by ./plan.ts. The same queue expires old Events.

import { KINDS, kindInfo, type Event, type Resource } from '../../../proto/resources';
import { ignoreNotFound } from '../../objects';
import type { HandlerResult } from '../queue';
import type { ControlLoop, ControllerContext } from '../run-controller';
import type { WrittenRevisions } from '../written';
import { plan } from './plan';
import { controllerRef } from '../meta';

const GC_KEY = 'gc';
const EVENTS_KEY = 'events';

export const garbageCollectorLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    // An owner gone, or a dependent of a custom kind's object come (whose owner's going no cache
    // here hears of: the pass then looks again now and then, see collectGarbage).
    const onChange = (type: string, object: Resource) => {
      if (type === 'DELETED' || (type === 'ADDED' && hasCustomOwner(object))) enqueue(GC_KEY);
    };
    caches.deployments.onChange(onChange);
    caches.replicaSets.onChange(onChange);
    caches.jobs.onChange(onChange);
    caches.daemonSets.onChange(onChange);
    caches.cronJobs.onChange(onChange);
    caches.statefulSets.onChange(onChange);
    caches.replicationControllers.onChange(onChange);
    caches.claims.onChange(onChange);
    caches.pods.onChange((type, pod) => {
      // A pod gone takes the claims of its ephemeral volumes; a pod of a custom kind's object come.
      if ((type === 'DELETED' && (pod.spec.volumes ?? []).some((v) => v.ephemeral)) || (type === 'ADDED' && hasCustomOwner(pod))) enqueue(GC_KEY);
    });
  },
  initialKeys: [GC_KEY, EVENTS_KEY],
  reconcile: (ctx, key, written) => (key === EVENTS_KEY ? expireEvents(ctx) : collectGarbage(ctx, written)),
};

async function collectGarbage(ctx: ControllerContext, written: WrittenRevisions): Promise<HandlerResult | void> {
  const objects: Resource[] = [...ctx.caches.deployments.list(), ...ctx.caches.replicaSets.list(), ...ctx.caches.jobs.list(), ...ctx.caches.daemonSets.list(), ...ctx.caches.cronJobs.list(),
    ...ctx.caches.statefulSets.list(), ...ctx.caches.replicationControllers.list(), ...ctx.caches.claims.list(), ...ctx.caches.controllerRevisions.list(), ...ctx.caches.pods.list()];
  const { actions } = plan(objects);
  for (const action of actions) {
    // An owner of a kind the cluster does not serve (a custom kind whose definition is gone, or
    // not yet known here) cannot be read: leave its dependents, as Kubernetes' collector does.
    if (!kindInfo(action.owner.kind)) continue;
    // The cache may not have seen a just-created owner yet: confirm its absence with a live read.
    const owner = await ctx.registry.tryGet(action.owner.kind, action.object.namespace, action.owner.name);
    if (owner && owner.metadata.uid === action.owner.uid) continue;
    const caches: Record<string, unknown> = {
      Pod: ctx.caches.pods, ReplicaSet: ctx.caches.replicaSets, Job: ctx.caches.jobs, DaemonSet: ctx.caches.daemonSets, CronJob: ctx.caches.cronJobs, Deployment: ctx.caches.deployments,
      StatefulSet: ctx.caches.statefulSets, PersistentVolumeClaim: ctx.caches.claims, ControllerRevision: ctx.caches.controllerRevisions,
    };
    const cache = caches[action.kind] ?? ctx.caches.deployments;
    written.note(cache as never, await ctx.registry.delete(action.kind, action.object.namespace, action.object.name).catch(ignoreNotFound));
  }
  // Owners of custom kinds (an operator's objects) have no cache here to say they went: look
  // again in a while as long as any such owner has dependents.
  if (objects.some(hasCustomOwner)) return { requeueAfterMs: CUSTOM_OWNER_RECHECK_MS };
}

/** Whether an object's controller is of a custom kind (not one berth has built in). */
function hasCustomOwner(o: Resource): boolean {
  const ref = controllerRef(o);
  return ref !== undefined && !KINDS.some((k) => k.kind === ref.kind);
}

const CUSTOM_OWNER_RECHECK_MS = 5_000;

/** Events are kept this long after they last happened (Kubernetes' --event-ttl default). */
const EVENT_TTL_MS = 60 * 60 * 1000;
const EVENT_SWEEP_EVERY_MS = 5 * 60 * 1000;

/** Delete events older than the TTL; look again in a while. */
async function expireEvents(ctx: ControllerContext): Promise<HandlerResult> {
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
