// The controller's API over real gRPC, on a real SQLite store: apply's created / configured /
// unchanged and all-or-nothing, resource versions and conflicts, generation, watches that resume
// exactly and survive compaction, prune by recorded apply set, graceful pod deletion, and the
// node API's epochs.

import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { startController, type Controller } from '../../controller';
import { loadClusterApi, type ClusterClient, type NodeClient } from '../../proto/grpc';
import type { WatchEvent__Output } from '../../proto/gen/berth/cluster/v1/WatchEvent';
import type { Deployment, Pod, Resource } from '../../proto/resources';
import { kubeconfigCredentials, nodeChannelCredentials } from '../fixtures/credentials';

interface Api {
  controller: Controller;
  cluster: ClusterClient;
  node: NodeClient;
}

async function startApi(t: Test): Promise<Api> {
  // The API server alone: no control loop writes status while these tests watch resource versions.
  const controller = await startController({ dataRoot: t.testdir(), listen: '127.0.0.1:0', controlLoops: false });
  t.teardown(() => controller.stop());
  const api = loadClusterApi().berth.cluster.v1;
  const cluster = new api.Cluster(controller.address, kubeconfigCredentials(controller.adminKubeconfig));
  const node = new api.Node(controller.address, await nodeChannelCredentials(controller.ca, 'node-1'));
  t.teardown(() => { cluster.close(); node.close(); });
  return { controller, cluster, node };
}

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;
function call<Req, Res>(client: object, method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

const deployment = (name: string, image: string, extra: Partial<Deployment['spec']> = {}, labels?: Record<string, string>): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
    ...extra,
  },
});

async function applyDocs(api: Api, docs: object[], options: { dryRun?: boolean; applySet?: string; prune?: boolean } = {}) {
  const res = await call(api.cluster, api.cluster.Apply, { objects: docs.map((d) => ({ json: JSON.stringify(d) })), dryRun: options.dryRun ?? false, applySet: options.applySet ?? '', prune: options.prune ?? false });
  return res!.results!.map((r) => ({ kind: r.kind, name: r.name, action: r.action, object: JSON.parse(r.object!.json!) as Resource }));
}

const get = async <T extends Resource>(api: Api, kind: string, name: string, namespace = 'default'): Promise<T> =>
  JSON.parse((await call(api.cluster, api.cluster.Get, { kind, namespace, name }))!.json!) as T;

t.test('apply creates, reports unchanged, configures; generation moves only with spec', async (t) => {
  const api = await startApi(t);
  let r = await applyDocs(api, [deployment('web', 'reg/web:1')]);
  t.same(r.map((x) => x.action), ['created']);
  const created = r[0]!.object as Deployment;
  t.equal(created.metadata.generation, 1);
  t.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
  t.equal(created.metadata.namespace, 'default');
  t.equal(created.spec.strategy?.type, 'RollingUpdate', 'defaults applied');

  r = await applyDocs(api, [deployment('web', 'reg/web:1')]);
  t.same(r.map((x) => x.action), ['unchanged']);
  t.equal(r[0]!.object.metadata.resourceVersion, created.metadata.resourceVersion, 'an unchanged apply writes nothing');

  r = await applyDocs(api, [deployment('web', 'reg/web:1', {}, { team: 'a' })]);
  t.same(r.map((x) => x.action), ['configured']);
  t.equal(r[0]!.object.metadata.generation, 1, 'a label change is not a spec change');

  r = await applyDocs(api, [deployment('web', 'reg/web:2')]);
  t.same(r.map((x) => x.action), ['configured']);
  t.equal(r[0]!.object.metadata.generation, 2);
  t.equal(r[0]!.object.metadata.uid, created.metadata.uid);
  t.notOk(r[0]!.object.metadata.labels, 'labels are the applied ones: removed when the document drops them');
});

