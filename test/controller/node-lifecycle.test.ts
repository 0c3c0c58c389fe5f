// The node lifecycle planner: Ready from lease renewals, eviction of a lost node's pods and one
// epoch bump per loss, checked at the exact boundaries of the grace period and eviction timeout.

import t from 'tap';
import { NODE_LEASE_NAMESPACE, type Condition, type Lease, type Node, type Pod, type Taint, type Toleration } from '../../proto/resources';
import { plan, DEFAULT_NODE_LIFECYCLE, type NodeAction, type NodePlan } from '../../controller/controllers/node';
import { frozen } from '../fixtures/frozen';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const OPTS = { gracePeriodMs: 4000, evictionTimeoutMs: 10_000 };


const UNREACHABLE: Taint[] = [
  { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: iso(T0) },
  { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) },
];

/** A node; one this controller marked Unknown carries the unreachable taints it added then. */
function node(name: string, ready?: Partial<Condition>, created = T0 - 60_000, taints?: Taint[]): Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '10', creationTimestamp: iso(created) },
    spec: { ...((taints ?? (ready?.status === 'Unknown' ? UNREACHABLE : undefined)) ? { taints: taints ?? UNREACHABLE } : {}) },
    status: { conditions: ready ? [{ type: 'Ready', status: 'True', reason: 'AgentReady', lastTransitionTime: iso(T0 - 60_000), ...ready }] : [] },
  };
}

function lease(name: string, renew: number, epoch = 3, acquired = T0 - 60_000, namespace = NODE_LEASE_NAMESPACE): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
    metadata: { name, namespace, resourceVersion: '42' },
    spec: { holderIdentity: name, leaseDurationSeconds: 4, acquireTime: iso(acquired), renewTime: iso(renew), leaseTransitions: epoch },
  };
}

function pod(name: string, nodeName: string, deleting = false, tolerations?: Toleration[]): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...(deleting ? { deletionTimestamp: iso(T0) } : {}) },
    spec: { containers: [], nodeName, ...(tolerations ? { tolerations } : {}) },
    status: { phase: 'Running' },
  };
}

const of = <K extends NodeAction['type']>(p: NodePlan, type: K) => p.actions.filter((a): a is Extract<NodeAction, { type: K }> => a.type === type);
const run = (nodes: Node[], leases: Lease[], pods: Record<string, Pod[]>, now: number) =>
  plan(frozen(nodes), frozen(leases), new Map(Object.entries(frozen(pods))), new Date(now), OPTS);

t.test('defaults', async (t) => {
  t.same(DEFAULT_NODE_LIFECYCLE, { gracePeriodMs: 4000, evictionTimeoutMs: 10_000 });
});

t.test('a renewed lease keeps the node Ready, up to and including renewTime + grace', async (t) => {
  for (const now of [T0, T0 + 1, T0 + 3999, T0 + 4000]) {
    const p = run([node('n1', {})], [lease('n1', T0)], { n1: [pod('a', 'n1')] }, now);
    t.same(p.actions, [], `at +${now - T0} ms: nothing to do`);
    t.equal(p.requeueAfterMs, T0 + 4001 - now, 'look again when it would expire');
  }
});

