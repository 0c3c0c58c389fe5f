// The replica set loop: a ReplicaSet's key -> plan (./plan.ts) over the caches -> pods created
// and deleted (../owned-pods.ts), status written. Its pods' changes wake it too.

import { isControlledBy } from '../meta';
import { OwnedPods } from '../owned-pods';
import type { HandlerResult } from '../queue';
import { objectLoop, writeStatus } from '../run-controller';
import { createdMessage, plan } from './plan';
import { randomSuffix } from './random-suffix';
import { REPLICASET_CONTROLLER } from './types';

export const replicaSetLoop = objectLoop({
  workers: 2,
  objects: (caches) => caches.replicaSets,
  owned: (caches) => caches.pods,

  async reconcile(ctx, replicaSet, written): Promise<HandlerResult | undefined> {
    const { namespace } = replicaSet.metadata;
    const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && isControlledBy(p, replicaSet));
    const { actions, requeueAfterMs } = plan(replicaSet, pods, ctx.clock(), randomSuffix);
    const owned = new OwnedPods(ctx, replicaSet, REPLICASET_CONTROLLER, written, createdMessage);
    for (const action of actions) {
      switch (action.type) {
        case 'create-pod':
          await owned.create(action.pod);
          break;
        case 'delete-pod':
          await owned.delete(action.pod);
          break;
        case 'update-replicaset-status':
          await writeStatus(ctx, ctx.caches.replicaSets, written, replicaSet, action.status);
          break;
        case 'event':
          owned.record(action.event);
          break;
      }
    }
    return owned.result(requeueAfterMs);
  },
});
