// The deployment loop: a Deployment's key -> plan (./plan.ts) over the caches -> the writes it
// asks for. Its ReplicaSets' changes wake it too.

import type { Deployment, ReplicaSet } from '../../../proto/resources';
import { ignoreNotFound } from '../../objects';
import { controllerRef, isControlledBy } from '../meta';
import { enqueueController, enqueueObject, liveObject, requeueAfter, type ControlLoop } from '../run-controller';
import { plan } from './plan';

export const deploymentLoop: ControlLoop = {
  workers: 2,

  watch(caches, enqueue) {
    caches.deployments.onChange(enqueueObject(enqueue));
    caches.replicaSets.onChange(enqueueController('Deployment', enqueue));
  },

  async reconcile(ctx, key, written) {
    const deployment = liveObject(ctx.caches.deployments, key);
    if (!deployment) return;
    const { namespace, name } = deployment.metadata;
    const replicaSets = ctx.caches.replicaSets.list((rs) => rs.metadata.namespace === namespace && isControlledBy(rs, deployment));
    const owned = new Set(replicaSets.map((rs) => rs.metadata.uid));
    const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && owned.has(controllerRef(p)?.uid));
    const { actions, requeueAfterMs } = plan(deployment, replicaSets, pods, ctx.clock());
    for (const action of actions) {
      switch (action.type) {
        case 'create-replicaset':
          written.note(ctx.caches.replicaSets, await ctx.registry.create<ReplicaSet>(action.replicaSet));
          break;
        case 'update-replicaset':
          written.note(ctx.caches.replicaSets, await ctx.registry.update<ReplicaSet>(action.replicaSet, { keepStatus: true }));
          break;
        case 'delete-replicaset':
          written.note(ctx.caches.replicaSets, await ctx.registry.delete('ReplicaSet', action.replicaSet.namespace, action.replicaSet.name).catch(ignoreNotFound));
          break;
        case 'annotate-deployment':
          written.note(ctx.caches.deployments, await ctx.registry.mutate<Deployment>('Deployment', namespace, name!, (d) =>
            d.metadata.uid === deployment.metadata.uid ? { ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, ...action.annotations } } } : undefined,
          { keepStatus: true }));
          break;
        case 'update-deployment-status':
          written.note(ctx.caches.deployments, await ctx.registry.mutate<Deployment>('Deployment', namespace, name!, (d) =>
            d.metadata.uid === deployment.metadata.uid ? { ...d, status: action.status } : undefined));
          break;
        case 'event':
          ctx.record(action.event);
          break;
      }
    }
    return requeueAfter(requeueAfterMs);
  },
};
