// PodDisruptionBudgets, pure: the disruption controller's status (healthy pods, what is expected
// of minAvailable / maxUnavailable as numbers and percentages of the owners' replicas, recently
// evicted pods), the eviction verdict, and kubectl drain's choice of pods.

import t from 'tap';
import type { Pod, PodDisruptionBudget } from '../../proto/resources';
import { budgetStatus, evictionVerdict, DISRUPTED_POD_TIMEOUT_MS, VIOLATES_BUDGET, type ScaleOf } from '../../controller/controllers/disruption';
import { selectPodsToDrain } from '../../cli/cluster/drain';

const NOW = new Date('2024-05-01T12:00:00.000Z');

function pdb(spec: PodDisruptionBudget['spec'], status?: PodDisruptionBudget['status']): PodDisruptionBudget {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default', generation: 1 }, spec, ...(status ? { status } : {}) };
}

function pod(name: string, o: { ready?: boolean; phase?: 'Pending' | 'Running' | 'Succeeded'; app?: string; owner?: string; deleting?: boolean; emptyDir?: boolean; namespace?: string } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: o.namespace ?? 'default', uid: `uid-${name}`, labels: { app: o.app ?? 'web' },
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.owner, name: 'owner', uid: `${o.owner}-uid`, controller: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: NOW.toISOString() } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'x' }], ...(o.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}) },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

const selector = { matchLabels: { app: 'web' } };
const threeReplicas: ScaleOf = () => ({ owner: 'ReplicaSet/rs', replicas: 3 });