t.test('an apply with one invalid document stores nothing', async (t) => {
  const api = await startApi(t);
  const bad = deployment('broken', 'reg/x:1');
  (bad.spec.template.spec.containers[0] as { image: unknown }).image = 42;
  const err = await applyDocs(api, [deployment('fine', 'reg/x:1'), bad]).catch((e: grpc.ServiceError) => e);
  t.equal((err as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
  t.equal((err as grpc.ServiceError).details, 'Deployment default/broken: spec.template.spec.containers[0].image: must be a string');
  const miss = await call(api.cluster, api.cluster.Get, { kind: 'deployment', namespace: 'default', name: 'fine' }).catch((e: grpc.ServiceError) => e);
  t.equal((miss as grpc.ServiceError).code, grpc.status.NOT_FOUND);
  t.equal((miss as grpc.ServiceError).details, 'deployments.apps "fine" not found');
});

t.test('dry run reports without storing', async (t) => {
  const api = await startApi(t);
  const r = await applyDocs(api, [deployment('web', 'reg/web:1')], { dryRun: true });
  t.same(r.map((x) => x.action), ['created']);
  const miss = await call(api.cluster, api.cluster.Get, { kind: 'deploy', namespace: 'default', name: 'web' }).catch((e: grpc.ServiceError) => e);
  t.equal((miss as grpc.ServiceError).code, grpc.status.NOT_FOUND);
});

t.test('an update based on a stale resource version is refused with a conflict', async (t) => {
  const api = await startApi(t);
  const [first] = await applyDocs(api, [deployment('web', 'reg/web:1')]);
  const stale = first!.object as Deployment;
  const fresh = structuredClone(stale);
  fresh.spec.replicas = 5;
  const updated = JSON.parse((await call(api.cluster, api.cluster.Update, { json: JSON.stringify(fresh) }))!.json!) as Deployment;
  t.equal(updated.spec.replicas, 5);
  t.ok(Number(updated.metadata.resourceVersion) > Number(stale.metadata.resourceVersion));
  stale.spec.replicas = 7;
  const err = await call(api.cluster, api.cluster.Update, { json: JSON.stringify(stale) }).catch((e: grpc.ServiceError) => e);
  t.equal((err as grpc.ServiceError).code, grpc.status.ABORTED);
  t.match((err as grpc.ServiceError).details, /Operation cannot be fulfilled on deployments.apps "web": the object has been modified/);
  t.equal((await get<Deployment>(api, 'deployments', 'web')).spec.replicas, 5, 'the stale write changed nothing');
});

/** Collect a watch's events until `until` says enough. */
function watch(api: Api, req: { kind: string; resourceVersion?: string; labelSelector?: string }, until: (events: WatchEvent__Output[]) => boolean): Promise<WatchEvent__Output[]> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent__Output[] = [];
    const stream = api.cluster.Watch({ kind: req.kind, namespace: '', labelSelector: req.labelSelector ?? '', fieldSelector: '', resourceVersion: req.resourceVersion ?? '' });
    const timer = setTimeout(() => { stream.cancel(); reject(new Error(`watch timed out with ${JSON.stringify(events.map((e) => e.type))}`)); }, 10_000);
    stream.on('data', (e: WatchEvent__Output) => {
      events.push(e);
      if (until(events)) {
        clearTimeout(timer);
        stream.cancel();
        resolve(events);
      }
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) { clearTimeout(timer); reject(err); }
    });
  });
}

const nameOf = (e: WatchEvent__Output) => (e.object?.json ? (JSON.parse(e.object.json) as Resource).metadata.name : '');

t.test('a watch from a resource version sees every later change once, in order', async (t) => {
  const api = await startApi(t);
  const [a] = await applyDocs(api, [deployment('a', 'reg/a:1')]);
  const from = a!.object.metadata.resourceVersion!;
  const seen = watch(api, { kind: 'deployments', resourceVersion: from }, (ev) => ev.length >= 4);
  await applyDocs(api, [deployment('b', 'reg/b:1')]);
  await applyDocs(api, [deployment('a', 'reg/a:2')]);
  await applyDocs(api, [deployment('c', 'reg/c:1')]);
  await call(api.cluster, api.cluster.Delete, { kind: 'deployment', namespace: 'default', name: 'b' });
  const events = await seen;
  t.same(events.map((e) => `${e.type} ${nameOf(e)}`), ['ADDED b', 'MODIFIED a', 'ADDED c', 'DELETED b']);
  const versions = events.map((e) => Number(e.resourceVersion));
  t.same(versions, [...versions].sort((x, y) => x - y), 'in revision order');
  t.ok(versions[0]! > Number(from), 'nothing at or before the resume point');
});

