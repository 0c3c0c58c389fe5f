// What the registry and apply decide for the new kinds, on a real SQLite store: a pod's priority
// from its PriorityClass (or the global default; an unknown class refused in Kubernetes' words),
// kept by a later apply; scheduling gates that may be taken away but not added; a claim given the
// default StorageClass, keeping what the binder set across an apply, its spec otherwise immutable.

import t from 'tap';
import { applyOne, openRegistry } from '../fixtures/sqlite-registry';
import type { PersistentVolumeClaim, Pod } from '../../proto/resources';

const pod = (name: string, spec: Partial<Pod['spec']> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } });

t.test('priority: the class named, the global default, an unknown class refused; a later apply keeps it', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'Never' });
  t.equal((await registry.create(pod('plain') as Pod)).spec.priority, 0, 'no class, no default: 0');
  await applyOne(registry, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'normal' }, value: 100, globalDefault: true });
  const defaulted = await registry.create(pod('defaulted') as Pod);
  t.match(defaulted.spec, { priority: 100, priorityClassName: 'normal', preemptionPolicy: 'PreemptLowerPriority' });
  const [high] = await applyOne(registry, pod('high', { priorityClassName: 'high' }));
  t.match((high!.object as Pod).spec, { priority: 1000, preemptionPolicy: 'Never' });
  const [again] = await applyOne(registry, pod('high', { priorityClassName: 'high' }));
  t.equal(again!.action, 'unchanged', "what admission resolved is no change of the pod's spec");
  await t.rejects(applyOne(registry, pod('lost', { priorityClassName: 'nope' })), { message: /pods "lost" is forbidden: no PriorityClass with name nope was found/ });
  t.equal(await registry.tryGet('Pod', 'default', 'lost'), undefined, 'nothing stored');
});

t.test('scheduling gates: taken away by an apply, never added', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, pod('gated', { schedulingGates: [{ name: 'a' }, { name: 'b' }] }));
  const [one] = await applyOne(registry, pod('gated', { schedulingGates: [{ name: 'b' }] }));
  t.equal(one!.action, 'configured');
  t.same((one!.object as Pod).spec.schedulingGates, [{ name: 'b' }]);
  const [none] = await applyOne(registry, pod('gated'));
  t.notOk((none!.object as Pod).spec.schedulingGates, 'all gone');
  await t.rejects(applyOne(registry, pod('gated', { schedulingGates: [{ name: 'c' }] })), { message: /spec cannot change after creation/ });
});

t.test('claims: the default class, what the binder set kept, the spec otherwise immutable', async (t) => {
  const registry = await openRegistry(t);
  const claim = (spec: object) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec } });
  await applyOne(registry, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'example.com/fast' });
  const [made] = await applyOne(registry, claim({}));
  t.equal((made!.object as PersistentVolumeClaim).spec.storageClassName, 'fast', 'the default class');
  await registry.mutate<PersistentVolumeClaim>('PersistentVolumeClaim', 'default', 'data', (c) => ({ ...c, spec: { ...c.spec, volumeName: 'pv-1' } }));
  const [again] = await applyOne(registry, claim({}));
  t.equal(again!.action, 'unchanged');
  t.match((again!.object as PersistentVolumeClaim).spec, { volumeName: 'pv-1', storageClassName: 'fast' });
  await t.rejects(applyOne(registry, claim({ accessModes: ['ReadWriteMany'] })), { message: /PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation/ });
  await t.rejects(applyOne(registry, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'example.com/other' }), { message: /provisioner: Forbidden: updates to provisioner are forbidden/ });
  const [classless] = await applyOne(registry, { ...claim({ storageClassName: '' }), metadata: { name: 'static' } });
  t.equal((classless!.object as PersistentVolumeClaim).spec.storageClassName, '', '"" stays: only volumes without a class');
});
