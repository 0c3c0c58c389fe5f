// LimitRange and ResourceQuota admission on a real SQLite store, with the cases of Kubernetes'
// "configure default memory requests", "configure minimum and maximum" and "quota" tasks: defaults
// filled in (and kept by a later apply), bounds refused in Kubernetes' words, a claim's storage
// bounds, a quota's compute sums and object counts with its exceeded and must-specify messages,
// status.used raised on admission and recounted from the store, scopes.

import t from 'tap';
import { applyOne, openRegistry } from '../fixtures/sqlite-registry';
import { quotaUsed, usageOf } from '../../controller/admission';
import type { LimitRange, Pod, ResourceQuota } from '../../proto/resources';

const pod = (name: string, resources?: object, extra: object = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'ctr', image: 'x', ...(resources ? { resources } : {}) }], ...extra },
});
const limitRange = (limits: object[]) => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits' }, spec: { limits } });
const quota = (name: string, hard: object, extra: object = {}) => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard, ...extra } });

t.test('LimitRange defaults: a limit and a request filled in, the user\'s kept, a limit alone is the request', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, limitRange([{ type: 'Container', default: { memory: '512Mi' }, defaultRequest: { memory: '256Mi' } }]));
  const [made] = await applyOne(registry, pod('default-mem-demo'));
  const p = made!.object as Pod;
  t.same(p.spec.containers[0]!.resources, { requests: { memory: '256Mi' }, limits: { memory: '512Mi' } });
  t.equal(p.metadata.annotations?.['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: memory request for container ctr; memory limit for container ctr');
  const [again] = await applyOne(registry, pod('default-mem-demo'));
  t.equal(again!.action, 'unchanged', 'what the LimitRange filled in is no change of the spec');
  const [limitOnly] = await applyOne(registry, pod('default-mem-demo-2', { limits: { memory: '1Gi' } }));
  t.same((limitOnly!.object as Pod).spec.containers[0]!.resources, { requests: { memory: '1Gi' }, limits: { memory: '1Gi' } }, 'the request defaults to the limit, not to defaultRequest');
  const [requestOnly] = await applyOne(registry, pod('default-mem-demo-3', { requests: { memory: '128Mi' } }));
  t.same((requestOnly!.object as Pod).spec.containers[0]!.resources, { requests: { memory: '128Mi' }, limits: { memory: '512Mi' } });
});

t.test('LimitRange items are defaulted as Kubernetes does: the default limit from max, the default request from it', async (t) => {
  const registry = await openRegistry(t);
  const [made] = await applyOne(registry, limitRange([{ type: 'Container', max: { memory: '1Gi' }, min: { memory: '500Mi' } }]));
  t.same((made!.object as LimitRange).spec.limits[0], { type: 'Container', max: { memory: '1Gi' }, min: { memory: '500Mi' }, default: { memory: '1Gi' }, defaultRequest: { memory: '1Gi' } });
  await t.rejects(applyOne(registry, limitRange([{ type: 'Container', max: { cpu: '1' }, min: { cpu: '2' } }])), { message: /spec\.limits\[0\]\.min\.cpu: min value 2 is greater than max value 1/ });
  await t.rejects(applyOne(registry, limitRange([{ type: 'Pod', default: { cpu: '1' } }])), { message: /spec\.limits\[0\]\.default: may not be specified when `type` is 'Pod'/ });
  await t.rejects(applyOne(registry, limitRange([{ type: 'Container', max: { cpu: '500m' }, defaultRequest: { cpu: '1' } }])),
    { message: /spec\.limits\[0\]\.defaultRequest\.cpu: default request value 1 is greater than default limit value 500m/ }, 'checked with the default limit taken from max');
});

