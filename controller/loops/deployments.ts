// The deployment loop: Deployment -> its ReplicaSets (revisions), by controller/controllers/deployment.

import type { Deployment, ReplicaSet } from '../../proto/resources';
import { controllerRef, isControlledBy } from '../controllers/objects';
import { plan } from '../controllers/deployment';
import type { HandlerResult, WorkQueue } from '../controllers/queue';
import type { LoopContext } from './types';
import { ignoreNotFound, queueKey, splitKey, WrittenRevisions } from './writes';

export function watchDeployments(ctx: LoopContext, queue: WorkQueue): void {
  ctx.caches.deployments.onChange((_type, d) => queue.add(queueKey(d.metadata.namespace, d.metadata.name)));
  ctx.caches.replicaSets.onChange((_type, rs) => {
    const owner = controllerRef(rs);
    if (owner?.kind === 'Deployment') queue.add(queueKey(rs.metadata.namespace, owner.name));
  });
}

export async function reconcileDeployment(ctx: LoopContext, key: string): Promise<HandlerResult | void> {
  const [namespace, name] = splitKey(key);
  const deployment = ctx.caches.deployments.get(namespace, name);
  if (!deployment || deployment.metadata.deletionTimestamp) return;
  const replicaSets = ctx.caches.replicaSets.list((rs) => rs.metadata.namespace === namespace && isControlledBy(rs, deployment));
  const owned = new Set(replicaSets.map((rs) => rs.metadata.uid));
  const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && owned.has(controllerRef(p)?.uid));
  const { actions, requeueAfterMs } = plan(deployment, replicaSets, pods, ctx.clock());
  const written = new WrittenRevisions();
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
        written.note(ctx.caches.deployments, await ctx.registry.mutate<Deployment>('Deployment', namespace, name, (d) =>
          d.metadata.uid === deployment.metadata.uid ? { ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, ...action.annotations } } } : undefined,
        { keepStatus: true }));
        break;
      case 'update-deployment-status':
        written.note(ctx.caches.deployments, await ctx.registry.mutate<Deployment>('Deployment', namespace, name, (d) =>
          d.metadata.uid === deployment.metadata.uid ? { ...d, status: action.status } : undefined));
        break;
      case 'event':
        ctx.record(action.event);
        break;
    }
  }
  await written.caughtUp();
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}
