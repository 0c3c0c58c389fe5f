// The node IPAM loop through a real controller (gRPC, SQLite) with hollow nodes: every Node gets a
// block of its own, a restarted controller keeps them and gives a new Node a free one, and a
// deleted Node's block goes to the next Node that comes; two controllers on etcd never give one twice.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { startController, type Controller } from '../../controller';
import { loadClusterApi, type ClusterClient } from '../../proto/grpc';
import type { Node } from '../../proto/resources';
import { kubeconfigCredentials } from '../fixtures/credentials';
import { startEtcd } from '../fixtures/etcd';
import { startHollowNode } from '../fixtures/hollow-node';
import { eventually } from '../fixtures/wait';

async function podCidrs(client: ClusterClient, count: number): Promise<Record<string, string>> {
  return eventually(`${count} nodes with a pod CIDR`, async () => {
    const nodes = await new Promise<Node[]>((resolve, reject) =>
      client.List({ kind: 'nodes', namespace: '', labelSelector: '', fieldSelector: '' }, (err: grpc.ServiceError | null, res) =>
        (err ? reject(err) : resolve(res!.items!.map((i) => JSON.parse(i.json!) as Node)))));
    return nodes.length === count && nodes.every((n) => n.spec?.podCIDR && n.spec.podCIDRs?.[0] === n.spec.podCIDR)
      ? Object.fromEntries(nodes.map((n) => [n.metadata.name!, n.spec!.podCIDR!])) : undefined;
  }, 20_000);
}

t.test('blocks per node: distinct, kept across a restart, a freed one reused', async (t) => {
  const dataRoot = t.testdir();
  const start = async () => {
    const controller = await startController({ dataRoot, listen: '127.0.0.1:0', clusterCidr: '10.96.0.0/22', nodeCidrMaskSize: 24, nodeGracePeriodMs: 60_000 });
    const client = new (loadClusterApi().berth.cluster.v1.Cluster)(controller.address, kubeconfigCredentials(controller.adminKubeconfig)) as ClusterClient;
    return { controller, client };
  };
  let { controller, client }: { controller: Controller; client: ClusterClient } = await start();
  const nodes = [];
  for (const name of ['n1', 'n2', 'n3']) nodes.push(await startHollowNode(t, controller, name));
  const first = await podCidrs(client, 3);
  t.same(new Set(Object.values(first)), new Set(['10.96.0.0/24', '10.96.1.0/24', '10.96.2.0/24']), 'three different blocks of the cluster CIDR');

  for (const n of nodes) n.stop();
  client.close();
  await controller.stop();
  ({ controller, client } = await start());
  t.teardown(async () => {
    client.close();
    await controller.stop();
  });
  const n4 = await startHollowNode(t, controller, 'n4');
  const second = await podCidrs(client, 4);
  t.same({ n1: second.n1, n2: second.n2, n3: second.n3 }, first, 'the restarted controller kept every block');
  t.equal(second.n4, '10.96.3.0/24', 'the new node got the free one');

  // The cluster CIDR is full now: a fifth node waits; once n2 is deleted it gets n2's block.
  const n5 = await startHollowNode(t, controller, 'n5');
  await new Promise<void>((resolve, reject) => client.Delete({ kind: 'nodes', namespace: '', name: 'n2' }, (err: grpc.ServiceError | null) => (err ? reject(err) : resolve())));
  const third = await podCidrs(client, 4);
  t.equal(third.n5, first.n2, "the deleted node's block went to the node that waited");
  n4.stop();
  n5.stop();
});

t.test('two controllers on one etcd: whichever leads, no block is given twice', async (t) => {
  const etcd = await startEtcd(t);
  const store = `etcd://${etcd.endpoint}/berth-ipam-${process.pid}/`;
  const controllers: Controller[] = [];
  const root = t.testdir({ c0: {}, c1: {} });
  for (let i = 0; i < 2; i++) {
    const c = await startController({ dataRoot: `${root}/c${i}`, listen: '127.0.0.1:0', store, clusterCidr: '10.97.0.0/20', leaderLeaseMs: 1000, nodeGracePeriodMs: 60_000 });
    controllers.push(c);
    t.teardown(() => c.stop());
  }
  const client = new (loadClusterApi().berth.cluster.v1.Cluster)(controllers[1]!.address, kubeconfigCredentials(controllers[0]!.adminKubeconfig)) as ClusterClient;
  t.teardown(() => client.close());
  const nodes = [];
  // Nodes register through both API servers; the leader's loop assigns.
  for (let i = 0; i < 6; i++) nodes.push(await startHollowNode(t, controllers[i % 2]!, `m${i}`));
  const before = await podCidrs(client, 6);
  t.equal(new Set(Object.values(before)).size, 6, 'six nodes, six blocks');
  // The leader goes; the other takes over and serves the next nodes from what the Nodes hold.
  const leader = controllers.findIndex((c) => c.isLeader());
  t.ok(leader >= 0, 'one of them leads');
  await controllers[leader]!.stop();
  const other = controllers[1 - leader]!;
  await eventually('the other to lead', () => other.isLeader(), 20_000);
  const survivor = new (loadClusterApi().berth.cluster.v1.Cluster)(other.address, kubeconfigCredentials(controllers[0]!.adminKubeconfig)) as ClusterClient;
  t.teardown(() => survivor.close());
  for (let i = 6; i < 9; i++) nodes.push(await startHollowNode(t, other, `m${i}`));
  const after = await podCidrs(survivor, 9);
  t.equal(new Set(Object.values(after)).size, 9, 'nine nodes, nine blocks: none given twice across the change of leader');
  for (const [name, cidr] of Object.entries(before)) t.equal(after[name], cidr, `${name} kept its block`);
  for (const n of nodes) n.stop();
});
