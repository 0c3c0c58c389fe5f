// Services' cluster IPs and node ports through the registry, on real SQLite and etcd stores: each
// is taken once (a requested one that is taken is refused with Kubernetes' message, nothing
// stored), kept across an apply that does not name it, given back on delete and when the write
// fails, and two registries on one etcd racing for one address never both get it.

import t, { type Test } from 'tap';
import { apply, ensureNamespace, Registry } from '../../controller/objects';
import { ServiceAllocator, serviceNetworkOptions } from '../../controller/services';
import { openStore, type Store } from '../../controller/store';
import type { Service } from '../../proto/resources';
import { withDefaults } from '../../proto/resources';
import { startEtcd } from '../fixtures/etcd';

async function openRegistry(t: Test, store?: Store, cidr = '10.43.0.0/16', ports = '30000-32767'): Promise<{ registry: Registry; allocator: ServiceAllocator; store: Store }> {
  if (!store) {
    store = await openStore('sqlite', t.testdir());
    const opened = store;
    t.teardown(() => opened.close());
  }
  const allocator = new ServiceAllocator(store, serviceNetworkOptions(cidr, ports));
  const registry = new Registry(store, () => new Date(), undefined, allocator);
  await ensureNamespace(registry, 'default');
  return { registry, allocator, store };
}

const service = (name: string, spec: Partial<Service['spec']> = {}): Service =>
  withDefaults({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } } as Service);

const holds = async (store: Store) => (await store.list('/berth/allocations/')).items.map((kv) => kv.key.replace('/berth/allocations/', '')).sort();

t.test('a cluster IP of the service CIDR, once; a taken one refused with Kubernetes\' message', async (t) => {
  const { registry, store } = await openRegistry(t);
  const a = await registry.create(service('a'));
  t.match(a.spec.clusterIP, /^10\.43\.\d+\.\d+$/, 'allocated from --service-cidr');
  t.same(a.spec.clusterIPs, [a.spec.clusterIP]);
  t.not(a.spec.clusterIP, '10.43.0.1', "the first address is the API's");
  const b = await registry.create(service('b', { clusterIP: '10.43.7.7' }));
  t.equal(b.spec.clusterIP, '10.43.7.7', 'a requested free address is given');
  await t.rejects(registry.create(service('c', { clusterIP: '10.43.7.7' })), {
    code: 'invalid-argument',
    message: 'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.7.7"}: failed to allocate IP 10.43.7.7: provided IP is already allocated',
  });
  t.equal(await registry.tryGet('Service', 'default', 'c'), undefined, 'nothing stored');
  await t.rejects(registry.create(service('d', { clusterIP: '192.168.0.9' })), {
    message: /failed to allocate IP 192\.168\.0\.9: the provided IP \(192\.168\.0\.9\) is not in the valid range\. The range of valid IPs is 10\.43\.0\.0\/16/,
  });
  const headless = await registry.create(service('h', { clusterIP: 'None' }));
  t.equal(headless.spec.clusterIP, 'None', 'headless takes no address');
  const ext = await registry.create(service('e', { type: 'ExternalName', externalName: 'db.example.com', ports: [] }));
  t.equal(ext.spec.clusterIP, undefined, 'an ExternalName takes no address');
  t.same(await holds(store), [`clusterips/${a.spec.clusterIP}`, 'clusterips/10.43.7.7'].sort(), 'one hold per address, none for the refused');
  await registry.delete('Service', 'default', 'b');
  t.same(await holds(store), [`clusterips/${a.spec.clusterIP}`], 'a deleted Service gives its address back');
  t.equal((await registry.create(service('c', { clusterIP: '10.43.7.7' }))).spec.clusterIP, '10.43.7.7', 'and it can be taken again');
});

