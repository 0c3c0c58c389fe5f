// The garbage collector's planner: orphans (controller owner gone, by uid) are deleted, and what
// they control with them, owners first.

import t from 'tap';
import type { Deployment, Node, Pod, ReplicaSet, Resource } from '../../proto/resources';
import { plan } from '../../controller/controllers/gc';
import { deepFreeze } from '../fixtures/frozen';


const owner = (kind: string, name: string, uid: string) => [{ apiVersion: kind === 'Deployment' || kind === 'ReplicaSet' ? 'apps/v1' : 'v1', kind, name, uid, controller: true }];

const deploy = (name: string, uid: string): Deployment => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default', uid },
  spec: { selector: { matchLabels: { app: name } }, template: { spec: { containers: [] } } },
});
const rs = (name: string, uid: string, ownerUid?: string, ns = 'default'): ReplicaSet => ({
  apiVersion: 'apps/v1', kind: 'ReplicaSet',
  metadata: { name, namespace: ns, uid, resourceVersion: '7', ...(ownerUid ? { ownerReferences: owner('Deployment', 'web', ownerUid) } : {}) },
  spec: { selector: {}, template: { spec: { containers: [] } } },
});
const pod = (name: string, uid: string | undefined, ownerUid?: string, o: { deleting?: boolean; ownerKind?: string; controller?: boolean; ns?: string } = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name, namespace: o.ns ?? 'default', ...(uid ? { uid } : {}),
    ...(ownerUid ? { ownerReferences: [{ ...owner(o.ownerKind ?? 'ReplicaSet', 'x', ownerUid)[0]!, controller: o.controller ?? true }] } : {}),
    ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
  },
  spec: { containers: [] },
});

const deleted = (objects: Resource[]) => plan(deepFreeze(structuredClone(objects))).actions.map((a) => `${a.kind}/${a.object.name}`);

t.test('nothing is deleted while every owner exists', async (t) => {
  t.same(deleted([deploy('web', 'd1'), rs('web-a', 'r1', 'd1'), pod('web-a-1', 'p1', 'r1'), pod('bare', 'p2')]), []);
});

t.test('a Deployment gone: its ReplicaSets, then their pods', async (t) => {
  const objects = [pod('web-a-1', 'p1', 'r1'), pod('web-b-1', 'p2', 'r2'), rs('web-a', 'r1', 'd1'), rs('web-b', 'r2', 'd1'), deploy('api', 'd2'), rs('api-a', 'r3', 'd2'), pod('api-a-1', 'p3', 'r3')];
  t.same(deleted(objects), ['ReplicaSet/web-a', 'ReplicaSet/web-b', 'Pod/web-a-1', 'Pod/web-b-1'], 'owners first, the live Deployment untouched');
  const [first] = plan(deepFreeze(structuredClone(objects))).actions;
  t.same(first, {
    type: 'delete-orphan', kind: 'ReplicaSet', object: { namespace: 'default', name: 'web-a', uid: 'r1', resourceVersion: '7' },
    owner: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true },
  });
});

t.test('owners are matched by uid: a Deployment recreated under the same name does not adopt', async (t) => {
  t.same(deleted([deploy('web', 'd-new'), rs('web-a', 'r1', 'd-old'), pod('web-a-1', 'p1', 'r1')]), ['ReplicaSet/web-a', 'Pod/web-a-1']);
});

t.test('a ReplicaSet gone: its pods', async (t) => {
  t.same(deleted([deploy('web', 'd1'), pod('orphan', 'p1', 'r-gone'), pod('kept', 'p2', 'r1'), rs('web-a', 'r1', 'd1')]), ['Pod/orphan']);
});

t.test('only the controller reference counts; pods already being deleted are not deleted again', async (t) => {
  t.same(deleted([pod('not-controlled', 'p1', 'r-gone', { controller: false })]), []);
  t.same(deleted([pod('going', 'p1', 'r-gone', { deleting: true })]), []);
  // A ReplicaSet already being deleted still takes its pods along.
  const dying = { ...rs('web-a', 'r1', 'd-gone'), metadata: { ...rs('web-a', 'r1', 'd-gone').metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } };
  t.same(deleted([dying, pod('web-a-1', 'p1', 'r1')]), ['Pod/web-a-1']);
});

t.test('a namespaced owner must be in the same namespace; cluster-scoped owners are found anywhere', async (t) => {
  t.same(deleted([rs('web-a', 'r1', undefined, 'other'), pod('p', 'p1', 'r1')]), ['Pod/p']);
  const n: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'n-uid' } };
  t.same(deleted([n, pod('mirror', 'p1', 'n-uid', { ownerKind: 'Node', ns: 'kube' })]), []);
});

t.test('objects without a uid are decided once (no endless cascade)', async (t) => {
  t.same(deleted([pod('a', undefined, 'gone'), pod('b', undefined, 'gone')]), ['Pod/a', 'Pod/b']);
});

t.test('deep chains cascade in one plan, level by level', async (t) => {
  const chain = [pod('leaf', 'p1', 'r1'), rs('mid', 'r1', 'd-gone')];
  t.same(deleted(chain), ['ReplicaSet/mid', 'Pod/leaf']);
  t.same(deleted([...chain].reverse()), ['ReplicaSet/mid', 'Pod/leaf']);
});
