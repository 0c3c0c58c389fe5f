// The scheduler's planner: feasibility (ready, cordon, node selector, cpu, memory, pod count)
// with Kubernetes' exact reason strings, spreading of an owner's pods, least-requested placement,
// and pods placed earlier in a plan counting for later ones.

import t from 'tap';
import type { Node, Pod, PodPhase } from '../../proto/resources';
import { plan, podRequests, unschedulableReason } from '../../controller/controllers/scheduler';
import { frozen } from '../fixtures/frozen';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();


interface NodeOptions { cpu?: string; memory?: string; pods?: string; ready?: 'True' | 'False' | 'Unknown' | 'none'; cordoned?: boolean; labels?: Record<string, string> }

function node(name: string, o: NodeOptions = {}): Node {
  const allocatable: Record<string, string> = {};
  if (o.cpu !== undefined) allocatable.cpu = o.cpu;
  if (o.memory !== undefined) allocatable.memory = o.memory;
  if (o.pods !== undefined) allocatable.pods = o.pods;
  const ready = o.ready ?? 'True';
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: o.cordoned ? { unschedulable: true } : {},
    status: { allocatable, conditions: ready === 'none' ? [] : [{ type: 'Ready', status: ready }] },
  };
}

interface PodOptions { cpu?: string; memory?: string; limitsCpu?: string; owner?: string; labels?: Record<string, string>; nodeSelector?: Record<string, string>; nodeName?: string; phase?: PodPhase; created?: number; deleting?: boolean }

let counter = 0;
function pod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: iso(o.created ?? T0 + counter++),
      labels: o.labels ?? (o.owner ? { app: o.owner } : undefined),
      ownerReferences: o.owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `rs-${o.owner}`, controller: true }] : undefined,
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'nginx', resources: { requests, ...(o.limitsCpu ? { limits: { cpu: o.limitsCpu } } : {}) } }],
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
    },
    status: { phase: o.phase ?? (o.nodeName ? 'Running' : 'Pending') },
  };
}

const replicas = (owner: string, n: number, o: PodOptions = {}) => Array.from({ length: n }, (_, i) => pod(`${owner}-${i}`, { owner, ...o }));
const countBy = (bindings: { nodeName: string }[]) => {
  const out: Record<string, number> = {};
  for (const b of bindings) out[b.nodeName] = (out[b.nodeName] ?? 0) + 1;
  return out;
};
const schedule = (pending: Pod[], nodes: Node[], bound: Pod[] = []) => plan(frozen(pending), frozen(nodes), frozen(bound));

t.test('6 replicas spread 2/2/2 over 3 nodes', async (t) => {
  const nodes = [node('n1', { cpu: '4', memory: '8Gi', pods: '110' }), node('n2', { cpu: '4', memory: '8Gi', pods: '110' }), node('n3', { cpu: '4', memory: '8Gi', pods: '110' })];
  const p = schedule(replicas('web', 6, { cpu: '100m', memory: '64Mi' }), nodes);
  t.same(countBy(p.bindings), { n1: 2, n2: 2, n3: 2 });
  t.same(p.unschedulable, []);
  t.same(p.bindings.map((b) => b.nodeName), ['n1', 'n2', 'n3', 'n1', 'n2', 'n3'], 'ties by node name: a deterministic order');
});

t.test('50 replicas placed at once spread evenly over 3 nodes', async (t) => {
  const nodes = [node('c'), node('a'), node('b')];
  const p = schedule(replicas('big', 50), nodes);
  t.same(countBy(p.bindings), { a: 17, b: 17, c: 16 });
  // Even on unequal nodes the owner spreads first; load decides only among equals.
  const uneven = [node('small', { cpu: '2', memory: '4Gi' }), node('large', { cpu: '32', memory: '64Gi' })];
  const q = schedule(replicas('x', 10, { cpu: '100m' }), uneven);
  t.same(countBy(q.bindings), { small: 5, large: 5 });
});

