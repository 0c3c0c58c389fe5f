// Who may call the controller, over real TLS on loopback: every refusal with its exact message.
// No client certificate, a foreign CA (either way round), plaintext; join tokens expired, deleted,
// reused, wrong, or from another cluster; node A acting as node B in every Node call; a user with
// no binding. And what is allowed: a join, then the node's own calls.

import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { startController, type Controller } from '../../controller';
import { openClusterCa } from '../../controller/trust';
import { loadClusterApi, type ClusterClient, type NodeClient } from '../../proto/grpc';
import type { Pod } from '../../proto/resources';
import { formatJoinToken, parseJoinToken } from '../../proto/trust';
import { createCsr, generateKeyPair } from '../../proto/trust/x509';
import { pinnedCa } from '../../agent/node/credentials';
import { kubeconfigCredentials, nodeChannelCredentials, userChannelCredentials } from '../fixtures/credentials';

const api = () => loadClusterApi().berth.cluster.v1;

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown;
function call<Req, Res>(client: object, method: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res as Res))));
}
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: grpc.ServiceError) => ({ code: e.code, details: e.details }));

async function start(t: Test, options: { nodeCertificateValidityMs?: number } = {}): Promise<Controller> {
  const controller = await startController({ dataRoot: tempDir(t), listen: '127.0.0.1:0', controlLoops: false, ...options });
  t.teardown(() => controller.stop());
  return controller;
}

function clusterClient(t: Test, c: Controller, credentials: grpc.ChannelCredentials): ClusterClient {
  const client = new (api().Cluster)(c.address, credentials) as unknown as ClusterClient;
  t.teardown(() => client.close());
  return client;
}

function nodeClient(t: Test, c: Controller, credentials: grpc.ChannelCredentials): NodeClient {
  const client = new (api().Node)(c.address, credentials) as unknown as NodeClient;
  t.teardown(() => client.close());
  return client;
}

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-auth-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const listPods = (client: ClusterClient) => call(client, client.List, { kind: 'pods', namespace: 'default', labelSelector: '', fieldSelector: '' });

async function newToken(admin: ClusterClient, ttlSeconds = 600): Promise<string> {
  return (await call(admin, admin.CreateToken, { ttlSeconds, description: 'test' }))!.token!;
}

async function joinRequest(nodeName: string, token: string, cn = `system:node:${nodeName}`) {
  return { token, nodeName, csrPem: await createCsr(await generateKeyPair(), `CN=${cn}`) };
}

t.test('transport: TLS only, and only the cluster CA\'s certificates name a caller', async (t) => {
  const c = await start(t);
  const ca = Buffer.from(c.ca.certPem);

  const anonymous = clusterClient(t, c, grpc.credentials.createSsl(ca));
  t.same(await failure(listPods(anonymous)), {
    code: grpc.status.UNAUTHENTICATED,
    details: 'no client certificate signed by the cluster CA and no bearer token: use a kubeconfig from the controller (admin.kubeconfig, berth user create) or a service account token',
  }, 'no client certificate');
  const bearer = (token: string) => clusterClient(t, c, grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), grpc.credentials.createFromMetadataGenerator((_p, cb) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    cb(null, md);
  })));
  const forgedToken = await failure(listPods(bearer('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.')));
  t.equal(forgedToken.code, grpc.status.UNAUTHENTICATED, 'an unsigned token names nobody');
  t.match(forgedToken.details, /^the token is not valid here: /);

  const foreign = await openClusterCa(path.join(tempDir(t), 'pki'));
  const stranger = await foreign.issueClient({ commonName: 'berth-admin', organizations: ['system:masters'] });
  const forged = clusterClient(t, c, grpc.credentials.createSsl(ca, Buffer.from(stranger.keyPem), Buffer.from(stranger.certPem)));
  t.equal((await failure(listPods(forged))).code, grpc.status.UNAUTHENTICATED, 'a certificate from another CA, even naming the admin, names nobody');

  const misled = clusterClient(t, c, grpc.credentials.createSsl(Buffer.from(foreign.certPem)));
  const notTrusted = await failure(listPods(misled));
  t.equal(notTrusted.code, grpc.status.UNAVAILABLE, 'a client that trusts another CA does not talk to this controller');

  const plaintext = clusterClient(t, c, grpc.credentials.createInsecure());
  t.equal((await failure(listPods(plaintext))).code, grpc.status.UNAVAILABLE, 'plaintext gets nowhere');

  const admin = clusterClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  t.same((await listPods(admin))!.items, [], 'the admin kubeconfig works');
});

