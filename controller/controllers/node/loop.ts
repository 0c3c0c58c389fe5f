// The node lifecycle loop: leases -> node Ready conditions, and lost nodes' pods evicted, by
// ./plan.ts. One key for the whole cluster: the plan looks at every node at once.

import type { Lease, Node, Pod } from '../../../proto/resources';
import { ignoreNotFound } from '../../objects';
import { getCondition, replaceCondition } from '../conditions';
import { requeueAfter, type ControlLoop, type ControllerContext } from '../run-controller';
import type { WrittenRevisions } from '../written';
import { plan } from './plan';
import type { NodeLifecycleOptions } from './types';

const NODES_KEY = 'nodes';

export function nodeLifecycleLoop(options: NodeLifecycleOptions): ControlLoop {
  return {
    workers: 1,
    watch(caches, enqueue) {
      caches.nodes.onChange(() => enqueue(NODES_KEY));
      caches.leases.onChange(() => enqueue(NODES_KEY));
      caches.pods.onChange((_type, pod) => {
        if (pod.spec.nodeName && (pod.metadata.deletionTimestamp || !caches.nodes.get(undefined, pod.spec.nodeName))) enqueue(NODES_KEY);
      });
    },
    initialKeys: [NODES_KEY],
    reconcile: (ctx, _key, written) => reconcileNodes(ctx, written, options),
  };
}

async function reconcileNodes(ctx: ControllerContext, written: WrittenRevisions, options: NodeLifecycleOptions) {
  const nodes = ctx.caches.nodes.list();
  const podsByNode = new Map<string, Pod[]>();
  for (const pod of ctx.caches.pods.list((p) => !!p.spec.nodeName)) {
    const list = podsByNode.get(pod.spec.nodeName!) ?? [];
    list.push(pod);
    podsByNode.set(pod.spec.nodeName!, list);
  }
  const { actions, requeueAfterMs } = plan(nodes, ctx.caches.leases.list(), podsByNode, ctx.clock(), options);
  for (const action of actions) {
    switch (action.type) {
      case 'set-node-condition':
        written.note(ctx.caches.nodes, await ctx.registry.mutate<Node>('Node', undefined, action.node.name, (n) =>
          ({ ...n, status: { ...n.status, conditions: replaceCondition(n.status?.conditions, action.condition) } }), { keepStatus: false }));
        break;
      case 'evict-pod':
        written.note(ctx.caches.pods, await ctx.registry.delete('Pod', action.pod.namespace, action.pod.name, { force: true }).catch(ignoreNotFound));
        break;
      case 'delete-orphaned-pod':
        // The cache may not have seen a node that just registered: its absence is confirmed first.
        if (await ctx.registry.tryGet('Node', undefined, action.nodeName)) break;
        written.note(ctx.caches.pods, await ctx.registry.delete('Pod', action.pod.namespace, action.pod.name, { force: true }).catch(ignoreNotFound));
        break;
      case 'mark-pod-not-ready':
        written.note(ctx.caches.pods, await ctx.registry.mutate<Pod>('Pod', action.pod.namespace, action.pod.name, (p) =>
          (p.metadata.uid !== action.pod.uid ? undefined : { ...p, status: { ...p.status, conditions: replaceCondition(p.status?.conditions, action.condition) } })).catch(ignoreNotFound));
        break;
      case 'set-node-taints':
        written.note(ctx.caches.nodes, await ctx.registry.mutate<Node>('Node', undefined, action.node.name, (n) => {
          const { taints: _old, ...rest } = n.spec ?? {};
          return { ...n, spec: action.taints.length > 0 ? { ...rest, taints: action.taints } : rest };
        }));
        break;
      case 'taint-evict-pod':
        written.note(ctx.caches.pods, await ctx.registry.delete('Pod', action.pod.namespace, action.pod.name).catch(ignoreNotFound));
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
  return requeueAfter(requeueAfterMs);
}