t.test('a watch without a resource version lists first; one from a compacted version relists and carries on', async (t) => {
  const api = await startApi(t);
  await applyDocs(api, [deployment('a', 'reg/a:1'), deployment('b', 'reg/b:1')]);
  const initial = await watch(api, { kind: 'deployments' }, (ev) => ev.some((e) => e.type === 'SYNCED'));
  t.same(initial.map((e) => `${e.type} ${nameOf(e)}`), ['ADDED a', 'ADDED b', 'SYNCED ']);

  const [old] = await applyDocs(api, [deployment('a', 'reg/a:2')]);
  await applyDocs(api, [deployment('c', 'reg/c:1')]);
  const store = api.controller.registry.store;
  await store.compact(await store.revision());
  const resumed = watch(api, { kind: 'deployments', resourceVersion: String(Number(old!.object.metadata.resourceVersion) - 1) },
    (ev) => ev.some((e) => e.type === 'ADDED' && nameOf(e) === 'd'));
  await new Promise((r) => setTimeout(r, 200));
  await applyDocs(api, [deployment('d', 'reg/d:1')]);
  const events = await resumed;
  t.same(events.map((e) => `${e.type} ${nameOf(e)}`), ['RESYNC ', 'ADDED a', 'ADDED b', 'ADDED c', 'SYNCED ', 'ADDED d'],
    'no error: a fresh list, then the watch goes on');
});

t.test('a label-selected watch sees an object leave the selection as DELETED', async (t) => {
  const api = await startApi(t);
  await applyDocs(api, [deployment('web', 'reg/web:1', {}, { tier: 'front' })]);
  const seen = watch(api, { kind: 'deployments', labelSelector: 'tier=front' }, (ev) => ev.some((e) => e.type === 'DELETED'));
  await new Promise((r) => setTimeout(r, 200));
  await applyDocs(api, [deployment('web', 'reg/web:1', {}, { tier: 'back' })]);
  const events = await seen;
  t.same(events.map((e) => `${e.type} ${nameOf(e)}`), ['ADDED web', 'SYNCED ', 'DELETED web']);
});

t.test('prune deletes exactly what this apply set recorded and the files dropped', async (t) => {
  const api = await startApi(t);
  await applyDocs(api, [deployment('a', 'reg/a:1'), deployment('b', 'reg/b:1')], { applySet: 'mine' });
  // A stranger's object of the same kind, and one from another apply set.
  await applyDocs(api, [deployment('stranger', 'reg/s:1')]);
  await applyDocs(api, [deployment('theirs', 'reg/t:1')], { applySet: 'theirs' });
  const r = await applyDocs(api, [deployment('a', 'reg/a:1')], { applySet: 'mine', prune: true });
  t.same(r.map((x) => `${x.action} ${x.name}`), ['unchanged a', 'pruned b']);
  for (const name of ['a', 'stranger', 'theirs']) t.ok(await get(api, 'deployment', name), `${name} kept`);
  const gone = await call(api.cluster, api.cluster.Get, { kind: 'deployment', namespace: 'default', name: 'b' }).catch((e: grpc.ServiceError) => e);
  t.equal((gone as grpc.ServiceError).code, grpc.status.NOT_FOUND);

  // "a" deleted by hand and made again by someone else: not this set's object any more.
  await call(api.cluster, api.cluster.Delete, { kind: 'deployment', namespace: 'default', name: 'a' });
  await applyDocs(api, [deployment('a', 'reg/other:1')]);
  const r2 = await applyDocs(api, [], { applySet: 'mine', prune: true });
  t.same(r2, [], 'the same name with another uid is not pruned');
  t.ok(await get(api, 'deployment', 'a'));
});

t.test('a pod bound to a node is deleted gracefully; an unbound one at once', async (t) => {
  const api = await startApi(t);
  const pod = (name: string, nodeName?: string): Pod => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { containers: [{ name: 'c', image: 'reg/x:1' }], ...(nodeName ? { nodeName } : {}) },
  });
  await applyDocs(api, [pod('loose'), pod('bound', 'node-1')]);
  await call(api.cluster, api.cluster.Delete, { kind: 'pod', namespace: 'default', name: 'loose' });
  const res = await call(api.cluster, api.cluster.Delete, { kind: 'pod', namespace: 'default', name: 'bound' });
  const marked = JSON.parse(res!.deleted![0]!.json!) as Pod;
  t.ok(marked.metadata.deletionTimestamp, 'marked for deletion');
  t.ok((await get<Pod>(api, 'pod', 'bound')).metadata.deletionTimestamp, 'still there until its agent reports it gone');
  const gone = await call(api.cluster, api.cluster.Get, { kind: 'pod', namespace: 'default', name: 'loose' }).catch((e: grpc.ServiceError) => e);
  t.equal((gone as grpc.ServiceError).code, grpc.status.NOT_FOUND);
});

