// What pods request and nodes offer, the one count the scheduler and the agent share.

import t from 'tap';
import { addAmounts, nodeAllocatable, podRequests, shortExtended, type Node, type Pod } from '../../proto/resources';

const pod = (containers: Pod['spec']['containers']): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers } });

t.test('a pod requests the sum of its containers; a limit stands for a missing request; nothing is 0', async (t) => {
  t.same(podRequests(pod([
    { name: 'a', image: 'i', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '1Gi' } } },
    { name: 'b', image: 'i', resources: { limits: { cpu: '0.5', memory: '128Mi' } } },
    { name: 'c', image: 'i' },
  ])), { cpu: 750, memory: 192 * 1024 * 1024 });
  t.throws(() => podRequests(pod([{ name: 'a', image: 'i', resources: { requests: { cpu: 'lots' } } }])), {
    code: 'invalid-argument', message: /at pod shop\/p spec\.containers\[0\]\.resources\.requests\.cpu/,
  });
});

t.test('pod-level resources: its requests count, resource by resource, its limits where it has no request', async (t) => {
  const containers = [{ name: 'a', image: 'i', resources: { requests: { cpu: '250m', memory: '64Mi' } } }];
  t.same(podRequests({ ...pod(containers), spec: { containers, resources: { requests: { cpu: '2' } } } }), { cpu: 2000, memory: 64 * 1024 * 1024 }, 'cpu from the pod, memory from its containers');
  t.same(podRequests({ ...pod(containers), spec: { containers, resources: { limits: { memory: '1Gi' } } } }), { cpu: 250, memory: 1024 ** 3 }, 'a pod-level limit stands in for its request');
});

t.test('a node offers its allocatable; unreported is no limit, unreadable is nothing', async (t) => {
  const node = (allocatable: Record<string, string>): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { allocatable } });
  t.same(nodeAllocatable(node({ cpu: '4', memory: '8Gi', pods: '110' })), { cpu: 4000, memory: 8 * 1024 ** 3, pods: 110 });
  t.same(nodeAllocatable(node({})), { cpu: Infinity, memory: Infinity, pods: Infinity });
  t.same(nodeAllocatable(node({ cpu: 'x', pods: '-1' })), { cpu: 0, memory: Infinity, pods: 0 });
});

t.test('extended resources: counted in whole units from limits, none offered unless advertised', async (t) => {
  const gpu = (n: string): Pod['spec']['containers'][number] => ({ name: `c${n}`, image: 'i', resources: { limits: { 'example.com/dongle': n } } });
  t.same(podRequests(pod([gpu('2'), gpu('1'), { name: 'plain', image: 'i' }])).extended, { 'example.com/dongle': 3 });
  t.equal(podRequests(pod([{ name: 'plain', image: 'i' }])).extended, undefined);
  // Init containers as for cpu: an init container beside the sidecars started before it, or the app containers and all sidecars.
  const withInits = (inits: Pod['spec']['containers']): Pod => ({ ...pod([gpu('1')]), spec: { containers: [gpu('1')], initContainers: inits } });
  t.same(podRequests(withInits([gpu('2'), { ...gpu('1'), name: 'side', restartPolicy: 'Always' }])).extended, { 'example.com/dongle': 2 }, 'init 2 first, then a sidecar of 1 beside the app');
  t.same(podRequests(withInits([{ ...gpu('1'), name: 'side', restartPolicy: 'Always' }, gpu('2')])).extended, { 'example.com/dongle': 3 }, 'a sidecar of 1 started before an init of 2');
  const node = (allocatable: Record<string, string>): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { allocatable } });
  t.same(nodeAllocatable(node({ cpu: '4', 'example.com/dongle': '4' })).extended, { 'example.com/dongle': 4 });
  t.same(shortExtended({ cpu: 0, memory: 0, extended: { 'example.com/dongle': 3, 'nvidia.com/gpu': 1 } }, { cpu: 0, memory: 0, extended: { 'example.com/dongle': 4 } }, { cpu: 0, memory: 0, extended: { 'example.com/dongle': 2 } }),
    ['example.com/dongle', 'nvidia.com/gpu'], 'short of one, and the other not offered at all');
  t.same(addAmounts({ cpu: 1, memory: 2, extended: { a: 1 } }, { cpu: 1, memory: 1, extended: { a: 2, b: 1 } }, -1), { cpu: 0, memory: 1, extended: { a: -1, b: -1 } });
});