t.test('LimitRange bounds: each breach refused in Kubernetes\' words, nothing stored', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, limitRange([
    { type: 'Container', max: { memory: '1Gi', cpu: '800m' }, min: { memory: '500Mi', cpu: '200m' }, maxLimitRequestRatio: { memory: '2' } },
    { type: 'Pod', max: { cpu: '1' } },
    { type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '2Gi' } },
  ]));
  const refused = async (name: string, resources: object, message: string) => {
    await t.rejects(applyOne(registry, pod(name, resources)), { message }, message);
    t.equal(await registry.tryGet('Pod', 'default', name), undefined, `${name}: nothing stored`);
  };
  await refused('over', { limits: { memory: '1.5Gi', cpu: '800m' }, requests: { memory: '800Mi', cpu: '300m' } },
    'pods "over" is forbidden: maximum memory usage per Container is 1Gi, but limit is 1536Mi');
  await refused('under', { limits: { memory: '800Mi', cpu: '800m' }, requests: { memory: '100Mi', cpu: '300m' } },
    'pods "under" is forbidden: [minimum memory usage per Container is 500Mi, but request is 100Mi, memory max limit to request ratio per Container is 2, but provided ratio is 8.000000]');
  await refused('cpu-low', { limits: { cpu: '100m', memory: '600Mi' } },
    'pods "cpu-low" is forbidden: minimum cpu usage per Container is 200m, but request is 100m');
  // Defaults from max and min fill a bare container: within bounds.
  const [bare] = await applyOne(registry, pod('bare'));
  t.same((bare!.object as Pod).spec.containers[0]!.resources, { requests: { memory: '1Gi', cpu: '800m' }, limits: { memory: '1Gi', cpu: '800m' } });
  // Two containers within the Container bounds exceed the Pod's.
  await t.rejects(applyOne(registry, { ...pod('two'), spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x' }] } }),
    { message: 'pods "two" is forbidden: maximum cpu usage per Pod is 1, but limit is 1600m' });
  const claim = (name: string, storage: string) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } } });
  await t.rejects(applyOne(registry, claim('big', '5Gi')), { message: 'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi' });
  await t.rejects(applyOne(registry, claim('small', '500Mi')), { message: 'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi' });
  t.equal((await applyOne(registry, claim('fits', '1Gi')))[0]!.action, 'created');
});

t.test('ResourceQuota: compute sums, the exceeded and must-specify messages, status.used', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, quota('mem-cpu-demo', { 'requests.cpu': '1', 'requests.memory': '1Gi', 'limits.cpu': '2', 'limits.memory': '2Gi' }));
  await applyOne(registry, pod('quota-mem-cpu-demo', { limits: { memory: '800Mi', cpu: '800m' }, requests: { memory: '600Mi', cpu: '400m' } }));
  const charged = await registry.get<ResourceQuota>('ResourceQuota', 'default', 'mem-cpu-demo');
  t.same(charged.status?.used, { 'requests.cpu': '400m', 'requests.memory': '600Mi', 'limits.cpu': '800m', 'limits.memory': '800Mi' }, 'admission charged it');
  await t.rejects(applyOne(registry, pod('quota-mem-cpu-demo-2', { limits: { memory: '1Gi', cpu: '800m' }, requests: { memory: '700Mi', cpu: '400m' } })),
    { message: 'pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi' });
  await t.rejects(applyOne(registry, pod('bare')),
    { message: 'pods "bare" is forbidden: failed quota: mem-cpu-demo: must specify limits.cpu for: ctr; limits.memory for: ctr; requests.cpu for: ctr; requests.memory for: ctr' });
  t.same((await registry.get<ResourceQuota>('ResourceQuota', 'default', 'mem-cpu-demo')).status?.used, charged.status?.used, 'refused pods charge nothing');
  // Deleted (unbound: at once), recounted from the store.
  await registry.delete('Pod', 'default', 'quota-mem-cpu-demo');
  t.same(Object.fromEntries((await registry.liveQuotaUsage(charged))), { 'requests.cpu': 0, 'requests.memory': 0, 'limits.cpu': 0, 'limits.memory': 0 });
});

