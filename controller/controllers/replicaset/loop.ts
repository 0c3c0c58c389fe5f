// The replica set loop: a ReplicaSet's key -> plan (./plan.ts) over the caches -> pods created
// and deleted, status written. Its pods' changes wake it too.

import type { Pod, ReplicaSet } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import { isControlledBy } from '../meta';
import { enqueueController, enqueueObject, liveObject, requeueAfter, type ControlLoop } from '../run-controller';
import { plan } from './plan';
import { randomSuffix } from './random-suffix';

export const replicaSetLoop: ControlLoop = {
  workers: 2,

  watch(caches, enqueue) {
    caches.replicaSets.onChange(enqueueObject(enqueue));
    caches.pods.onChange(enqueueController('ReplicaSet', enqueue));
  },

  async reconcile(ctx, key, written) {
    const replicaSet = liveObject(ctx.caches.replicaSets, key);
    if (!replicaSet) return;
    const { namespace, name } = replicaSet.metadata;
    const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && isControlledBy(p, replicaSet));
    const { actions, requeueAfterMs } = plan(replicaSet, pods, ctx.clock(), randomSuffix);
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
          written.note(ctx.caches.replicaSets, await ctx.registry.mutate<ReplicaSet>('ReplicaSet', namespace, name!, (rs) =>
            rs.metadata.uid === replicaSet.metadata.uid ? { ...rs, status: action.status } : undefined));
          break;
        case 'event':
          ctx.record(action.event);
          break;
      }
    }
    return requeueAfter(requeueAfterMs);
  },
};
