// The node IPAM decision (kube-controller-manager's range allocator, k3s' default): every Node gets
// one block of the cluster CIDR as spec.podCIDR / spec.podCIDRs, the lowest block no Node holds.
// What a Node holds is read from the Nodes themselves, so a restart or a new leader rebuilds the
// same picture and never hands a block out twice. Pure.

import type { Node } from '../../../proto/resources';
import { containsCidr, formatCidr, parseCidr, subBlock, subBlockCount, type Cidr } from '../../../proto/network/cidr';
import { eventFor } from '../meta';
import type { EventAction, Plan } from '../types';

export const NODE_IPAM_CONTROLLER = 'node-ipam-controller';

/** How pod traffic crosses hosts: flannel's two backends. */
export type PodNetworkBackend = 'vxlan' | 'host-gw';
export const POD_NETWORK_BACKENDS: readonly PodNetworkBackend[] = ['vxlan', 'host-gw'];

export interface PodNetworkOptions {
  clusterCidr: Cidr;
  backend: PodNetworkBackend;
  /** Each node's block: /24 by default (254 pods), as kube-controller-manager's --node-cidr-mask-size. */
  nodeMaskSize: number;
}

export interface AssignPodCidr {
  type: 'assign-pod-cidr';
  node: string;
  podCIDR: string;
}

export type NodeIpamAction = AssignPodCidr | EventAction;

export function plan(nodes: readonly Node[], options: PodNetworkOptions): Plan<NodeIpamAction> {
  const { clusterCidr, nodeMaskSize } = options;
  const taken = new Set<number>();
  const actions: NodeIpamAction[] = [];
  for (const node of nodes) {
    const held = node.spec?.podCIDR;
    if (!held) continue;
    // A block outside the cluster CIDR (the flag changed) is the node's; it blocks nothing here.
    const block = tryParse(held);
    if (block && containsCidr(clusterCidr, block)) taken.add((block.base - clusterCidr.base) / 2 ** (32 - nodeMaskSize));
  }
  // Oldest first, so that which node gets which block does not depend on the cache's order.
  const waiting = nodes
    .filter((n) => !n.spec?.podCIDR && !n.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name!.localeCompare(b.metadata.name!));
  const count = subBlockCount(clusterCidr, nodeMaskSize);
  let next = 0;
  for (const node of waiting) {
    while (next < count && taken.has(next)) next++;
    if (next >= count) {
      actions.push({
        type: 'event',
        event: eventFor(node, NODE_IPAM_CONTROLLER, 'Warning', 'CIDRNotAvailable',
          `Node ${node.metadata.name} status is now: CIDRNotAvailable (the cluster CIDR ${formatCidr(clusterCidr)} has no free /${nodeMaskSize} left)`),
      });
      continue;
    }
    taken.add(next);
    actions.push({ type: 'assign-pod-cidr', node: node.metadata.name!, podCIDR: formatCidr(subBlock(clusterCidr, nodeMaskSize, next)) });
  }
  return { actions };
}

function tryParse(text: string): Cidr | undefined {
  try {
    return parseCidr(text, 'podCIDR');
  } catch {
    return undefined;
  }
}