t.test('renewTime + grace < now: Ready=Unknown, NodeNotReady; no eviction yet', async (t) => {
  const now = T0 + 4001;
  const p = run([node('n1', {})], [lease('n1', T0)], { n1: [pod('a', 'n1')] }, now);
  t.same(of(p, 'set-node-condition'), [{
    type: 'set-node-condition',
    node: { name: 'n1', uid: 'uid-n1', resourceVersion: '10' },
    condition: { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Agent stopped renewing its lease.', lastUpdateTime: iso(now), lastTransitionTime: iso(now) },
  }]);
  t.same(of(p, 'event').map((a) => [a.event.involvedObject.kind, a.event.reason, a.event.message, a.event.source.component]),
    [['Node', 'NodeNotReady', 'Node n1 status is now: NodeNotReady', 'node-controller']]);
  t.same(of(p, 'evict-pod'), []);
  t.same(of(p, 'bump-node-epoch'), []);
  t.equal(p.requeueAfterMs, 10_001, 'look again when the eviction timeout passes');
});

t.test('not Ready for exactly the eviction timeout: nothing; 1 ms more: evict and bump once', async (t) => {
  const lostAt = T0 + 4001;
  const unknown = node('n1', { status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: iso(lostAt) });
  const pods = { n1: [pod('a', 'n1'), pod('b', 'n1'), pod('c', 'n1', true)] };

  const before = run([unknown], [lease('n1', T0)], pods, lostAt + 10_000);
  t.same(before.actions, [], 'at the boundary: not yet');
  t.equal(before.requeueAfterMs, 1);

  const now = lostAt + 10_001;
  const p = run([unknown], [lease('n1', T0)], pods, now);
  t.same(of(p, 'evict-pod'), [
    { type: 'evict-pod', pod: { namespace: 'default', name: 'a', uid: 'uid-a' }, nodeName: 'n1' },
    { type: 'evict-pod', pod: { namespace: 'default', name: 'b', uid: 'uid-b' }, nodeName: 'n1' },
  ], 'pods already being deleted are left alone');
  const [bump] = of(p, 'bump-node-epoch');
  t.equal(bump?.nodeName, 'n1');
  t.same(bump?.lease.spec, { holderIdentity: 'n1', leaseDurationSeconds: 4, acquireTime: iso(now), renewTime: iso(T0), leaseTransitions: 4 });
  t.equal(bump?.lease.metadata.resourceVersion, '42', 'conditional on the lease read');
  t.same(of(p, 'event').map((a) => `${a.event.involvedObject.kind}/${a.event.involvedObject.name} ${a.event.reason}: ${a.event.message}`), [
    'Pod/a NodeControllerEviction: Marking for deletion Pod default/a from Node n1',
    'Pod/b NodeControllerEviction: Marking for deletion Pod default/b from Node n1',
    'Node/n1 DeletingAllPods: Deleting all Pods from Node n1.',
  ]);
  t.same(of(p, 'set-node-condition'), [], 'already Unknown');
  t.equal(p.requeueAfterMs, undefined);

  // Next pass: the lease carries the bump (acquireTime > renewTime): no second bump.
  const again = run([unknown], [bump!.lease], { n1: [pod('a', 'n1', true), pod('b', 'n1', true)] }, now + 5000);
  t.same(again.actions, [], 'once per loss');
  // A pod bound there meanwhile is still evicted, without a new bump.
  const straggler = run([unknown], [bump!.lease], { n1: [pod('late', 'n1')] }, now + 6000);
  t.same(straggler.actions.map((a) => a.type), ['evict-pod', 'event']);
});

t.test('the agent renews before the eviction: Ready=True again, nothing evicted', async (t) => {
  const lostAt = T0 + 4001;
  const unknown = node('n1', { status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: iso(lostAt) });
  const now = lostAt + 3000;
  const p = run([unknown], [lease('n1', now - 100)], { n1: [pod('a', 'n1')] }, now);
  t.same(of(p, 'set-node-condition').map((a) => a.condition), [{
    type: 'Ready', status: 'True', reason: 'AgentReady', message: 'berth agent is posting ready status', lastUpdateTime: iso(now), lastTransitionTime: iso(now),
  }]);
  t.same(of(p, 'event').map((a) => a.event.reason), ['NodeReady']);
  t.same(of(p, 'evict-pod'), []);
  t.equal(p.requeueAfterMs, 3901);
});

t.test('after a loss the agent registers again: nothing more to do', async (t) => {
  const now = T0 + 100_000;
  // Register: Ready=True (the agent sets it), acquireTime = renewTime, epoch bumped again.
  const registered = node('n1', { lastTransitionTime: iso(now - 500) });
  const p = run([registered], [lease('n1', now - 500, 5, now - 500)], { n1: [] }, now);
  t.same(p.actions, []);
});

t.test("a Ready=False of the agent's own is not overridden while the lease is fresh", async (t) => {
  const own = node('n1', { status: 'False', reason: 'RuntimeDown', lastTransitionTime: iso(T0) });
  t.same(run([own], [lease('n1', T0 + 20_000)], { n1: [pod('a', 'n1')] }, T0 + 21_000).actions, [], 'no flip to True, no eviction while renewing');
  const stale = run([own], [lease('n1', T0)], { n1: [pod('a', 'n1')] }, T0 + 20_000);
  t.same(of(stale, 'set-node-condition').map((a) => [a.condition.status, a.condition.reason, a.condition.lastTransitionTime]),
    [['Unknown', 'NodeStatusUnknown', iso(T0 + 20_000)]], 'lease expired: Unknown, the clock for eviction starts now');
  t.same(of(stale, 'evict-pod'), []);
});

t.test('no lease yet: the node creation starts the grace period; no condition at all counts as not Ready', async (t) => {
  const fresh = node('n1', undefined, T0);
  const p = run([fresh], [], {}, T0 + 4000);
  t.same(of(p, 'set-node-condition').map((a) => a.condition.status), ['True'], 'no Ready condition yet and within grace: Ready');
  const late = run([fresh], [], { n1: [pod('a', 'n1')] }, T0 + 4001);
  t.same(of(late, 'set-node-condition').map((a) => a.condition.status), ['Unknown']);
  const lost = node('n1', { status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: iso(T0) });
  const q = run([lost], [], { n1: [pod('a', 'n1')] }, T0 + 10_001);
  t.same(q.actions.map((a) => a.type), ['evict-pod', 'event'], 'evicted; no lease to bump');
});

t.test('only leases in berth-node-lease count; several nodes at once', async (t) => {
  const now = T0 + 5000;
  const p = run(
    [node('n1', {}), node('n2', {}), node('n3', {})],
    [lease('n1', T0, 3, T0 - 1, 'default'), lease('n2', now - 1000), lease('n3', now - 3000)],
    {},
    now,
  );
  t.same(of(p, 'set-node-condition').map((a) => a.node.name), ['n1'], 'n1: its only lease is in the wrong namespace and the node is old');
  t.equal(p.requeueAfterMs, 1001, 'n3 expires first');
});

t.test("a node that stops renewing has its ready pods marked not ready at once, as Kubernetes' MarkPodsNotReady", async (t) => {
  const now = T0 + 4001;
  const ready = (p: Pod): Pod => ({ ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  const p = run([node('n1', {}), node('n2', {})], [lease('n1', T0), lease('n2', now)], { n1: [ready(pod('a', 'n1')), pod('b', 'n1')], n2: [ready(pod('c', 'n2'))] }, now);
  t.same(of(p, 'mark-pod-not-ready').map((a) => [a.pod.name, a.condition.type, a.condition.status, a.condition.message]),
    [['a', 'Ready', 'False', 'Node n1 stopped renewing its lease.']], "only n1's pod that was ready; n2's renews");
  const fresh = run([node('n1', {})], [lease('n1', now)], { n1: [ready(pod('a', 'n1'))] }, now);
  t.same(of(fresh, 'mark-pod-not-ready'), [], 'a renewing node: nothing');
});

t.test("pods bound to a node that does not exist are deleted (Kubernetes' pod GC), after a few seconds' quarantine; DaemonSet pods are never evicted", async (t) => {
  const ready = node('n1', { status: 'True', reason: 'AgentReady', lastTransitionTime: iso(T0) });
  const orphan = { ...pod('o', 'gone'), metadata: { ...pod('o', 'gone').metadata, creationTimestamp: iso(T0) } };
  const fresh = run([ready], [lease('n1', T0)], { gone: [orphan] }, T0 + 1000);
  t.same(of(fresh, 'delete-orphaned-pod'), [], 'a new pod may name a node that is registering');
  t.ok(fresh.requeueAfterMs! <= 4001, 'looked at again when the quarantine ends');
  const later = run([ready], [lease('n1', T0 + 5000)], { gone: [orphan] }, T0 + 6000);
  t.same(of(later, 'delete-orphaned-pod'), [{ type: 'delete-orphaned-pod', pod: { namespace: 'default', name: 'o', uid: 'uid-o' }, nodeName: 'gone' }]);

  const lostAt = T0 + 4001;
  const unknown = node('n1', { status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: iso(lostAt) });
  const daemon = { ...pod('d', 'n1'), metadata: { ...pod('d', 'n1').metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'ds-uid', controller: true }] } };
  const evicted = run([unknown], [lease('n1', T0)], { n1: [pod('a', 'n1'), daemon] }, lostAt + 10_001);
  t.same(of(evicted, 'evict-pod').map((a) => a.pod.name), ['a'], "a DaemonSet's pod tolerates its node being lost");
});

t.test('taints: unreachable added with Unknown and taken away with Ready; NoExecute taints evict, after tolerationSeconds', async (t) => {
  const now = T0 + 4001;
  const lost = run([node('n1', {})], [lease('n1', T0)], {}, now);
  t.same(of(lost, 'set-node-taints').map((a) => a.taints), [[
    { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: iso(now) },
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(now) },
  ]]);
  const back = run([node('n1', { status: 'Unknown', reason: 'NodeStatusUnknown' }, T0 - 60_000, [...UNREACHABLE, { key: 'team', value: 'a', effect: 'NoSchedule' }])], [lease('n1', now)], {}, now + 1);
  t.same(of(back, 'set-node-taints').map((a) => a.taints), [[{ key: 'team', value: 'a', effect: 'NoSchedule' }]], "the unreachable taints go, others' stay");

  const unknown = node('n1', { status: 'Unknown', reason: 'NodeStatusUnknown', lastTransitionTime: iso(T0) });
  const pods = { n1: [
    pod('plain', 'n1'),
    pod('patient', 'n1', false, [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]),
    pod('forever', 'n1', false, [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]),
  ] };
  t.same(of(run([unknown], [lease('n1', T0 - 4001)], pods, T0 + 10_001), 'evict-pod').map((a) => a.pod.name), ['plain'], 'at the eviction timeout: the pod without a toleration');
  t.same(of(run([unknown], [lease('n1', T0 - 4001)], pods, T0 + 60_001), 'evict-pod').map((a) => a.pod.name), ['plain', 'patient'], 'after its tolerationSeconds: the patient one; never the one tolerating for ever');

  const tainted = node('n2', {}, T0 - 60_000, [{ key: 'maintenance', effect: 'NoExecute', timeAdded: iso(T0) }]);
  const onIt = { n2: [
    pod('a', 'n2'),
    pod('b', 'n2', false, [{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]),
    pod('c', 'n2', false, [{ key: 'maintenance', operator: 'Exists' }]),
  ] };
  const first = run([tainted], [lease('n2', T0)], onIt, T0 + 1000);
  t.same(of(first, 'taint-evict-pod').map((a) => a.pod.name), ['a']);
  t.same(of(first, 'event').map((a) => `${a.event.reason}: ${a.event.message}`), ['TaintManagerEviction: Marking for deletion Pod default/a']);
  t.same(of(run([tainted], [lease('n2', T0 + 29_000)], onIt, T0 + 29_999), 'taint-evict-pod').map((a) => a.pod.name), ['a'], 'b stays within its tolerationSeconds');
  t.same(of(run([tainted], [lease('n2', T0 + 30_000)], onIt, T0 + 30_001), 'taint-evict-pod').map((a) => a.pod.name), ['a', 'b']);
});
