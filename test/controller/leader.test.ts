// Several controllers on one etcd: one leads (runs the control loops), the others serve the API;
// when the leader goes, another takes over within a lease duration, and no pod is ever made twice.

import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { startController, type Controller } from '../../controller';
import { decide } from '../../controller/leader/decide';
import { loadClusterApi, type ClusterClient } from '../../proto/grpc';
import type { Lease, Pod } from '../../proto/resources';
import { startEtcd } from '../fixtures/etcd';
import { kubeconfigCredentials } from '../fixtures/credentials';
import { startHollowNode } from '../fixtures/hollow-node';
import { eventually as waitFor } from '../fixtures/wait';

const lease = (holder: string, renewTime: string): Lease => ({
  apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'berth-controller', namespace: 'berth-system' },
  spec: { holderIdentity: holder, renewTime },
});

const eventually = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000) => waitFor(what, probe, timeoutMs);

t.test('decide: create, renew, wait until expiry, take over', async (t) => {
  const at = Date.parse('2026-01-01T00:00:10Z');
  t.same(decide(undefined, 'me', at, 6000), { type: 'create' });
  t.same(decide(lease('me', '2026-01-01T00:00:00Z'), 'me', at, 6000), { type: 'renew' }, 'our own lease, even expired: renew it');
  t.same(decide(lease('other', '2026-01-01T00:00:05Z'), 'me', at, 6000), { type: 'wait', retryMs: 1000 });
  t.same(decide(lease('other', '2026-01-01T00:00:04Z'), 'me', at, 6000), { type: 'take-over' }, 'expired exactly now');
  t.same(decide(lease('other', 'garbage'), 'me', at, 6000), { type: 'take-over' }, 'an unreadable renewTime counts as long ago');
});

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;
const call = <Req, Res>(client: ClusterClient, method: Unary<Req, Res>, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res))));


t.test('two controllers on one etcd: one leads, the other takes over, no duplicate pods', async (t) => {
  const etcd = await startEtcd(t);
  const store = `etcd://${etcd.endpoint}/berth-leader-${process.pid}/`;
  const start = async (): Promise<Controller> => {
    const c = await startController({ dataRoot: t.testdir(), listen: '127.0.0.1:0', store, leaderLeaseMs: 1000, nodeGracePeriodMs: 3000 });
    t.teardown(() => c.stop());
    return c;
  };
  const a = await start();
  const b = await start();
  await eventually('a leader', () => a.isLeader() || b.isLeader());
  await new Promise((r) => setTimeout(r, 500));
  t.equal(Number(a.isLeader()) + Number(b.isLeader()), 1, 'exactly one leads');
  const [leader, follower] = a.isLeader() ? [a, b] : [b, a];

  // Nodes and clients talk to the follower: its API serves while the leader reconciles.
  await startHollowNode(t, follower, 'node-1', { readyAfterMs: 20 });
  await startHollowNode(t, follower, 'node-2', { readyAfterMs: 20 });
  const client = new (loadClusterApi().berth.cluster.v1.Cluster)(follower.address, kubeconfigCredentials(follower.adminKubeconfig));
  t.teardown(() => client.close());
  const deployment = (replicas: number) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'reg/web:1' }] } } },
  });
  const apply = (replicas: number) => call(client, client.Apply, { objects: [{ json: JSON.stringify(deployment(replicas)) }], dryRun: false, applySet: '', prune: false });
  const pods = async () => (await call(client, client.List, { kind: 'pods', namespace: 'default', labelSelector: 'app=web', fieldSelector: '' }))!.items!.map((i) => JSON.parse(i.json!) as Pod);
  const readyCount = async (n: number) => {
    const list = await pods();
    return list.length === n && list.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  };

  await apply(4);
  await eventually('4 ready pods', () => readyCount(4));
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await pods()).length, 4, 'still 4: nobody else made pods');

  await leader.stop();
  await eventually('the follower leads', () => follower.isLeader(), 5000);
  await apply(6);
  await eventually('6 ready pods', () => readyCount(6));
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await pods()).length, 6);
  const lease = JSON.parse((await call(client, client.Get, { kind: 'lease', namespace: 'berth-system', name: 'berth-controller' }))!.json!) as Lease;
  t.ok((lease.spec.leaseTransitions ?? 0) >= 1, 'the lease changed hands');
});

t.test('a deposed leader\'s writes are refused by the store, whatever its own clock says', async (t) => {
  const { electLeader } = await import('../../controller/leader');
  const { Registry } = await import('../../controller/objects');
  const { openSqliteStore } = await import('../../controller/store');
  const store = await openSqliteStore(`${t.testdir()}/state.db`);
  t.teardown(() => store.close());
  // The leader's clock stands still, as a paused process's does: by its own reckoning it leads on.
  const frozen = new Date();
  const registry = new Registry(store, () => frozen);
  await registry.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'berth-system' } });
  let fenced: ReturnType<InstanceType<typeof Registry>['fenced']> | undefined;
  const election = electLeader({
    registry, clock: () => frozen, durationMs: 60_000,
    lead: async (fence) => {
      fenced = registry.fenced(fence);
      return () => undefined;
    },
  });
  t.teardown(() => election.stop());
  await eventually('leading', () => election.isLeader() && fenced);
  const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  await fenced!.create(pod('before'));
  t.ok(await registry.tryGet('Pod', 'default', 'before'), 'the leader writes while it holds the lease');

  // Another controller takes the lease (its clock says ours expired) while ours is paused.
  await registry.mutate<Lease>('Lease', 'berth-system', 'berth-controller', (l) => ({ ...l, spec: { ...l.spec, holderIdentity: 'the-other-one', renewTime: new Date(Date.now() + 60_000).toISOString() } }));
  t.ok(election.isLeader(), 'the old leader does not know yet');
  await t.rejects(fenced!.create(pod('after')), { code: 'failed-precondition', message: /fenced: \/registry\/leases\/berth-system\/berth-controller is at revision \d+, not \d+/ });
  await t.rejects(fenced!.delete('Pod', 'default', 'before', { force: true }), { code: 'failed-precondition' });
  t.equal(await registry.tryGet('Pod', 'default', 'after'), undefined, 'no write of the old leader landed');
  t.ok(await registry.tryGet('Pod', 'default', 'before'));
});
