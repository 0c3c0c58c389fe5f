// The DaemonSet planner: one pod per matching node (bound to it), none where a node left or stopped
// matching, a failed one replaced, duplicates removed; the rolling update within maxUnavailable
// (or maxSurge: the new pod first), OnDelete; the status counts.

import t from 'tap';
import type { DaemonSet, Node, Pod } from '../../proto/resources';
import { plan, REVISION_HASH_LABEL, type DaemonSetAction, type DaemonSetPlan } from '../../controller/controllers/daemonset';
import { templateHash } from '../../controller/controllers/deployment';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const NOW = new Date(T0 + 3600_000);

function ds(image = 'agent:1', extra: Partial<DaemonSet['spec']> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: 'logs', namespace: 'kube-system', uid: 'ds-uid', generation: 2 },
    spec: {
      selector: { matchLabels: { app: 'logs' } },
      template: { metadata: { labels: { app: 'logs' } }, spec: { containers: [{ name: 'c', image }], nodeSelector: { disk: 'ssd' } } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      minReadySeconds: 0,
      ...extra,
    },
  };
}

const node = (name: string, labels: Record<string, string> = { disk: 'ssd' }): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });

let n = 0;
function pod(nodeName: string, template: DaemonSet, o: { phase?: Pod['status'] extends infer S ? S extends { phase?: infer P } ? P : never : never; ready?: boolean } = {}): Pod {
  n++;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `logs-${n}`, namespace: 'kube-system', uid: `p${n}`, creationTimestamp: iso(T0 + n),
      labels: { app: 'logs', [REVISION_HASH_LABEL]: templateHash(template.spec.template) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: 'ds-uid', controller: true }],
    },
    spec: { containers: [{ name: 'c', image: 'x' }], nodeName },
    status: { phase: o.phase ?? 'Running', ...(o.ready === false ? {} : { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(T0) }] }) },
  };
}

const suffix = () => {
  let i = 0;
  return () => `x${++i}`;
};
const created = (p: DaemonSetPlan) => p.actions.filter((a): a is Extract<DaemonSetAction, { type: 'create-pod' }> => a.type === 'create-pod').map((a) => a.pod.spec.nodeName);
const deleted = (p: DaemonSetPlan) => p.actions.filter((a): a is Extract<DaemonSetAction, { type: 'delete-pod' }> => a.type === 'delete-pod').map((a) => `${a.pod.name}:${a.reason}`);
const status = (p: DaemonSetPlan) => (p.actions.find((a) => a.type === 'update-daemonset-status') as Extract<DaemonSetAction, { type: 'update-daemonset-status' }> | undefined)?.status;

t.test('one pod per matching node, bound to it; none on others', async (t) => {
  const d = ds();
  const nodes = [node('n1'), node('n2'), node('hdd', { disk: 'hdd' })];
  const first = plan(d, nodes, [], NOW, suffix());
  t.same(created(first), ['n1', 'n2'], 'each matching node, bound by the controller');
  const made = (first.actions[0] as Extract<DaemonSetAction, { type: 'create-pod' }>).pod;
  t.equal(made.metadata.labels?.[REVISION_HASH_LABEL], templateHash(d.spec.template));
  t.same(made.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'logs', uid: 'ds-uid', controller: true }]);
  t.same(status(first), { desiredNumberScheduled: 2, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 2, observedGeneration: 2 });

  const a = pod('n1', d);
  const gone = pod('left', d);
  const wrong = pod('hdd', d);
  const failed = pod('n2', d, { phase: 'Failed' });
  const p = plan(d, nodes, [a, gone, wrong, failed], NOW, suffix());
  t.same(deleted(p).sort(), [`${gone.metadata.name}:not-wanted`, `${wrong.metadata.name}:not-wanted`, `${failed.metadata.name}:failed`].sort(), 'a node that left, one that no longer matches, a failed pod');
  t.same(created(p), ['n2'], 'the failed one replaced');
  t.match(status(p), { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 2, numberReady: 1 });
  const dup = [pod('n1', d), pod('n1', d), pod('n2', d)];
  t.same(deleted(plan(d, nodes, dup, NOW, suffix())), [`${dup[1]!.metadata.name}:duplicate`], 'two on one node: the newer goes');
});

t.test('rolling update: maxUnavailable nodes at a time; with maxSurge the new pod first; OnDelete waits', async (t) => {
  const old = ds('agent:1');
  const nodes = [node('n1'), node('n2'), node('n3')];
  const pods = nodes.map((x) => pod(x.metadata.name!, old));
  const next = ds('agent:2');
  const first = plan(next, nodes, pods, NOW, suffix());
  t.equal(deleted(first).length, 1, 'one node at a time (maxUnavailable 1)');
  t.same(created(first), []);
  t.match(status(first), { updatedNumberScheduled: 0, numberAvailable: 3 });
  const down = [pods[1]!, pods[2]!];
  t.same(created(plan(next, nodes, down, NOW, suffix())), ['n1'], 'the replaced node gets the new pod');
  const unready = [pod('n1', next, { ready: false }), pods[1]!, pods[2]!];
  t.same(deleted(plan(next, nodes, unready, NOW, suffix())), [], 'no second node while the first is not available');

  const surge = ds('agent:2', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
  const surged = plan(surge, nodes, pods, NOW, suffix());
  t.same([created(surged), deleted(surged)], [['n1'], []], 'maxSurge: the new pod beside the old');
  const both = [pods[0]!, pod('n1', surge), pods[1]!, pods[2]!];
  t.same(deleted(plan(surge, nodes, both, NOW, suffix())), [`${pods[0]!.metadata.name}:rolling-update`], 'the old goes once the new is available');

  const onDelete = ds('agent:2', { updateStrategy: { type: 'OnDelete' } });
  const p = plan(onDelete, nodes, pods, NOW, suffix());
  t.same([created(p), deleted(p)], [[], []], 'OnDelete: old pods stay until deleted');
  t.same(created(plan(onDelete, nodes, pods.slice(1), NOW, suffix())), ['n1'], 'a deleted one comes back new');
});

t.test('taints and node affinity: a tainted node gets no daemon pod unless the template tolerates it; cordoned and unreachable ones do', async (t) => {
  const tainted: Node = { ...node('n1'), spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } };
  const cordoned: Node = { ...node('n2'), spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] } };
  t.same(created(plan(ds(), [tainted, cordoned], [], NOW, suffix())), ['n2']);
  const tolerant = ds('agent:1');
  tolerant.spec.template.spec.tolerations = [{ key: 'dedicated', operator: 'Exists' }];
  const p = plan(tolerant, [tainted, cordoned], [], NOW, suffix());
  t.same(created(p).sort(), ['n1', 'n2']);
  const made = p.actions.find((a): a is Extract<DaemonSetAction, { type: 'create-pod' }> => a.type === 'create-pod')!.pod;
  t.match(made.spec.tolerations, [{ key: 'dedicated' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }], "its own tolerations, then Kubernetes' daemon ones");
  const pinned = ds();
  pinned.spec.template.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n3'] }] }] } } };
  t.same(created(plan(pinned, [node('n3'), node('n4')], [], NOW, suffix())), ['n3'], 'required node affinity (matchFields metadata.name, as Kubernetes binds daemon pods)');
});
