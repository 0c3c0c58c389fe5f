// The cluster verbs' columns as kubectl prints them: ages, tables, labels, selectors, -o output.

import t from 'tap';
import type { Deployment, Event, Namespace, Node, Pod, ReplicaSet, RoleBinding } from '../../proto/resources';
import { kindInfo } from '../../proto/resources';
import { parseDuration } from '../../cli/common/args';
import { age, describeTime, humanDuration } from '../../cli/cluster/age';
import { formatObjects, toYaml } from '../../cli/cluster/output';
import { columnsFor, formatLabels, formatSelector, nodeStatus } from '../../cli/cluster/printers';
import { renderTable, Table } from '../../cli/common/table';

const NOW = new Date('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

t.test('humanDuration: kubectl\'s AGE steps', async (t) => {
  const cases: Array<[number, string]> = [
    [-5 * S, '<invalid>'], [-1 * S, '0s'], [0, '0s'], [5 * S, '5s'], [119 * S, '119s'], [2 * M, '2m'], [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'], [10 * M + 30 * S, '10m'], [179 * M, '179m'], [3 * H, '3h'], [3 * H + 5 * M, '3h5m'], [8 * H + 5 * M, '8h'],
    [47 * H, '47h'], [2 * D, '2d'], [2 * D + 3 * H, '2d3h'], [8 * D + 3 * H, '8d'], [400 * D, '400d'], [2 * 365 * D + 10 * D, '2y10d'],
    [9 * 365 * D, '9y'],
  ];
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, `${ms}ms`);
  t.equal(age(undefined, NOW), '<unknown>');
  t.equal(age('not a time', NOW), '<unknown>');
  t.equal(age(ago(5 * S), NOW), '5s');
});

t.test('describeTime and parseDuration', async (t) => {
  t.equal(describeTime('2024-05-01T09:03:04Z'), 'Wed, 01 May 2024 09:03:04 +0000');
  t.equal(describeTime(undefined), '<unset>');
  t.equal(parseDuration('30s'), 30_000);
  t.equal(parseDuration('5m'), 300_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('12'), 12_000, 'bare seconds');
  t.equal(parseDuration('5 minutes'), undefined);
  t.equal(parseDuration(''), undefined);
});

t.test('tables pad each column to its widest cell plus three spaces; watch rows keep the widths', async (t) => {
  t.equal(renderTable(['NAME', 'AGE'], [['web', '5s'], ['a-much-longer-name', '3m']]),
    'NAME                 AGE\nweb                  5s\na-much-longer-name   3m\n');
  const table = new Table(['NAME', 'STATUS'], [['a', 'Running']]);
  t.equal(table.render([['a', 'Running']]), 'NAME   STATUS\na      Running\n');
  t.equal(table.line(['b', 'Pending']), 'b      Pending\n', 'a later row lines up under the header');
});

t.test('labels and selectors in kubectl\'s text form', async (t) => {
  t.equal(formatLabels(undefined), '<none>');
  t.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
  t.equal(formatSelector({ matchLabels: { app: 'web' }, matchExpressions: [
    { key: 'tier', operator: 'In', values: ['b', 'a'] }, { key: 'x', operator: 'NotIn', values: ['y'] },
    { key: 'e', operator: 'Exists' }, { key: 'canary', operator: 'DoesNotExist' },
  ] }), 'app=web,tier in (a,b),x notin (y),e,!canary');
  t.equal(formatSelector({}), '<none>');
});

const deployment: Deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', creationTimestamp: ago(3 * M), labels: { app: 'web' } },
  spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'httpd', image: 'busybox:1' }, { name: 'side', image: 'sidecar:2' }] } } },
  status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2, replicas: 3 },
};