t.test('a user with no binding is refused in Kubernetes\' words', async (t) => {
  const c = await start(t);
  const alice = clusterClient(t, c, await userChannelCredentials(c.ca, 'alice', ['dev']));
  t.same(await failure(listPods(alice)), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
  });
  t.same(await failure(call(alice, alice.Get, { kind: 'deploy', namespace: 'shop', name: 'web' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" in the namespace "shop"',
  });
  t.same(await failure(call(alice, alice.List, { kind: 'nodes', namespace: '', labelSelector: '', fieldSelector: '' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope',
  });
  t.same(await failure(call(alice, alice.CreateToken, { ttlSeconds: 0, description: '' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'secrets is forbidden: User "alice" cannot create resource "secrets" in API group "" in the namespace "kube-system"',
  }, 'join tokens are governed as Kubernetes\' bootstrap token Secrets');
  const node = clusterClient(t, c, await nodeChannelCredentials(c.ca, 'n1'));
  t.equal((await failure(listPods(node))).code, grpc.status.PERMISSION_DENIED, 'a node has no business with the Cluster API');
});

t.test('join: a token buys one node certificate, once; every bad token is refused by name', async (t) => {
  const c = await start(t);
  const admin = clusterClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  const joiner = nodeClient(t, c, grpc.credentials.createSsl(Buffer.from(c.ca.certPem)));
  const join = (req: Awaited<ReturnType<typeof joinRequest>>) => call(joiner, joiner.Join, req);

  const token = await newToken(admin);
  t.equal(parseJoinToken(token).caPin, c.ca.pin, 'the token carries the CA\'s pin');
  const joined = await join(await joinRequest('n1', token));
  t.match(joined!.certificatePem, /^-----BEGIN CERTIFICATE-----/);
  t.equal(joined!.caPem, c.ca.certPem);
  const listed = (await call(admin, admin.ListTokens, {}))!.tokens!;
  t.same(listed.map((x) => [x.id, x.usedBy]), [[parseJoinToken(token).id, 'n1']], 'listed, used by n1; the secret is not shown');

  t.same(await failure(join(await joinRequest('n2', token))), {
    code: grpc.status.UNAUTHENTICATED,
    details: `join token ${parseJoinToken(token).id}: already used by node "n1" (a token joins one node: berth token create makes another)`,
  }, 'reused');

  const wrong = { ...parseJoinToken(await newToken(admin)) };
  t.same(await failure(join(await joinRequest('n3', formatJoinToken({ ...wrong, secret: 'x'.repeat(16) })))), {
    code: grpc.status.UNAUTHENTICATED, details: `join token ${wrong.id}: wrong secret`,
  }, 'a wrong secret');

  const deleted = await newToken(admin);
  await call(admin, admin.DeleteToken, { id: parseJoinToken(deleted).id });
  t.same(await failure(join(await joinRequest('n4', deleted))), {
    code: grpc.status.UNAUTHENTICATED,
    details: `join token ${parseJoinToken(deleted).id}: not known here (deleted, long expired, or made by another cluster)`,
  }, 'deleted');

  const expiring = await newToken(admin, 1);
  await new Promise((r) => setTimeout(r, 1100));
  const expired = await failure(join(await joinRequest('n5', expiring)));
  t.equal(expired.code, grpc.status.UNAUTHENTICATED);
  t.match(expired.details, new RegExp(`^join token ${parseJoinToken(expiring).id}: expired at \\d{4}-\\d\\d-\\d\\dT`), 'expired');

  const other = formatJoinToken({ ...parseJoinToken(await newToken(admin)), caPin: `sha256:${'0'.repeat(64)}` });
  t.same(await failure(join(await joinRequest('n6', other))), {
    code: grpc.status.UNAUTHENTICATED, details: `join token ${parseJoinToken(other).id}: made for another cluster (its CA hash is not this controller's)`,
  });
  t.same(await failure(join(await joinRequest('n7', 'K10abc'))), {
    code: grpc.status.INVALID_ARGUMENT,
    details: 'invalid join token: the CA hash is not 64 lower-case hex digits (expected K10<64 hex digits>::<6 characters>.<16 characters>, from berth token create)',
  });
  const unused = await newToken(admin);
  t.same(await failure(join(await joinRequest('n8', unused, 'system:node:n1'))), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'certificate request asks for "system:node:n1", but the caller may only be "system:node:n8"',
  }, 'a request for another node\'s name');
  t.same((await join(await joinRequest('n8', unused)))!.caPem, c.ca.certPem, 'a refused request did not spend the token');

  await t.rejects(pinnedCa(c.address, `sha256:${'1'.repeat(64)}`), { code: 'permission-denied', message: /did not present the CA the join token pins/ }, 'an agent refuses a controller without the pinned CA');
  t.equal(new X509Certificate(await pinnedCa(c.address, c.ca.pin)).fingerprint256, new X509Certificate(c.ca.certPem).fingerprint256, 'and takes the one with it');
});

t.test('node A acting as node B: refused in every Node call', async (t) => {
  const c = await start(t);
  const admin = clusterClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  const a = nodeClient(t, c, await nodeChannelCredentials(c.ca, 'node-a'));
  const b = nodeClient(t, c, await nodeChannelCredentials(c.ca, 'node-b'));
  const nodeDoc = (name: string) => ({ json: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }) });
  const regB = await call(b, b.Register, { node: nodeDoc('node-b') });
  await call(a, a.Register, { node: nodeDoc('node-a') });
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-b', namespace: 'default' }, spec: { nodeName: 'node-b', containers: [{ name: 'c', image: 'reg/x:1' }] } };
  await call(admin, admin.Apply, { objects: [{ json: JSON.stringify(pod) }], dryRun: false, applySet: '', prune: false });
  const live = JSON.parse((await call(admin, admin.Get, { kind: 'pod', namespace: 'default', name: 'on-b' }))!.json!) as Pod;

  const denied = (details: string) => ({ code: grpc.status.PERMISSION_DENIED, details });
  t.same(await failure(call(a, a.Register, { node: nodeDoc('node-b') })), denied('node "node-a" is not allowed to register node "node-b"'));
  t.same(await failure(call(a, a.RenewLease, { nodeName: 'node-b', epoch: regB!.epoch })), denied('node "node-a" is not allowed to renew the lease of node "node-b"'));
  t.same(await failure(call(a, a.UpdatePodStatus, { nodeName: 'node-b', epoch: regB!.epoch, namespace: 'default', name: 'on-b', uid: live.metadata.uid, statusJson: '{"phase":"Failed"}', terminated: false })),
    denied('node "node-a" is not allowed to update pod status for node "node-b"'));
  const event = (name: string, kind = 'Pod') => ({ json: JSON.stringify({ involvedObject: { kind, name, namespace: 'default' }, reason: 'Fake', message: 'x' }) });
  t.same(await failure(call(a, a.RecordEvent, { nodeName: 'node-a', event: event('on-b') })),
    denied('node "node-a" is not allowed to record events about pod default/on-b: it is bound to node "node-b"'));
  t.same(await failure(call(a, a.RecordEvent, { nodeName: 'node-a', event: event('node-b', 'Node') })), denied('node "node-a" is not allowed to record events about node "node-b"'));
  t.same(await failure(call(a, a.RecordEvent, { nodeName: 'node-a', event: event('web', 'Deployment') })), denied('node "node-a" may record events about its Node and its pods only (not Deployment)'));
  t.same(await failure(call(a, a.RenewCertificate, { csrPem: await createCsr(await generateKeyPair(), 'CN=system:node:node-b') })),
    denied('certificate request asks for "system:node:node-b", but the caller may only be "system:node:node-a"'));

  const watch = (client: NodeClient, nodeName: string, epoch: string) => new Promise<{ code: number; details: string }>((resolve) => {
    const w = client.watchPods({ nodeName, epoch, resourceVersion: '' });
    w.on('data', () => { resolve({ code: 0, details: 'data' }); w.cancel(); });
    w.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
  });
  t.same(await watch(a, 'node-b', regB!.epoch!), denied('node "node-a" is not allowed to watch the pods of node "node-b"'), 'the epoch is no secret, and no longer a key');
  t.same(await watch(b, 'node-b', regB!.epoch!), { code: 0, details: 'data' }, 'node B watches its own pods');

  const tunnel = await new Promise<{ code: number; details: string }>((resolve) => {
    const s = a.tunnel();
    s.on('data', () => undefined);
    s.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    s.write({ id: 0, hello: { nodeName: 'node-b', epoch: regB!.epoch } });
  });
  t.same(tunnel, denied('node "node-a" is not allowed to open the tunnel of node "node-b"'));

  const user = nodeClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  t.same(await failure(call(user, user.Register, { node: nodeDoc('node-a') })),
    denied('User "berth-admin" cannot call Node.Register: only nodes (certificates for system:node:NAME in group system:nodes) may'), 'not even the admin is a node');
  const stillB = JSON.parse((await call(admin, admin.Get, { kind: 'pod', namespace: 'default', name: 'on-b' }))!.json!) as Pod;
  t.equal(stillB.status?.phase, undefined, 'no status landed');
});

t.test('two controllers on one etcd share the CA: a credential of one works on the other', async (t) => {
  const { startEtcd } = await import('../fixtures/etcd');
  const etcd = await startEtcd(t);
  const store = `etcd://${etcd.endpoint}/berth-ca-${process.pid}/`;
  const first = await startController({ dataRoot: tempDir(t), listen: '127.0.0.1:0', store, controlLoops: false });
  t.teardown(() => first.stop());
  const second = await startController({ dataRoot: tempDir(t), listen: '127.0.0.1:0', store, controlLoops: false });
  t.teardown(() => second.stop());
  t.equal(second.ca.certPem, first.ca.certPem);
  const admin = new (api().Cluster)(second.address, kubeconfigCredentials(first.adminKubeconfig)) as unknown as ClusterClient;
  t.teardown(() => admin.close());
  t.same((await listPods(admin))!.items, []);
});

t.test('RBAC through the API: a binding lets a user in, within its namespace; can-i answers the same', async (t) => {
  const c = await start(t);
  const admin = clusterClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  const apply = (client: ClusterClient, docs: object[]) => call(client, client.Apply, { objects: docs.map((d) => ({ json: JSON.stringify(d) })), dryRun: false, applySet: '', prune: false });
  await apply(admin, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-edit', namespace: 'shop' },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    },
  ]);
  const alice = clusterClient(t, c, await userChannelCredentials(c.ca, 'alice'));
  const pod = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'reg/x:1' }] } });
  // The binding reaches the controller's cache a moment after the apply returns.
  for (let i = 0; i < 50; i++) {
    if ((await failure(call(alice, alice.List, { kind: 'pods', namespace: 'shop', labelSelector: '', fieldSelector: '' })).catch(() => ({ code: 0 }))).code === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.same((await call(alice, alice.List, { kind: 'pods', namespace: 'shop', labelSelector: '', fieldSelector: '' }))!.items, []);
  t.same((await apply(alice, [pod('shop', 'mine')]))!.results!.map((r) => r.action), ['created'], 'edit creates pods in shop');
  t.same(await failure(apply(alice, [pod('shop', 'two'), pod('default', 'theirs')])), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'pods "theirs" is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"',
  });
  t.equal((await failure(call(admin, admin.Get, { kind: 'pod', namespace: 'shop', name: 'two' }))).code, grpc.status.NOT_FOUND, 'a refused apply stores nothing of its request');
  t.same(await failure(call(alice, alice.Delete, { kind: 'rolebinding', namespace: 'shop', name: 'alice-edit' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'rolebindings.rbac.authorization.k8s.io "alice-edit" is forbidden: User "alice" cannot delete resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "shop"',
  }, 'edit cannot change who may do what');

  const review = (client: ClusterClient, verb: string, resource: string, namespace: string, user = '') =>
    call(client, client.ReviewAccess, { verb, resource, namespace, name: '', user, groups: [] });
  t.match(await review(alice, 'delete', 'pods', 'shop'), { allowed: true, user: 'alice', reason: 'RBAC: allowed by RoleBinding "alice-edit/shop" of ClusterRole "edit" to User "alice"' });
  t.match(await review(alice, 'get', 'pods/log', 'shop'), { allowed: true });
  t.match(await review(alice, 'list', 'deploy', 'default'), { allowed: false });
  t.match(await review(admin, 'create', 'deployments.apps', 'shop', 'alice'), { allowed: true, user: 'alice' }, '--as: the admin asks for alice');
  t.same(await failure(review(alice, 'list', 'pods', 'shop', 'berth-admin')), {
    code: grpc.status.PERMISSION_DENIED,
    details: 'users "berth-admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
  }, 'alice may not ask on behalf of others');
});

t.test('what a node reports is checked: a status that is not a status is refused, a long event message cut', async (t) => {
  const c = await start(t);
  const admin = clusterClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  const b = nodeClient(t, c, await nodeChannelCredentials(c.ca, 'node-b'));
  const reg = await call(b, b.Register, { node: { json: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' } }) } });
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'node-b', containers: [{ name: 'c', image: 'reg/x:1' }] } };
  await call(admin, admin.Apply, { objects: [{ json: JSON.stringify(pod) }], dryRun: false, applySet: '', prune: false });
  const uid = (JSON.parse((await call(admin, admin.Get, { kind: 'pod', namespace: 'default', name: 'p' }))!.json!) as Pod).metadata.uid;
  const report = (statusJson: string) => failure(call(b, b.UpdatePodStatus, { nodeName: 'node-b', epoch: reg!.epoch, namespace: 'default', name: 'p', uid, statusJson, terminated: false }));
  t.same(await report('{"phase":"Exploded"}'), { code: grpc.status.INVALID_ARGUMENT, details: 'status of pod default/p: phase: must be one of Pending, Running, Succeeded, Failed, Unknown' });
  t.same(await report('{"containerStatuses":[{"name":"c","ready":"yes","restartCount":0}]}'), { code: grpc.status.INVALID_ARGUMENT, details: 'status of pod default/p: containerStatuses[0]: must have a name, ready (true or false) and a restartCount of 0 or more' });
  t.same(await report(JSON.stringify({ message: 'x'.repeat(70_000) })), { code: grpc.status.INVALID_ARGUMENT, details: 'status of pod default/p: 70014 bytes, more than a status may be (65536)' });
  await call(b, b.RecordEvent, { nodeName: 'node-b', event: { json: JSON.stringify({ involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Chatty', message: 'y'.repeat(5000) }) } });
  const events = JSON.parse(JSON.stringify((await call(admin, admin.List, { kind: 'events', namespace: 'default', labelSelector: '', fieldSelector: '' }))!.items!.map((i) => JSON.parse(i.json!))));
  const chatty = events.find((e: { reason: string }) => e.reason === 'Chatty');
  t.equal(chatty.message.length, 1024, 'cut to 1 KiB, as Kubernetes');
  t.same(await failure(call(b, b.RecordEvent, { nodeName: 'node-b', event: { json: JSON.stringify({ involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'not a reason!' }) } })),
    { code: grpc.status.INVALID_ARGUMENT, details: 'event: reason must be a CamelCase word of up to 128 letters and digits' });
});

t.test("a node reads only the ConfigMaps and Secrets its own pods name (the Node authorizer's graph)", async (t) => {
  const c = await start(t);
  const admin = clusterClient(t, c, kubeconfigCredentials(c.adminKubeconfig));
  const a = nodeClient(t, c, await nodeChannelCredentials(c.ca, 'node-a'));
  const b = nodeClient(t, c, await nodeChannelCredentials(c.ca, 'node-b'));
  const nodeDoc = (name: string) => ({ json: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }) });
  const regA = await call(a, a.Register, { node: nodeDoc('node-a') });
  const regB = await call(b, b.Register, { node: nodeDoc('node-b') });
  const docs = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, stringData: { password: 'x' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other', namespace: 'default' }, stringData: { token: 'y' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { mode: 'fast' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-a', namespace: 'default' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'reg/x:1', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], envFrom: [{ configMapRef: { name: 'app' } }] }] } },
  ];
  await call(admin, admin.Apply, { objects: docs.map((d) => ({ json: JSON.stringify(d) })), dryRun: false, applySet: '', prune: false });
  const read = (client: NodeClient, nodeName: string, epoch: string, kind: string, name: string) =>
    call(client, client.GetPodConfig, { nodeName, epoch, kind, namespace: 'default', name }).then((r) => JSON.parse(r!.json!) as { metadata: { name: string } });
  t.equal((await read(a, 'node-a', regA!.epoch!, 'Secret', 'db')).metadata.name, 'db', "its pod's Secret");
  t.equal((await read(a, 'node-a', regA!.epoch!, 'ConfigMap', 'app')).metadata.name, 'app', "its pod's ConfigMap");
  const denied = (details: string) => ({ code: grpc.status.PERMISSION_DENIED, details });
  t.same(await failure(read(a, 'node-a', regA!.epoch!, 'Secret', 'other')), denied('node "node-a" may not read secret default/other: no pod bound to it refers to it'));
  t.same(await failure(read(b, 'node-b', regB!.epoch!, 'Secret', 'db')), denied('node "node-b" may not read secret default/db: no pod bound to it refers to it'), "another node's pod's Secret");
  t.same(await failure(read(b, 'node-a', regB!.epoch!, 'Secret', 'db')), denied('node "node-b" is not allowed to read pod configuration for node "node-a"'));
  t.equal((await failure(read(a, 'node-a', regA!.epoch!, 'Pod', 'on-a'))).code, grpc.status.INVALID_ARGUMENT, 'ConfigMaps and Secrets only');
});
