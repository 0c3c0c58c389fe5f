// The node IPAM loop: carries out ./plan.ts whenever a Node comes or goes. The write is
// conditional on the Node as read, and keeps a podCIDR the Node already has: a block, once given,
// is the node's for as long as the Node exists (Kubernetes' podCIDR is immutable once set).

import type { Node } from '../../../proto/resources';
import { ignoreNotFound } from '../../objects';
import type { ControlLoop } from '../run-controller';
import { plan, type PodNetworkOptions } from './plan';

const KEY = 'nodes';

export function nodeIpamLoop(options: PodNetworkOptions): ControlLoop {
  return {
    workers: 1,
    watch(caches, enqueue) {
      caches.nodes.onChange((type, node) => {
        if (type !== 'MODIFIED' || !node.spec?.podCIDR) enqueue(KEY);
      });
    },
    initialKeys: [KEY],
    async reconcile(ctx, _key, written) {
      for (const action of plan(ctx.caches.nodes.list(), options).actions) {
        if (action.type === 'event') {
          ctx.record(action.event);
          continue;
        }
        const updated = await ctx.registry.mutate<Node>('Node', undefined, action.node, (n) =>
          (n.spec?.podCIDR ? undefined : { ...n, spec: { ...n.spec, podCIDR: action.podCIDR, podCIDRs: [action.podCIDR] } })).catch(ignoreNotFound);
        written.note(ctx.caches.nodes, updated);
      }
    },
  };
}
