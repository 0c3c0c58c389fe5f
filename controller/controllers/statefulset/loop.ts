// The statefulset loop: a StatefulSet's key -> plan (./plan.ts) over the caches -> claims made
// before their pods, pods created and deleted (../owned-pods.ts), status written. Woken by its own
// changes and its pods'.

import type { PersistentVolumeClaim } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import { eventFor } from '../meta';
import { REVISION_HASH_LABEL } from '../daemonset';
import { planHistory, type HistoryAction } from '../history';
import { writeHistory } from '../history-writes';
import { podOwnerLoop } from '../owned-pods';
import { writeStatus } from '../run-controller';
import { createdMessage, plan, revisionOf } from './plan';
import { STATEFULSET_CONTROLLER, type StatefulSetAction } from './types';

export const statefulSetLoop = podOwnerLoop({
  workers: 2,
  objects: (caches) => caches.statefulSets,
  component: STATEFULSET_CONTROLLER,
  // The set's name is the pod's without its ordinal.
  createdMessage: (pod) => createdMessage(pod, pod.replace(/-[0-9]+$/, '')),
  plan: (ctx, sts, pods) => {
    const planned = plan(sts, pods, ctx.caches.claims.list((c) => c.metadata.namespace === sts.metadata.namespace), ctx.clock());
    // The template's revision recorded first, for rollout history and undo.
    const inUse = new Set(pods.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? ''));
    const history = planHistory(sts, ctx.caches.controllerRevisions.list(), revisionOf(sts), inUse);
    return { ...planned, actions: [...history, ...planned.actions] };
  },
  async other(ctx, sts, action: Exclude<StatefulSetAction, { type: 'create-pod' | 'delete-pod' | 'event' }> | HistoryAction, written) {
    switch (action.type) {
      case 'create-revision':
      case 'renumber-revision':
      case 'delete-revision':
        await writeHistory(ctx, sts.metadata.namespace, action, written);
        return;
      case 'update-statefulset-status':
        await writeStatus(ctx, ctx.caches.statefulSets, written, sts, action.status);
        return;
      case 'create-claim':
        written.note(ctx.caches.claims, await ctx.registry.create<PersistentVolumeClaim>(action.claim).catch((err: unknown) => {
          // Made meanwhile (the cache had not seen it): the pod mounts it all the same.
          if (err instanceof BerthError && err.code === 'already-exists') return undefined;
          ctx.record(eventFor(sts, STATEFULSET_CONTROLLER, 'Warning', 'FailedCreate', `create Claim ${action.claim.metadata.name} in StatefulSet ${sts.metadata.name} failed error: ${(err as Error).message}`));
          throw err;
        }));
        return;
      case 'delete-claim':
        written.note(ctx.caches.claims, await ctx.registry.delete('PersistentVolumeClaim', action.claim.namespace, action.claim.name).catch(ignoreNotFound));
        return;
    }
  },
});
