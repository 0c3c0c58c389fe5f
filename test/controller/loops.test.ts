// The control loops end to end through a real controller (real gRPC, real SQLite), with hollow
// nodes in place of agents: spreading, readiness-driven status, a rolling update that never
// drops below replicas - maxUnavailable nor exceeds replicas + maxSurge, scaling, a lost node's
// pods replaced elsewhere, an unschedulable pod's reason, and cascading deletion.

import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { startController, type Controller } from '../../controller';
import { loadClusterApi, type ClusterClient } from '../../proto/grpc';
import type { Deployment, Lease, Node, Pod, ReplicaSet, Resource } from '../../proto/resources';
import { kubeconfigCredentials } from '../fixtures/credentials';
import { startHollowNode, type HollowNode } from '../fixtures/hollow-node';
import { eventually as waitFor } from '../fixtures/wait';

interface Cluster {
  controller: Controller;
  client: ClusterClient;
  nodes: HollowNode[];
}

async function startCluster(t: Test, nodeCount: number, options: { readyAfterMs?: number } = {}): Promise<Cluster> {
  const controller = await startController({ dataRoot: t.testdir(), listen: '127.0.0.1:0', nodeGracePeriodMs: 4000, podEvictionTimeoutMs: 1500 });
  t.teardown(() => controller.stop());
  const client = new (loadClusterApi().berth.cluster.v1.Cluster)(controller.address, kubeconfigCredentials(controller.adminKubeconfig));
  t.teardown(() => client.close());
  const nodes: HollowNode[] = [];
  for (let i = 1; i <= nodeCount; i++) nodes.push(await startHollowNode(t, controller, `node-${i}`, { readyAfterMs: options.readyAfterMs ?? 50, labels: { zone: i === 1 ? 'a' : 'b' } }));
  const cluster = { controller, client, nodes };
  // As a user checks get nodes: the scheduler spreads over the nodes it knows to be Ready.
  await waitFor(`${nodeCount} nodes Ready`, async () => (await list<Node>(cluster, 'nodes')).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === nodeCount, 15_000);
  return cluster;
}

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;
const call = <Req, Res>(client: ClusterClient, method: Unary<Req, Res>, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res))));

async function list<T extends Resource>(c: Cluster, kind: string, labelSelector = ''): Promise<T[]> {
  const res = await call(c.client, c.client.List, { kind, namespace: 'default', labelSelector, fieldSelector: '' });
  return res!.items!.map((i) => JSON.parse(i.json!) as T);
}

async function get<T extends Resource>(c: Cluster, kind: string, name: string, namespace = 'default'): Promise<T> {
  return JSON.parse((await call(c.client, c.client.Get, { kind, namespace, name }))!.json!) as T;
}

async function applyDocs(c: Cluster, docs: object[]): Promise<void> {
  await call(c.client, c.client.Apply, { objects: docs.map((d) => ({ json: JSON.stringify(d) })), dryRun: false, applySet: '', prune: false });
}


const web = (image: string, replicas = 6, extra: Partial<Deployment['spec']> = {}): Deployment => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image, resources: { requests: { cpu: '100m', memory: '64Mi' } } }] } },
    ...extra,
  },
});

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata.deletionTimestamp;

async function rolledOut(c: Cluster, replicas: number): Promise<Deployment | undefined> {
  const d = await get<Deployment>(c, 'deployment', 'web');
  const s = d.status;
  const done = s && s.observedGeneration === d.metadata.generation && s.updatedReplicas === replicas && s.availableReplicas === replicas && s.replicas === replicas;
  return done ? d : undefined;
}

const eventually = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000) => waitFor(what, probe, timeoutMs);