t.test('ResourceQuota: object counts, a new quota counted from what is there, scopes', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, pod('one'));
  await applyOne(registry, quota('pod-demo', { pods: '2', 'count/deployments.apps': '1', configmaps: '1' }));
  await applyOne(registry, pod('two'));
  await t.rejects(applyOne(registry, pod('three')), { message: 'pods "three" is forbidden: exceeded quota: pod-demo, requested: pods=1, used: pods=2, limited: pods=2' });
  const deployment = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } });
  await applyOne(registry, deployment('a'));
  await t.rejects(applyOne(registry, deployment('b')), { message: /deployments "b" is forbidden: exceeded quota: pod-demo, requested: count\/deployments.apps=1, used: count\/deployments.apps=1, limited: count\/deployments.apps=1/ });
  await applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: {} });
  await t.rejects(applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c2' }, data: {} }), { message: /configmaps "c2" is forbidden: exceeded quota/ });

  // Scoped: a BestEffort quota counts only pods without requests or limits.
  const scoped = quota('best-effort', { pods: '1' }, { scopes: ['BestEffort'] }) as unknown as ResourceQuota;
  scoped.metadata.namespace = 'default';
  const be = pod('be') as unknown as Pod;
  const burstable = pod('burst', { requests: { cpu: '100m' } }) as unknown as Pod;
  for (const p of [be, burstable]) p.metadata.namespace = 'default';
  t.same(Object.fromEntries(quotaUsed(scoped, [be, burstable])), { pods: 1 });
  t.same(Object.fromEntries(usageOf({ ...be, status: { phase: 'Succeeded' } })), {}, 'an ended pod uses nothing');
  const gpuOnly = pod('gpu', { limits: { 'example.com/dongle': '1' } }) as unknown as Pod;
  gpuOnly.metadata.namespace = 'default';
  t.same(Object.fromEntries(quotaUsed(scoped, [gpuOnly])), { pods: 1 }, 'an extended resource alone leaves a pod best effort (QoS looks at cpu and memory)');
});

t.test('ResourceQuota on updates: what an update adds is charged (a Service turned LoadBalancer)', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, quota('lb', { 'services.loadbalancers': '0', 'services.nodeports': '1' }));
  const svc = (type: string, ports: number[]) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type, selector: { app: 'web' }, ports: ports.map((port) => ({ name: `p${port}`, port })) } });
  t.equal((await applyOne(registry, svc('ClusterIP', [80, 81])))[0]!.action, 'created');
  await t.rejects(applyOne(registry, svc('LoadBalancer', [80])), { message: 'services "web" is forbidden: exceeded quota: lb, requested: services.loadbalancers=1, used: services.loadbalancers=0, limited: services.loadbalancers=0' });
  await t.rejects(applyOne(registry, svc('NodePort', [80, 81])), { message: /exceeded quota: lb, requested: services\.nodeports=2, used: services\.nodeports=0, limited: services\.nodeports=1/ });
  t.equal((await applyOne(registry, svc('NodePort', [80])))[0]!.action, 'configured', 'one node port fits');
  t.equal((await registry.get<ResourceQuota>('ResourceQuota', 'default', 'lb')).status?.used?.['services.nodeports'], '1');
});

t.test('ResourceQuota of an extended resource: requests.<name>', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, quota('gpus', { 'requests.example.com/dongle': '2' }));
  const wants = (name: string, n: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'example.com/dongle': n } } }] } });
  await applyOne(registry, wants('a', '2'));
  await t.rejects(applyOne(registry, wants('b', '1')), { message: 'pods "b" is forbidden: exceeded quota: gpus, requested: requests.example.com/dongle=1, used: requests.example.com/dongle=2, limited: requests.example.com/dongle=2' });
  t.equal((await applyOne(registry, { ...wants('c', '1'), spec: { containers: [{ name: 'c', image: 'x' }] } }))[0]!.action, 'created', 'a pod without any is not counted');
});

t.test('ResourceQuota scoped to a VolumeAttributesClass counts that class\'s claims only (the documentation\'s quota-vac)', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, quota('gold', { 'requests.storage': '10Gi', persistentvolumeclaims: '1' }, { scopeSelector: { matchExpressions: [{ scopeName: 'VolumeAttributesClass', operator: 'In', values: ['gold'] }] } }));
  const claim = (name: string, vac?: string) => ({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', ...(vac ? { volumeAttributesClassName: vac } : {}) },
  });
  t.equal((await applyOne(registry, claim('g1', 'gold')))[0]!.action, 'created');
  await t.rejects(applyOne(registry, claim('g2', 'gold')), { message: /exceeded quota: gold, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=1, limited: persistentvolumeclaims=1/ }, 'a second gold claim is over the count');
  t.equal((await applyOne(registry, claim('s1', 'silver')))[0]!.action, 'created', 'another class is not counted');
  t.equal((await applyOne(registry, claim('none')))[0]!.action, 'created', 'nor a claim without one');
  t.equal((await applyOne(registry, pod('p')))[0]!.action, 'created', 'nor pods');
  const stored = await registry.get<ResourceQuota>('ResourceQuota', 'default', 'gold');
  t.same(stored.status?.used, { 'requests.storage': '1Gi', persistentvolumeclaims: '1' });
});
