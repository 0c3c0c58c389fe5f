// The daemon set loop: a DaemonSet's key -> plan (./plan.ts) over the caches -> pods created and
// deleted (../owned-pods.ts), status written. Woken by its own changes, its pods', and any node's
// (a node that joins, leaves or changes labels may want or stop wanting each DaemonSet's pod).

import { templateHash } from '../deployment';
import { planHistory, type HistoryAction } from '../history';
import { writeHistory } from '../history-writes';
import { podOwnerLoop } from '../owned-pods';
import { randomSuffix } from '../replicaset';
import { queueKey, writeStatus, type ControlLoop } from '../run-controller';
import { createdMessage, plan } from './plan';
import { DAEMONSET_CONTROLLER, REVISION_HASH_LABEL, type DaemonSetAction } from './types';

const daemonSets = podOwnerLoop({
  workers: 2,
  objects: (caches) => caches.daemonSets,
  component: DAEMONSET_CONTROLLER,
  createdMessage,
  plan: (ctx, ds, pods) => {
    const planned = plan(ds, ctx.caches.nodes.list(), pods, ctx.clock(), randomSuffix);
    // The template's revision recorded first, for rollout history and undo.
    const revisionName = (hash: string | undefined) => `${ds.metadata.name}-${hash}`;
    const inUse = new Set(pods.map((p) => revisionName(p.metadata.labels?.[REVISION_HASH_LABEL])));
    const history = planHistory(ds, ctx.caches.controllerRevisions.list(), revisionName(templateHash(ds.spec.template)), inUse);
    return { ...planned, actions: [...history, ...planned.actions] };
  },
  async other(ctx, ds, action: Extract<DaemonSetAction, { type: 'update-daemonset-status' }> | HistoryAction, written) {
    if (action.type === 'update-daemonset-status') await writeStatus(ctx, ctx.caches.daemonSets, written, ds, action.status);
    else await writeHistory(ctx, ds.metadata.namespace, action, written);
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