t.test('a Deployment of 6 spreads 2/2/2, turns available, rolls to a new image within its bounds, scales, and goes with its pods', async (t) => {
  const c = await startCluster(t, 3);
  await applyDocs(c, [web('reg/web:1')]);
  const d1 = await eventually('6 available replicas', () => rolledOut(c, 6));
  const condition = (type: string) => d1.status?.conditions?.find((x) => x.type === type);
  t.match(condition('Available'), { status: 'True', reason: 'MinimumReplicasAvailable' });
  t.match(condition('Progressing'), { status: 'True', reason: 'NewReplicaSetAvailable' });
  const pods = await list<Pod>(c, 'pods', 'app=web');
  t.equal(pods.length, 6);
  const perNode = new Map<string, number>();
  for (const p of pods) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
  t.same([...perNode.values()].sort(), [2, 2, 2], 'spread over the three nodes');
  t.equal(d1.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');

  // Rolling update (maxSurge 25% -> 2, maxUnavailable 25% -> 1), sampled throughout.
  let minReady = Infinity;
  let maxTotal = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const all = await list<Pod>(c, 'pods', 'app=web');
      const live = all.filter((p) => !p.metadata.deletionTimestamp);
      minReady = Math.min(minReady, all.filter(isReady).length);
      maxTotal = Math.max(maxTotal, live.length);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await applyDocs(c, [web('reg/web:2')]);
  await eventually('the rollout to web:2', async () => {
    const d = await rolledOut(c, 6);
    if (!d || d.metadata.generation !== 2) return undefined;
    const all = await list<Pod>(c, 'pods', 'app=web');
    return all.length === 6 && all.every((p) => p.spec.containers[0]!.image === 'reg/web:2') ? d : undefined;
  });
  sampling = false;
  await sampler;
  t.ok(minReady >= 5, `never below replicas - maxUnavailable ready (lowest seen: ${minReady})`);
  t.ok(maxTotal <= 8, `never above replicas + maxSurge pods (highest seen: ${maxTotal})`);
  const rss = await list<ReplicaSet>(c, 'replicasets');
  t.equal(rss.length, 2, 'the old revision is kept for rollback');
  t.same(rss.map((rs) => rs.spec.replicas).sort(), [0, 6]);

  // Scale down and up.
  await applyDocs(c, [web('reg/web:2', 3)]);
  await eventually('3 replicas', async () => (await rolledOut(c, 3)) && (await list<Pod>(c, 'pods', 'app=web')).length === 3);
  await applyDocs(c, [web('reg/web:2', 5)]);
  await eventually('5 replicas', async () => (await rolledOut(c, 5)) && (await list<Pod>(c, 'pods', 'app=web')).length === 5);

  // Deleting the Deployment takes its ReplicaSets and pods along.
  await call(c.client, c.client.Delete, { kind: 'deployment', namespace: 'default', name: 'web' });
  await eventually('no replica sets and no pods', async () => (await list(c, 'replicasets')).length === 0 && (await list(c, 'pods')).length === 0);
  t.pass('cascaded');
});

t.test('a pod that fits nowhere stays Pending with the reason', async (t) => {
  const c = await startCluster(t, 3);
  const pod: Pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'picky' },
    spec: { nodeSelector: { zone: 'mars' }, containers: [{ name: 'c', image: 'reg/x:1' }] },
  };
  const big: Pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big' },
    spec: { containers: [{ name: 'c', image: 'reg/x:1', resources: { requests: { cpu: '64' } } }] },
  };
  await applyDocs(c, [pod, big]);
  const reasonOf = async (name: string) => {
    const p = await get<Pod>(c, 'pod', name);
    return p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
  };
  const picky = await eventually('picky unschedulable', () => reasonOf('picky'));
  t.equal(picky.reason, 'Unschedulable');
  t.equal(picky.message, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
  t.equal((await reasonOf('big').then(async (r) => r ?? eventually('big unschedulable', () => reasonOf('big'))))!.message, '0/3 nodes are available: 3 Insufficient cpu.');
  t.equal((await get<Pod>(c, 'pod', 'picky')).status?.phase, 'Pending');
  const events = (await call(c.client, c.client.List, { kind: 'events', namespace: 'default', labelSelector: '', fieldSelector: 'involvedObject.name=picky' }))!.items!;
  t.ok(events.some((e) => JSON.parse(e.json!).reason === 'FailedScheduling'), 'a FailedScheduling event');
  // A node that matches arrives: the pod is placed.
  await startHollowNode(t, c.controller, 'node-mars', { labels: { zone: 'mars' } });
  const placed = await eventually('picky placed', async () => (await get<Pod>(c, 'pod', 'picky')).spec.nodeName);
  t.equal(placed, 'node-mars');
});

t.test('a lost node turns NotReady, its pods are replaced elsewhere, and it must resync to come back', async (t) => {
  const c = await startCluster(t, 3);
  await applyDocs(c, [web('reg/web:1')]);
  await eventually('6 available', () => rolledOut(c, 6));
  const lost = c.nodes[2]!;
  const oldEpoch = lost.epoch;
  lost.goDown();
  const ready = async () => (await get<Node>(c, 'node', lost.name, '')).status?.conditions?.find((x) => x.type === 'Ready');
  const unknown = await eventually('NotReady', async () => ((await ready())?.status === 'Unknown' ? ready() : undefined));
  t.equal(unknown!.reason, 'NodeStatusUnknown');
  await eventually('pods replaced on the other nodes', async () => {
    const pods = await list<Pod>(c, 'pods', 'app=web');
    return pods.length === 6 && pods.every((p) => p.spec.nodeName !== lost.name) && (await rolledOut(c, 6));
  });
  const lease = await get<Lease>(c, 'lease', lost.name, 'berth-node-lease');
  t.ok(Number(lease.spec.leaseTransitions) > Number(oldEpoch), 'the epoch moved on');
  // Back: a renewal with the old epoch is refused; registering again gives a fresh epoch.
  await lost.comeBack();
  t.ok(Number(lost.epoch) > Number(lease.spec.leaseTransitions));
  await eventually('Ready again', async () => (await ready())?.status === 'True');
  t.equal(lost.running().size, 0, 'no pod of the Deployment is bound to it any more');
});

t.test('events expire an hour after they last happened', async (t) => {
  const dataRoot = t.testdir();
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  const first = await startController({ dataRoot, listen: '127.0.0.1:0', clock });
  const client = new (loadClusterApi().berth.cluster.v1.Cluster)(first.address, kubeconfigCredentials(first.adminKubeconfig));
  const c: Cluster = { controller: first, client, nodes: [] };
  // An unschedulable pod makes a FailedScheduling event.
  await applyDocs(c, [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lonely' }, spec: { containers: [{ name: 'c', image: 'reg/x:1' }] } }]);
  const events = async (cl: ClusterClient) => (await call(cl, cl.List, { kind: 'events', namespace: 'default', labelSelector: '', fieldSelector: 'involvedObject.name=lonely' }))!.items!;
  await eventually('an event', async () => (await events(client)).length > 0);
  await call(client, client.Delete, { kind: 'pod', namespace: 'default', name: 'lonely' });
  client.close();
  await first.stop();

  offsetMs = 2 * 60 * 60 * 1000;
  const later = await startController({ dataRoot, listen: '127.0.0.1:0', clock });
  t.teardown(() => later.stop());
  const client2 = new (loadClusterApi().berth.cluster.v1.Cluster)(later.address, kubeconfigCredentials(later.adminKubeconfig));
  t.teardown(() => client2.close());
  await eventually('the old event swept away', async () => (await events(client2)).length === 0);
  t.pass('expired');
});