t.test('node ports: allocated in range, a named one held, taken and out-of-range refused by field', async (t) => {
  const { registry, store } = await openRegistry(t, undefined, '10.43.0.0/16', '30000-30009');
  const a = await registry.create(service('a', { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
  const ports = a.spec.ports!.map((p) => p.nodePort!);
  t.ok(ports.every((p) => p >= 30000 && p <= 30009), `in the range (${ports.join(', ')})`);
  t.not(ports[0], ports[1], 'one per port');
  const free = [30005, 30006, 30007].find((p) => !ports.includes(p))!;
  const b = await registry.create(service('b', { type: 'NodePort', ports: [{ port: 80, nodePort: free }] }));
  const named = b.spec.ports![0]!.nodePort!;
  await t.rejects(registry.create(service('c', { type: 'NodePort', ports: [{ port: 81 }, { name: 'x', port: 82, nodePort: named }].map((p, i) => ({ ...p, name: p.name ?? `p${i}` })) })), {
    message: `Service "c" is invalid: spec.ports[1].nodePort: Invalid value: ${named}: provided port is already allocated`,
  });
  await t.rejects(registry.create(service('d', { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] })), {
    message: 'Service "d" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-30009',
  });
  t.equal((await holds(store)).filter((h) => h.startsWith('nodeports/')).length, 3, 'the refused Services hold nothing (c took p0 and gave it back)');
  // A change to ClusterIP gives the node ports back; the cluster IP stays.
  const changed = await registry.mutate<Service>('Service', 'default', 'a', (s) => ({ ...s, spec: { ...s.spec, type: 'ClusterIP', externalTrafficPolicy: undefined, ports: s.spec.ports!.map(({ nodePort: _n, ...p }) => p) } }));
  t.equal(changed!.spec.clusterIP, a.spec.clusterIP, 'the cluster IP is kept');
  t.same((await holds(store)).filter((h) => h.startsWith('nodeports/')), [`nodeports/${named}`], "a's node ports were given back");
});

t.test('an apply that does not name them keeps the cluster IP and the node ports; naming another IP is refused', async (t) => {
  const { registry } = await openRegistry(t);
  const doc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80 }] } };
  const applyOnce = async (d: unknown) => (await apply(registry, [d], { dryRun: false, applySet: '', prune: false }))[0]!;
  const first = await applyOnce(doc);
  t.equal(first.action, 'created');
  const svc = first.object as Service;
  const again = await applyOnce(doc);
  t.equal(again.action, 'unchanged', 'the same file again changes nothing');
  t.same((again.object as Service).spec, svc.spec);
  const moved = await applyOnce({ ...doc, spec: { ...doc.spec, ports: [{ port: 80 }, { name: 'extra', port: 81 }].map((p, i) => ({ name: p.name ?? `p${i}`, ...p })) } });
  t.equal(moved.action, 'configured');
  t.equal((moved.object as Service).spec.clusterIP, svc.spec.clusterIP);
  t.equal((moved.object as Service).spec.ports![0]!.nodePort, svc.spec.ports![0]!.nodePort, 'the kept port keeps its node port');
  await t.rejects(applyOnce({ ...doc, spec: { ...doc.spec, clusterIP: '10.43.200.200' } }), { message: /spec\.clusterIPs\[0\]: Invalid value: "10\.43\.200\.200": field is immutable/ });
});

t.test('the repair gives back holds no Service names once they are old, never a young one', async (t) => {
  const { registry, store } = await openRegistry(t);
  let now = Date.now();
  const allocator = new ServiceAllocator(store, serviceNetworkOptions('10.43.0.0/16', '30000-32767'), () => now);
  const kept = await registry.create(service('kept'));
  // A controller that died between the hold and the write: a hold with no Service.
  const orphan = await allocator.allocate({ ...service('ghost'), metadata: { name: 'ghost', namespace: 'default', uid: 'u1' } });
  const list = async () => (await registry.list<Service>('Service')).items;
  t.same(await allocator.repair(await list()), [], 'a young hold is left to the write taking it');
  now += 61_000;
  t.same(await allocator.repair(await list()), [`/berth/allocations/clusterips/${orphan.service.spec.clusterIP}`]);
  t.same(await holds(store), [`clusterips/${kept.spec.clusterIP}`], "the kept Service's hold stays");
});

t.test('two registries on one etcd racing for one address: exactly one gets it', async (t) => {
  const etcd = await startEtcd(t);
  const stores = await Promise.all([openStore(`etcd://${etcd.endpoint}`, t.testdir()), openStore(`etcd://${etcd.endpoint}`, t.testdir())]);
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const [one, two] = await Promise.all(stores.map((s) => openRegistry(t, s)));
  for (let round = 0; round < 5; round++) {
    const ip = `10.43.9.${round + 10}`;
    const results = await Promise.allSettled([one!.registry.create(service(`x${round}`, { clusterIP: ip })), two!.registry.create(service(`y${round}`, { clusterIP: ip }))]);
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: one of the two has ${ip}`);
  }
  // Many automatic ones at once from both: all different.
  const made = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one! : two!).registry.create(service(`auto${i}`))));
  t.equal(new Set(made.map((s) => s.spec.clusterIP)).size, 20, 'twenty Services, twenty addresses');
});
