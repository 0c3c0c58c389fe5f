// The replica set loop: a ReplicaSet's key -> plan (./plan.ts) over the caches -> pods created
// and deleted, status written. Its pods' changes wake it too.

import type { Pod } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import { isControlledBy } from '../meta';
import { objectLoop, requeueAfter, writeStatus } from '../run-controller';
import { plan } from './plan';
import { randomSuffix } from './random-suffix';

export const replicaSetLoop = objectLoop({
  workers: 2,
  objects: (caches) => caches.replicaSets,
  owned: (caches) => caches.pods,

  async reconcile(ctx, replicaSet, written) {
    const { namespace } = replicaSet.metadata;
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
          await writeStatus(ctx, ctx.caches.replicaSets, written, replicaSet, action.status);
          break;
        case 'event':
          ctx.record(action.event);
          break;
      }
    }
    return requeueAfter(requeueAfterMs);
  },
});
