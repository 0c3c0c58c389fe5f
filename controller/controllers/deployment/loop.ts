// The deployment loop: a Deployment's key -> plan (./plan.ts) over the caches -> the writes it
// asks for. Its ReplicaSets' changes wake it too.

import type { Deployment, ReplicaSet } from '../../../proto/resources';
import { ignoreNotFound } from '../../objects';
import { controllerRef, isControlledBy } from '../meta';
import { objectLoop, requeueAfter, writeStatus } from '../run-controller';
import { plan } from './plan';

export const deploymentLoop = objectLoop({
  workers: 2,
  objects: (caches) => caches.deployments,
  owned: (caches) => caches.replicaSets,

  async reconcile(ctx, deployment, written) {
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
          await writeStatus(ctx, ctx.caches.deployments, written, deployment, action.status);
          break;
        case 'event':
          ctx.record(action.event);
          break;
      }
    }
    return requeueAfter(requeueAfterMs);
  },
});
