// The replica set loop: a ReplicaSet's key -> plan (./plan.ts) over the caches -> pods created
// and deleted (../owned-pods.ts), status written. Its pods' changes wake it too.

import { podOwnerLoop } from '../owned-pods';
import { writeStatus } from '../run-controller';
import { createdMessage, plan } from './plan';
import { randomSuffix } from './random-suffix';
import { REPLICASET_CONTROLLER, type ReplicaSetAction } from './types';

export const replicaSetLoop = podOwnerLoop({
  workers: 2,
  objects: (caches) => caches.replicaSets,
  component: REPLICASET_CONTROLLER,
  createdMessage,
  plan: (ctx, replicaSet, pods) => plan(replicaSet, pods, ctx.clock(), randomSuffix),
  async other(ctx, replicaSet, action: Extract<ReplicaSetAction, { type: 'update-replicaset-status' }>, written) {
    await writeStatus(ctx, ctx.caches.replicaSets, written, replicaSet, action.status);
  },
});
