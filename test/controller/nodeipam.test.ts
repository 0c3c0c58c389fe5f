// The node IPAM planner: each Node gets the lowest block of the cluster CIDR that no Node holds,
// never one twice, oldest Node first; a full cluster CIDR is a Warning event, not a reused block.

import t from 'tap';
import { plan } from '../../controller/controllers/nodeipam';
import { parseCidr } from '../../proto/network/cidr';
import type { Node } from '../../proto/resources';

const node = (name: string, created: string, podCIDR?: string, deleting = false): Node => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name, uid: `uid-${name}`, creationTimestamp: created, ...(deleting ? { deletionTimestamp: created } : {}) },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});
const options = { clusterCidr: parseCidr('10.42.0.0/16', 'x'), nodeMaskSize: 24, backend: 'vxlan' as const };
const assigned = (nodes: Node[], o = options) => plan(nodes, o).actions.map((a) => (a.type === 'assign-pod-cidr' ? `${a.node}=${a.podCIDR}` : `event ${a.event.reason}: ${a.event.message}`));

t.test('the lowest free block, oldest node first, none twice', async (t) => {
  t.same(assigned([node('b', '2026-01-02T00:00:00Z'), node('a', '2026-01-01T00:00:00Z')]), ['a=10.42.0.0/24', 'b=10.42.1.0/24']);
  t.same(assigned([node('a', 't1', '10.42.0.0/24'), node('b', 't2', '10.42.2.0/24'), node('c', 't3'), node('d', 't4')]),
    ['c=10.42.1.0/24', 'd=10.42.3.0/24'], 'holes first, then past the held ones');
  t.same(assigned([node('a', 't1', '10.42.0.0/24'), node('b', 't2', '10.42.1.0/24')]), [], 'nothing to do');
  t.same(assigned([node('a', 't1', '192.168.0.0/24'), node('b', 't2')]), ['b=10.42.0.0/24'], 'a block outside the cluster CIDR is left alone and blocks nothing');
  t.same(assigned([node('gone', 't1', undefined, true)]), [], 'a Node being deleted gets none');
});

t.test('a full cluster CIDR: a Warning, never a block given twice', async (t) => {
  const small = { ...options, clusterCidr: parseCidr('10.42.0.0/23', 'x') };
  t.same(assigned([node('a', 't1', '10.42.0.0/24'), node('b', 't2'), node('c', 't3')], small), [
    'b=10.42.1.0/24',
    'event CIDRNotAvailable: Node c status is now: CIDRNotAvailable (the cluster CIDR 10.42.0.0/23 has no free /24 left)',
  ]);
});