t.test('node API: register gives an epoch; a stale epoch is refused', async (t) => {
  const api = await startApi(t);
  const nodeDoc = { json: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { zone: 'a' } }, status: { capacity: { cpu: '2', memory: '1Gi', pods: '110' } } }) };
  const first = await call(api.node, api.node.Register, { node: nodeDoc });
  t.equal(first!.epoch, '1');
  t.ok(first!.renewIntervalMs! > 0);
  await call(api.node, api.node.RenewLease, { nodeName: 'node-1', epoch: first!.epoch });
  const second = await call(api.node, api.node.Register, { node: nodeDoc });
  t.equal(second!.epoch, '2', 'each registration starts a new epoch');
  const err = await call(api.node, api.node.RenewLease, { nodeName: 'node-1', epoch: first!.epoch }).catch((e: grpc.ServiceError) => e);
  t.equal((err as grpc.ServiceError).code, grpc.status.FAILED_PRECONDITION);
  t.equal((err as grpc.ServiceError).details, 'node "node-1": epoch 1 is stale (current 2): register again and resync');
  const node = await get(api, 'node', 'node-1', '');
  t.equal(node.metadata.labels?.zone, 'a');
  t.match((node as { status: { conditions: { type: string; status: string }[] } }).status.conditions, [{ type: 'Ready', status: 'True' }]);
  const badNode = new (loadClusterApi().berth.cluster.v1.Node)(api.controller.address, await nodeChannelCredentials(api.controller.ca, 'Bad_Name'));
  t.teardown(() => badNode.close());
  const bad = await call(badNode, badNode.Register, { node: { json: '{"metadata":{"name":"Bad_Name"}}' } }).catch((e: grpc.ServiceError) => e);
  t.equal((bad as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
});

t.test('the same API on a real etcd: apply, conflict, watch resume', async (t) => {
  const { startEtcd } = await import('../fixtures/etcd');
  const etcd = await startEtcd(t);
  const controller = await startController({ dataRoot: t.testdir(), listen: '127.0.0.1:0', store: `etcd://${etcd.endpoint}/berth-${process.pid}/`, controlLoops: false });
  t.teardown(() => controller.stop());
  const v1 = loadClusterApi().berth.cluster.v1;
  const api: Api = {
    controller,
    cluster: new v1.Cluster(controller.address, kubeconfigCredentials(controller.adminKubeconfig)),
    node: new v1.Node(controller.address, await nodeChannelCredentials(controller.ca, 'node-1')),
  };
  t.teardown(() => { api.cluster.close(); api.node.close(); });
  const [a] = await applyDocs(api, [deployment('a', 'reg/a:1')]);
  t.equal(a!.action, 'created');
  t.same((await applyDocs(api, [deployment('a', 'reg/a:1')])).map((r) => r.action), ['unchanged']);
  const seen = watch(api, { kind: 'deployments', resourceVersion: a!.object.metadata.resourceVersion! }, (ev) => ev.length >= 2);
  await applyDocs(api, [deployment('a', 'reg/a:2')]);
  await applyDocs(api, [deployment('b', 'reg/b:1')]);
  t.same((await seen).map((e) => `${e.type} ${nameOf(e)}`), ['MODIFIED a', 'ADDED b']);
  const stale = a!.object as Deployment;
  stale.spec.replicas = 9;
  const err = await call(api.cluster, api.cluster.Update, { json: JSON.stringify(stale) }).catch((e: grpc.ServiceError) => e);
  t.equal((err as grpc.ServiceError).code, grpc.status.ABORTED);
});

t.test('a watch whose client stops reading ends with RESOURCE_EXHAUSTED, not unbounded memory', async (t) => {
  const { openSqliteStore } = await import('../../controller/store');
  const { Registry } = await import('../../controller/objects');
  const { serveWatch, MAX_BACKLOG } = await import('../../controller/api/watch-stream');
  const store = await openSqliteStore(`${t.testdir()}/state.db`);
  t.teardown(() => store.close());
  const registry = new Registry(store, () => new Date());
  await registry.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  let queued = 0;
  const ended = new Promise<Error>((resolve) => {
    serveWatch(registry, 'Pod', {}, '', () => void queued++, resolve, () => queued);
  });
  for (let i = 0; i <= MAX_BACKLOG; i++) {
    await registry.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } } as Pod);
    if (queued > MAX_BACKLOG) break;
  }
  const err = await ended;
  t.match(err, { code: 'resource-exhausted', message: /^watch of Pod: the client is not reading \(4097 events waiting\): watch again from resource version \d+$/ });
});
