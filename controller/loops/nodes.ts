// The node lifecycle loop: leases -> node Ready conditions, and lost nodes' pods evicted, by
// controller/controllers/node.

import type { Lease, Node, Pod } from '../../proto/resources';
import { plan } from '../controllers/node';
import { getCondition, replaceCondition } from '../controllers/conditions';
import type { HandlerResult, WorkQueue } from '../controllers/queue';
import type { LoopContext } from './types';
import { ignoreNotFound, WrittenRevisions } from './writes';

export const NODES_KEY = 'nodes';

export function watchNodes(ctx: LoopContext, queue: WorkQueue): void {
  ctx.caches.nodes.onChange(() => queue.add(NODES_KEY));
  ctx.caches.leases.onChange(() => queue.add(NODES_KEY));
  ctx.caches.pods.onChange((_type, pod) => {
    if (pod.spec.nodeName && pod.metadata.deletionTimestamp) queue.add(NODES_KEY);
  });
}

export async function reconcileNodes(ctx: LoopContext, options: { gracePeriodMs: number; evictionTimeoutMs: number }): Promise<HandlerResult | void> {
  const nodes = ctx.caches.nodes.list();
  const podsByNode = new Map<string, Pod[]>();
  for (const pod of ctx.caches.pods.list((p) => !!p.spec.nodeName)) {
    const list = podsByNode.get(pod.spec.nodeName!) ?? [];
    list.push(pod);
    podsByNode.set(pod.spec.nodeName!, list);
  }
  const { actions, requeueAfterMs } = plan(nodes, ctx.caches.leases.list(), podsByNode, ctx.clock(), options);
  const written = new WrittenRevisions();
  for (const action of actions) {
    switch (action.type) {
      case 'set-node-condition':
        written.note(ctx.caches.nodes, await ctx.registry.mutate<Node>('Node', undefined, action.node.name, (n) =>
          ({ ...n, status: { ...n.status, conditions: replaceCondition(n.status?.conditions, action.condition) } }), { keepStatus: false }));
        break;
      case 'evict-pod':
        written.note(ctx.caches.pods, await ctx.registry.delete('Pod', action.pod.namespace, action.pod.name, { force: true }).catch(ignoreNotFound));
        break;
      case 'bump-node-epoch':
        written.note(ctx.caches.leases, await ctx.registry.update<Lease>(action.lease));
        break;
      case 'event':
        ctx.record(action.event);
        break;
    }
  }
  // A pod being deleted on a node that is not Ready cannot count on its agent to confirm the stop:
  // it goes now (its replacement was started when its deletion began; the node's agent stops
  // whatever it no longer finds bound to it when it returns).
  const notReady = new Set(ctx.caches.nodes.list((n) => getCondition(n.status?.conditions, 'Ready')?.status !== 'True').map((n) => n.metadata.name));
  for (const pod of ctx.caches.pods.list((p) => !!p.metadata.deletionTimestamp && notReady.has(p.spec.nodeName))) {
    written.note(ctx.caches.pods, await ctx.registry.delete('Pod', pod.metadata.namespace, pod.metadata.name!, { force: true }).catch(ignoreNotFound));
  }
  await written.caughtUp();
  return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
}