t.test('minAvailable as a number: disruptions are the healthy pods above it', async (t) => {
  const pods = [pod('a'), pod('b'), pod('c'), pod('d', { ready: false }), pod('other', { app: 'db' }), pod('elsewhere', { namespace: 'ns2' })];
  const { status } = budgetStatus(pdb({ minAvailable: 2, selector }), pods, threeReplicas, NOW);
  t.match(status, { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 4, observedGeneration: 1 });
  t.match(status.conditions, [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' }]);
  const none = budgetStatus(pdb({ minAvailable: 3, selector }), pods.slice(0, 3).map((p, i) => (i === 0 ? { ...p, metadata: { ...p.metadata, deletionTimestamp: NOW.toISOString() } } : p)), threeReplicas, NOW).status;
  t.match(none, { disruptionsAllowed: 0, currentHealthy: 2 }, 'a pod being deleted is not healthy');
  t.match(none.conditions, [{ status: 'False', reason: 'InsufficientPods' }]);
});

t.test('maxUnavailable and percentages are of the owners\' replicas, rounded up', async (t) => {
  const pods = [pod('a', { owner: 'ReplicaSet' }), pod('b', { owner: 'ReplicaSet' })];
  // 3 wanted, 2 there and healthy: maxUnavailable 1 -> 2 desired -> 0 allowed.
  t.match(budgetStatus(pdb({ maxUnavailable: 1, selector }), pods, threeReplicas, NOW).status, { expectedPods: 3, desiredHealthy: 2, disruptionsAllowed: 0 });
  // 50% of 3 rounds up to 2.
  t.match(budgetStatus(pdb({ minAvailable: '50%', selector }), pods, threeReplicas, NOW).status, { desiredHealthy: 2, disruptionsAllowed: 0 });
  t.match(budgetStatus(pdb({ maxUnavailable: '50%', selector }), pods, threeReplicas, NOW).status, { desiredHealthy: 1, disruptionsAllowed: 1 });
  // Two owners: their replicas add up.
  const twoOwners: ScaleOf = (p) => ({ owner: p.metadata.name!, replicas: 2 });
  t.match(budgetStatus(pdb({ maxUnavailable: 1, selector }), pods, twoOwners, NOW).status, { expectedPods: 4, desiredHealthy: 3, disruptionsAllowed: 0 });
});

t.test('an owner without a scale fails safe: nothing may be disrupted, and the condition says why', async (t) => {
  const { status } = budgetStatus(pdb({ maxUnavailable: 1, selector }, { disruptionsAllowed: 2, currentHealthy: 3, desiredHealthy: 1, expectedPods: 3 }),
    [pod('a', { owner: 'DaemonSet' })], () => 'found no controllers for pod "a"', NOW);
  t.equal(status.disruptionsAllowed, 0);
  t.match(status.conditions, [{ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'found no controllers for pod "a"' }]);
});

t.test('neither field: nothing is expected, so nothing may be disrupted; a budget without a selector has no pods', async (t) => {
  t.match(budgetStatus(pdb({ selector }), [pod('a')], threeReplicas, NOW).status, { expectedPods: 0, disruptionsAllowed: 0 });
  t.match(budgetStatus(pdb({ minAvailable: 0 }), [pod('a')], threeReplicas, NOW).status, { expectedPods: 0, currentHealthy: 0, disruptionsAllowed: 0 });
  t.match(budgetStatus(pdb({ minAvailable: 0, selector: {} }), [pod('a', { app: 'db' })], threeReplicas, NOW).status, { expectedPods: 1, disruptionsAllowed: 1 }, 'an empty selector picks every pod');
});

t.test('a just-evicted pod counts as unhealthy until its deletion is seen or the entry expires', async (t) => {
  const recent = new Date(NOW.getTime() - 1000).toISOString();
  const old = new Date(NOW.getTime() - DISRUPTED_POD_TIMEOUT_MS - 1).toISOString();
  const base = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  const pods = [pod('a'), pod('b'), pod('c')];
  const r = budgetStatus(pdb({ minAvailable: 1, selector }, { ...base, disruptedPods: { a: recent, b: old, gone: recent } }), pods, threeReplicas, NOW);
  t.same(r.status.disruptedPods, { a: recent }, 'the expired entry and the deleted pod\'s are dropped');
  t.match(r.status, { currentHealthy: 2, disruptionsAllowed: 1 });
  t.equal(r.requeueAfterMs, DISRUPTED_POD_TIMEOUT_MS - 1000, 'looked at again when the entry expires');
});

t.test('eviction: allowed while the budget has room, taking one disruption', async (t) => {
  const budget = pdb({ minAvailable: 2, selector }, { observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 });
  const verdict = evictionVerdict(pod('a'), [budget], NOW);
  t.equal(verdict.type, 'take-disruption');
  if (verdict.type === 'take-disruption') {
    t.equal(verdict.status.disruptionsAllowed, 0);
    t.same(verdict.status.disruptedPods, { a: NOW.toISOString() });
  }
  const spent = pdb({ minAvailable: 2, selector }, { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 });
  t.same(evictionVerdict(pod('b'), [spent], NOW), { type: 'refuse', code: 'resource-exhausted', message: `${VIOLATES_BUDGET} The disruption budget web needs 2 healthy pods and has 2 currently.` });
});

t.test('eviction: pods no budget guards, pods not running, and the budget not yet observed', async (t) => {
  const spent = pdb({ minAvailable: 2, selector }, { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });
  t.same(evictionVerdict(pod('x', { app: 'db' }), [spent], NOW), { type: 'delete' }, 'another app');
  t.same(evictionVerdict(pod('p', { phase: 'Pending' }), [spent], NOW), { type: 'delete' }, 'pending');
  t.same(evictionVerdict(pod('s', { phase: 'Succeeded' }), [spent], NOW), { type: 'delete' }, 'finished');
  t.same(evictionVerdict(pod('d', { deleting: true }), [spent], NOW), { type: 'delete' }, 'already going');
  const unseen = { ...spent, metadata: { ...spent.metadata, generation: 2 } };
  t.match(evictionVerdict(pod('a'), [unseen], NOW), { type: 'refuse', code: 'resource-exhausted', message: /still being processed/ });
  t.match(evictionVerdict(pod('a'), [spent, { ...spent, metadata: { ...spent.metadata, name: 'web2' } }], NOW), { type: 'refuse', code: 'internal', message: /more than one PodDisruptionBudget/ });
});

t.test('eviction of a pod that is not ready: by the unhealthy pod policy', async (t) => {
  const met = pdb({ minAvailable: 2, selector }, { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 3 });
  t.same(evictionVerdict(pod('sick', { ready: false }), [met], NOW), { type: 'delete' }, 'the budget is met without it');
  const short = pdb({ minAvailable: 3, selector }, { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 3, expectedPods: 3 });
  t.equal(evictionVerdict(pod('sick', { ready: false }), [short], NOW).type, 'refuse', 'IfHealthyBudget: not while the budget is short');
  const always = { ...short, spec: { ...short.spec, unhealthyPodEvictionPolicy: 'AlwaysAllow' as const } };
  t.same(evictionVerdict(pod('sick', { ready: false }), [always], NOW), { type: 'delete' }, 'AlwaysAllow');
});

t.test('drain: which pods go, and what stops a drain', async (t) => {
  const pods = [
    pod('web', { owner: 'ReplicaSet' }),
    pod('daemon', { owner: 'DaemonSet' }),
    pod('bare'),
    pod('scratch', { owner: 'ReplicaSet', emptyDir: true }),
    pod('done', { phase: 'Succeeded' }),
    pod('orphan', { owner: 'DaemonSet' }),
  ];
  const exists = (p: Pod) => p.metadata.name !== 'orphan';
  const strict = selectPodsToDrain(pods, { ignoreDaemonSets: false, deleteEmptyDirData: false, force: false }, exists);
  t.same(strict.pods.map((p) => p.metadata.name), ['web', 'done']);
  t.same([...strict.errors].map(([reason, ps]) => [reason, ps.map((p) => p.metadata.name)]), [
    ['cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)', ['daemon']],
    ['cannot delete Pods that declare no controller (use --force to override)', ['bare']],
    ['cannot delete Pods with local storage (use --delete-emptydir-data to override)', ['scratch']],
    ['cannot delete daemonsets.apps "owner" not found', ['orphan']],
  ]);
  const all = selectPodsToDrain(pods, { ignoreDaemonSets: true, deleteEmptyDirData: true, force: true }, exists);
  t.equal(all.errors.size, 0);
  t.same(all.pods.map((p) => p.metadata.name), ['web', 'bare', 'scratch', 'done', 'orphan'], 'the daemon pod stays');
  t.same([...all.warnings.keys()], ['ignoring DaemonSet-managed Pods', 'deleting Pods that declare no controller', 'deleting Pods with local storage', 'daemonsets.apps "owner" not found']);
});