t.test('pods already bound count for the spread and for resources', async (t) => {
  const nodes = [node('n1', { cpu: '2' }), node('n2', { cpu: '2' }), node('n3', { cpu: '2' })];
  const bound = [pod('web-old-1', { owner: 'web', nodeName: 'n1' }), pod('web-old-2', { owner: 'web', nodeName: 'n1' }), pod('web-old-3', { owner: 'web', nodeName: 'n2' })];
  const p = schedule(replicas('web', 3), nodes, bound);
  t.same(countBy(p.bindings), { n3: 2, n2: 1 }, 'fill up to 2/2/2');
  const withDeleting = [...bound, pod('web-going', { owner: 'web', nodeName: 'n3', deleting: true })];
  const q = schedule(replicas('web', 1), nodes, withDeleting);
  t.same(q.bindings.map((b) => b.nodeName), ['n3'], 'a pod being deleted does not hold its place in the spread');
  const other = schedule([pod('solo', { cpu: '1500m' })], nodes, [pod('heavy', { cpu: '1', nodeName: 'n1' }), pod('mid', { cpu: '500m', nodeName: 'n2' })]);
  t.same(other.bindings.map((b) => b.nodeName), ['n3'], 'a pod of its own: the least requested node');
});

t.test('least requested node first, ties by name; scoring counts pods without requests', async (t) => {
  const nodes = [node('b', { cpu: '4', memory: '4Gi' }), node('a', { cpu: '4', memory: '4Gi' })];
  t.same(schedule([pod('p')], nodes).bindings.map((b) => b.nodeName), ['a'], 'tie: by name');
  const busyA = [pod('q', { nodeName: 'a' })]; // no requests: still counts 100m / 200Mi for scoring
  t.same(schedule([pod('p')], nodes, busyA).bindings.map((b) => b.nodeName), ['b']);
  const p = schedule([pod('p1', { cpu: '1' }), pod('p2', { cpu: '1' }), pod('p3', { cpu: '1' })], nodes);
  t.same(p.bindings.map((b) => b.nodeName), ['a', 'b', 'a'], 'bare pods without labels alternate by load');
  const labelled = schedule([pod('l1', { labels: { app: 'x' } }), pod('l2', { labels: { app: 'x' } })], [node('a'), node('b')]);
  t.same(labelled.bindings.map((b) => b.nodeName), ['a', 'b'], 'bare pods with the same labels spread');
});

t.test('node selector, readiness, cordon', async (t) => {
  const nodes = [node('gpu-1', { labels: { gpu: 'yes' } }), node('cpu-1'), node('cpu-2')];
  const p = schedule([pod('trainer', { nodeSelector: { gpu: 'yes' } })], nodes);
  t.same(p.bindings.map((b) => b.nodeName), ['gpu-1']);
  const none = schedule([pod('trainer', { nodeSelector: { gpu: 'no' } })], nodes);
  t.same(none.unschedulable.map((u) => u.reason), ["0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."]);

  const mixed = [node('a', { ready: 'False' }), node('b', { ready: 'Unknown' }), node('c', { ready: 'none' }), node('d', { cordoned: true }), node('e')];
  t.same(schedule([pod('p')], mixed).bindings.map((b) => b.nodeName), ['e']);
  const noneLeft = schedule([pod('p')], mixed.slice(0, 4));
  t.same(noneLeft.unschedulable.map((u) => u.reason), ['0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) were not ready.']);
});

t.test('resources: exact reasons, every short resource counted, Too many pods', async (t) => {
  const nodes = [node('n1', { cpu: '1', memory: '1Gi' }), node('n2', { cpu: '1', memory: '1Gi', labels: { zone: 'b' } }), node('n3', { cpu: '1', memory: '8Gi', labels: { zone: 'b' } })];
  const cases: [string, Pod, string][] = [
    ['cpu', pod('p', { cpu: '2', nodeSelector: { zone: 'b' } }), "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu."],
    ['memory', pod('p', { memory: '16Gi' }), '0/3 nodes are available: 3 Insufficient memory.'],
    ['both', pod('p', { cpu: '3', memory: '2Gi' }), '0/3 nodes are available: 2 Insufficient memory, 3 Insufficient cpu.'],
  ];
  for (const [what, p, reason] of cases) {
    const result = schedule([p], nodes);
    t.same(result.bindings, [], what);
    t.same(result.unschedulable.map((u) => u.reason), [reason], what);
    t.equal(result.unschedulable[0]!.pod.metadata.name, 'p');
  }
  const full = schedule([pod('p')], [node('tiny', { pods: '2' })], [pod('x', { nodeName: 'tiny' }), pod('y', { nodeName: 'tiny' })]);
  t.same(full.unschedulable.map((u) => u.reason), ['0/1 nodes are available: 1 Too many pods.']);
  const ended = schedule([pod('p')], [node('tiny', { pods: '2' })], [pod('x', { nodeName: 'tiny' }), pod('y', { nodeName: 'tiny', phase: 'Succeeded' })]);
  t.same(ended.bindings.map((b) => b.nodeName), ['tiny'], 'ended pods free their place');
  t.equal(schedule([pod('p')], []).unschedulable[0]!.reason, '0/0 nodes are available: no nodes registered.');
});

