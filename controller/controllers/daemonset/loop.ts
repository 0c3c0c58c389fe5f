// The daemon set loop: a DaemonSet's key -> plan (./plan.ts) over the caches -> pods created and
// deleted (../owned-pods.ts), status written. Woken by its own changes, its pods', and any node's
// (a node that joins, leaves or changes labels may want or stop wanting each DaemonSet's pod).

import { podOwnerLoop } from '../owned-pods';
import { randomSuffix } from '../replicaset';
import { queueKey, writeStatus, type ControlLoop } from '../run-controller';
import { createdMessage, plan } from './plan';
import { DAEMONSET_CONTROLLER, type DaemonSetAction } from './types';

const daemonSets = podOwnerLoop({
  workers: 2,
  objects: (caches) => caches.daemonSets,
  component: DAEMONSET_CONTROLLER,
  createdMessage,
  plan: (ctx, ds, pods) => plan(ds, ctx.caches.nodes.list(), pods, ctx.clock(), randomSuffix),
  async other(ctx, ds, action: Extract<DaemonSetAction, { type: 'update-daemonset-status' }>, written) {
    await writeStatus(ctx, ctx.caches.daemonSets, written, ds, action.status);
  },
});

export const daemonSetLoop: ControlLoop = {
  ...daemonSets,
  watch(caches, enqueue) {
    daemonSets.watch(caches, enqueue);
    caches.nodes.onChange(() => {
      for (const ds of caches.daemonSets.list()) enqueue(queueKey(ds.metadata.namespace, ds.metadata.name));
    });
  },
};