t.test('deployment, replicaset, namespace, node and event rows', async (t) => {
  const opts = { wide: false, allNamespaces: false, showLabels: false, prefixNames: false };
  const dep = columnsFor(kindInfo('deploy')!, opts);
  t.same(dep.header, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  t.same(dep.row(deployment, NOW), ['web', '2/3', '3', '2', '3m']);
  const wide = columnsFor(kindInfo('deployments')!, { ...opts, wide: true, allNamespaces: true, showLabels: true });
  t.same(wide.header, ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR', 'LABELS']);
  t.same(wide.row(deployment, NOW), ['shop', 'web', '2/3', '3', '2', '3m', 'httpd,side', 'busybox:1,sidecar:2', 'app=web', 'app=web']);
  t.same(columnsFor(kindInfo('deploy')!, { ...opts, prefixNames: true }).row(deployment, NOW)[0], 'deployment.apps/web');

  const rs: ReplicaSet = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-abc', creationTimestamp: ago(10 * S) }, spec: { replicas: 3, selector: {}, template: deployment.spec.template }, status: { replicas: 2, readyReplicas: 1 } };
  const rsCols = columnsFor(kindInfo('rs')!, opts);
  t.same(rsCols.header, ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
  t.same(rsCols.row(rs, NOW), ['web-abc', '3', '2', '1', '10s']);

  const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', creationTimestamp: ago(2 * D) }, status: { phase: 'Active' } };
  t.same(columnsFor(kindInfo('ns')!, { ...opts, allNamespaces: true }).header, ['NAME', 'STATUS', 'AGE'], 'no NAMESPACE column for a kind without one');
  t.same(columnsFor(kindInfo('ns')!, opts).row({ ...ns, metadata: { ...ns.metadata, deletionTimestamp: ago(0) } }, NOW), ['shop', 'Terminating', '2d']);

  const node: Node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: 'n1', creationTimestamp: ago(5 * H), labels: { 'node-role.kubernetes.io/worker': '' } },
    spec: { unschedulable: true },
    status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.2' }], nodeInfo: { agentVersion: 'v0.1.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'runc 1.1' } },
  };
  const nodeCols = columnsFor(kindInfo('nodes')!, { ...opts, wide: true });
  t.same(nodeCols.header, ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
  t.same(nodeCols.row(node, NOW), ['n1', 'Ready,SchedulingDisabled', 'worker', '5h', 'v0.1.0', '10.0.0.2', '<none>', 'Debian', '6.1', 'runc 1.1']);
  t.equal(nodeStatus({ ...node, spec: {}, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }), 'NotReady');
  t.equal(nodeStatus({ ...node, spec: {}, status: {} }), 'Unknown');

  const event: Event = {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'web-1.abc', namespace: 'shop' },
    involvedObject: { kind: 'Pod', name: 'web-1' }, reason: 'BackOff', message: 'Back-off pulling image "x"\n', type: 'Warning',
    count: 4, firstTimestamp: ago(5 * M), lastTimestamp: ago(20 * S), source: { component: 'agent', host: 'n1' },
  };
  const ev = columnsFor(kindInfo('events')!, { ...opts, allNamespaces: true });
  t.same(ev.header, ['NAMESPACE', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  t.same(ev.row(event, NOW), ['shop', '20s', 'Warning', 'BackOff', 'pod/web-1', 'Back-off pulling image "x"']);
});

t.test('-o yaml: one object as itself with sorted keys; several as a List; -o name', async (t) => {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { phase: 'Running' } };
  t.equal(formatObjects([pod], 'yaml', true), [
    'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: p', '  namespace: default', 'spec:', '  containers:', '  - image: i', '    name: c', 'status:', '  phase: Running', '',
  ].join('\n'));
  const list = formatObjects([pod, deployment], 'yaml', false);
  t.match(list, /^apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n/);
  t.match(list, /\nkind: List\nmetadata:\n  resourceVersion: ""\n$/);
  const json = JSON.parse(formatObjects([pod], 'json', true)) as Record<string, unknown>;
  t.same(Object.keys(json), ['apiVersion', 'kind', 'metadata', 'spec', 'status'], 'json keeps kubectl\'s field order, status last');
  t.match(formatObjects([pod], 'json', true), /^\{\n {4}"apiVersion"/, 'four-space indentation');
  t.equal(JSON.parse(formatObjects([], 'json', false)).kind, 'List', 'no objects: an empty List');
  t.equal(formatObjects([pod, deployment], 'name', false), 'pod/p\ndeployment.apps/web\n');
  t.equal(toYaml({ a: '8080', b: 'yes' }), 'a: "8080"\nb: yes\n', 'strings that read as numbers are quoted');
});

t.test('RBAC and service account rows, as kubectl prints them', async (t) => {
  const opts = { wide: false, allNamespaces: false, showLabels: false, prefixNames: false };
  const created = ago(2 * M);
  const binding: RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'devs', namespace: 'shop', creationTimestamp: created },
    subjects: [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'dev' }, { kind: 'ServiceAccount', name: 'ci' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
  };
  t.same(columnsFor(kindInfo('rolebinding')!, opts).header, ['NAME', 'ROLE', 'AGE']);
  t.same(columnsFor(kindInfo('rolebinding')!, opts).row(binding, NOW), ['devs', 'ClusterRole/edit', '2m']);
  t.same(columnsFor(kindInfo('rolebinding')!, { ...opts, wide: true }).row(binding, NOW), ['devs', 'ClusterRole/edit', '2m', 'alice', 'dev', 'shop/ci']);
  t.same(columnsFor(kindInfo('clusterrole')!, opts).row({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'view', creationTimestamp: created } }, NOW), ['view', created]);
  t.same(columnsFor(kindInfo('sa')!, opts).row({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', creationTimestamp: created } }, NOW), ['default', '0', '2m']);
});
