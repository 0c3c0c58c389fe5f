// The replication controller loop: a ReplicationController is the ReplicaSet controller's work
// with a selector that is a map; each pass plans it as the ReplicaSet it stands for (./plan.ts),
// so its pods, their owner references (kind ReplicationController) and its status come out as a
// ReplicaSet's would.

import type { ReplicaSet, ReplicationController } from '../../../proto/resources';
import { podOwnerLoop } from '../owned-pods';
import { writeStatus } from '../run-controller';
import { createdMessage, plan } from './plan';
import { randomSuffix } from './random-suffix';
import type { ReplicaSetAction } from './types';

export const REPLICATION_CONTROLLER = 'replication-controller';

/** The ReplicaSet a ReplicationController stands for: its kind and identity kept, its selector as matchLabels. */
export function asReplicaSet(rc: ReplicationController): ReplicaSet {
  const selector = rc.spec.selector && Object.keys(rc.spec.selector).length > 0 ? rc.spec.selector : rc.spec.template.metadata?.labels ?? {};
  return { ...rc, spec: { ...rc.spec, selector: { matchLabels: selector } } } as unknown as ReplicaSet;
}

export const replicationControllerLoop = podOwnerLoop({
  workers: 1,
  objects: (caches) => caches.replicationControllers,
  component: REPLICATION_CONTROLLER,
  createdMessage,
  plan: (ctx, rc, pods) => plan(asReplicaSet(rc), pods, ctx.clock(), randomSuffix),
  async other(ctx, rc, action: Extract<ReplicaSetAction, { type: 'update-replicaset-status' }>, written) {
    await writeStatus(ctx, ctx.caches.replicationControllers, written, rc, action.status);
  },
});
