// The pod network's routing decision from the Nodes, for each backend: which routes, neighbour
// and forwarding entries a host keeps, and which Nodes it leaves out and why.

import t from 'tap';
import { planPodRoutes, vtepMac, VTEP_MAC_ANNOTATION } from '../../agent/network';
import type { Node } from '../../proto/resources';

const node = (name: string, ip: string | undefined, podCIDR: string | undefined, annotations?: Record<string, string>): Node => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: podCIDR ? { podCIDR } : {},
  status: { addresses: ip ? [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] : [] },
});

const nodes = [node('a', '192.168.1.10', '10.42.0.0/24'), node('c', '192.168.1.12', '10.42.2.0/24'), node('b', '192.168.1.11', '10.42.1.0/24')];

t.test('host-gw: a route per other node via its InternalIP', async (t) => {
  t.same(planPodRoutes('a', nodes, 'host-gw', 'berth0.vx'), {
    routes: [{ dst: '10.42.1.0/24', via: '192.168.1.11' }, { dst: '10.42.2.0/24', via: '192.168.1.12' }],
    neighbours: [], fdb: [], skipped: [],
  });
});

t.test('vxlan: route via the VTEP on the device, its neighbour entry, its forwarding entry', async (t) => {
  const plan = planPodRoutes('a', nodes, 'vxlan', 'berth0.vx');
  t.same(plan.routes, [{ dst: '10.42.1.0/24', via: '10.42.1.0', dev: 'berth0.vx' }, { dst: '10.42.2.0/24', via: '10.42.2.0', dev: 'berth0.vx' }]);
  t.same(plan.neighbours, [{ ip: '10.42.1.0', mac: '0a:58:c0:a8:01:0b' }, { ip: '10.42.2.0', mac: '0a:58:c0:a8:01:0c' }]);
  t.same(plan.fdb, [{ mac: '0a:58:c0:a8:01:0b', dst: '192.168.1.11' }, { mac: '0a:58:c0:a8:01:0c', dst: '192.168.1.12' }]);
  const announced = planPodRoutes('a', [nodes[0]!, node('b', '192.168.1.11', '10.42.1.0/24', { [VTEP_MAC_ANNOTATION]: '0a:58:00:00:00:99' })], 'vxlan', 'd');
  t.same(announced.fdb, [{ mac: '0a:58:00:00:00:99', dst: '192.168.1.11' }], "a node's published MAC wins over the derived one");
});

t.test('nodes left out: itself, no pod CIDR yet, no address, a bad CIDR, being deleted', async (t) => {
  const deleting = { ...node('e', '192.168.1.14', '10.42.4.0/24'), metadata: { name: 'e', deletionTimestamp: '2026-12-04T00:00:00Z' } };
  const plan = planPodRoutes('a', [...nodes.slice(0, 1), node('b', '192.168.1.11', undefined), node('c', undefined, '10.42.2.0/24'), node('d', '192.168.1.13', '10.42.3.7/24'), deleting], 'host-gw', 'd');
  t.same(plan.routes, []);
  t.same(plan.skipped, ['b: no pod CIDR yet', 'c: no InternalIP address', 'd: pod CIDR 10.42.3.7/24 is not an IPv4 CIDR']);
});

t.test('VTEP MACs are derived from the address: locally administered, unicast, stable', async (t) => {
  t.equal(vtepMac('10.0.0.1'), '0a:58:0a:00:00:01');
  t.equal(vtepMac('255.255.255.255'), '0a:58:ff:ff:ff:ff');
  t.equal(parseInt(vtepMac('1.2.3.4').slice(0, 2), 16) & 0b11, 0b10, 'locally administered bit set, multicast bit clear');
  t.throws(() => vtepMac('fe80::1'), /not an IPv4 address/);
});