t.test('pods placed earlier in the plan use up room for later ones', async (t) => {
  const p = schedule([pod('a', { cpu: '500m' }), pod('b', { cpu: '500m' }), pod('c', { cpu: '500m' })], [node('n1', { cpu: '1' })]);
  t.same(p.bindings.map((b) => b.pod.metadata.name), ['a', 'b']);
  t.same(p.unschedulable.map((u) => [u.pod.metadata.name, u.reason]), [['c', '0/1 nodes are available: 1 Insufficient cpu.']]);
  const byPods = schedule(replicas('r', 4), [node('n1', { pods: '3' }), node('n2', { pods: '0' })]);
  t.equal(byPods.bindings.length, 3);
  t.same(byPods.unschedulable.map((u) => u.reason), ['0/2 nodes are available: 2 Too many pods.']);
});

t.test('requests default to limits; zero requests fit anywhere; bad quantities are reported', async (t) => {
  t.same(podRequests(pod('p', { limitsCpu: '2' })).fit, { cpu: 2000, memory: 0 });
  const p = schedule([pod('limited', { limitsCpu: '2' })], [node('n1', { cpu: '1' })]);
  t.same(p.unschedulable.map((u) => u.reason), ['0/1 nodes are available: 1 Insufficient cpu.']);
  const free = schedule([pod('free')], [node('n1', { cpu: '0', memory: '0' })]);
  t.same(free.bindings.map((b) => b.nodeName), ['n1'], 'a pod asking nothing fits even a full node (as Kubernetes)');
  const bad = schedule([pod('bad', { cpu: 'lots' })], [node('n1')]);
  t.same(bad.unschedulable.map((u) => u.reason), ['invalid cpu quantity "lots" at pod default/bad spec.containers[0].resources.requests.cpu: expected cores ("2", "0.5") or millicores ("500m")']);
  const garbled = schedule([pod('p', { cpu: '100m' })], [node('n1', { cpu: 'garbage' })]);
  t.same(garbled.unschedulable.map((u) => u.reason), ['0/1 nodes are available: 1 Insufficient cpu.'], 'an unreadable allocatable offers nothing');
});

t.test('only unbound, live pods are scheduled; oldest first whatever the input order', async (t) => {
  const pending = [
    pod('young', { created: T0 + 2000, cpu: '1' }),
    pod('bound', { nodeName: 'n1' }),
    pod('going', { deleting: true }),
    pod('ended', { phase: 'Failed' }),
    pod('old', { created: T0, cpu: '1' }),
  ];
  const p = schedule(pending, [node('n1', { cpu: '1' })]);
  t.same(p.bindings.map((b) => b.pod.metadata.name), ['old']);
  t.same(p.unschedulable.map((u) => u.pod.metadata.name), ['young']);
  const reversed = schedule([...pending].reverse(), [node('n1', { cpu: '1' })]);
  t.same(reversed, p, 'same plan from any input order');
});

t.test('the reason histogram sorts as strings, as Kubernetes does', async (t) => {
  t.equal(unschedulableReason(12, new Map([['Insufficient cpu', 10], ["node(s) didn't match Pod's node affinity/selector", 2]])),
    "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
});

t.test('a bound pod with unreadable requests still takes its pod slot', async (t) => {
  const p = schedule([pod('p')], [node('n1', { pods: '1' })], [pod('weird', { nodeName: 'n1', cpu: '??' })]);
  t.same(p.unschedulable.map((u) => u.reason), ['0/1 nodes are available: 1 Too many pods.']);
});
