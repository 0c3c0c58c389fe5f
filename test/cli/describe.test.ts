// berth describe's text: kubectl's layout (aligned "Key:  value" blocks, sections, tables) and
// the events table at the end.

import t from 'tap';
import type { Deployment, Event, Node, Pod, ReplicaSet } from '../../proto/resources';
import { describeDeployment, describeNode, describePod, eventsSection } from '../../cli/cluster/describe-format';
import { DescribeWriter } from '../../cli/cluster/describe-writer';

const NOW = new Date('2024-05-01T12:00:00Z');

const event = (reason: string, message: string, last: string, extra: Partial<Event> = {}): Event => ({
  apiVersion: 'v1', kind: 'Event', metadata: { name: `web.${reason}`, namespace: 'default' },
  involvedObject: { kind: 'Pod', name: 'web-1' }, reason, message, type: 'Normal', lastTimestamp: last, source: { component: 'scheduler' }, ...extra,
});

t.test('the writer aligns the values of consecutive fields; a header ends the block', async (t) => {
  const w = new DescribeWriter().field(0, 'Name', 'web').field(0, 'Namespace', 'default').list(0, 'Labels', ['a=1', 'b=2']).line(0, 'Containers:').field(2, 'Image', 'busybox');
  t.equal(w.toString(), [
    'Name:       web',
    'Namespace:  default',
    'Labels:     a=1',
    '            b=2',
    'Containers:',
    '  Image:  busybox',
    '',
  ].join('\n'));
});

t.test('events: oldest first, repeats counted, <none> without any', async (t) => {
  const none = new DescribeWriter();
  eventsSection(none, [], NOW);
  t.equal(none.toString(), 'Events:  <none>\n');
  const w = new DescribeWriter();
  eventsSection(w, [
    event('Pulling', 'Pulling image "busybox"', '2024-05-01T11:59:50Z', { source: { component: 'agent', host: 'n1' }, count: 3, firstTimestamp: '2024-05-01T11:58:00Z', type: 'Warning' }),
    event('Scheduled', 'Successfully assigned default/web-1 to n1', '2024-05-01T11:59:00Z'),
  ], NOW);
  t.equal(w.toString(), [
    'Events:',
    '  Type     Reason     Age               From       Message',
    '  ----     ------     ----              ----       -------',
    '  Normal   Scheduled  60s               scheduler  Successfully assigned default/web-1 to n1',
    '  Warning  Pulling    10s (x3 over 2m)  agent, n1  Pulling image "busybox"',
    '',
  ].join('\n'));
});

const pod: Pod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u', controller: true }] },
  spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'busybox:1', ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'prod' }] }] },
  status: {
    phase: 'Pending', hostIP: '10.0.0.2', podIP: '10.88.0.5', startTime: '2024-05-01T11:59:00Z',
    conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }],
    containerStatuses: [{ name: 'web', image: 'busybox:1', ready: false, restartCount: 2, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "busybox:1"' } } }],
  },
};

t.test('a pod: node, IP, status, containers with image, state, reason, ready, restarts; conditions; events', async (t) => {
  const text = describePod(pod, { events: [event('Scheduled', 'Successfully assigned default/web-1 to n1', '2024-05-01T11:59:00Z')] }, NOW);
  t.match(text, /^Name:\s+web-1\nNamespace:\s+default\nNode:\s+n1\/10\.0\.0\.2\nStart Time:\s+Wed, 01 May 2024 11:59:00 \+0000\nLabels:\s+app=web\n/);
  t.match(text, /\nStatus:\s+Pending\nIP:\s+10\.88\.0\.5\nControlled By:\s+ReplicaSet\/web-abc\nContainers:\n  web:\n/);
  t.match(text, /\n    Image:\s+busybox:1\n/);
  t.match(text, /\n    Port:\s+8080\/TCP\n/);
  t.match(text, /\n    State:\s+Waiting\n      Reason:\s+ImagePullBackOff\n      Message:\s+Back-off pulling image "busybox:1"\n    Ready:\s+False\n    Restart Count:\s+2\n/);
  t.match(text, /\n      MODE:\s+prod\n/);
  t.match(text, /\nConditions:\n  Type {10}Status\n  PodScheduled  True\n  Ready {9}False\n/);
  t.match(text, /\nEvents:\n  Type +Reason +Age +From +Message\n.*\n  Normal +Scheduled +60s +scheduler +Successfully assigned default\/web-1 to n1\n$/);
});

t.test('a deployment: replicas line, strategy, conditions, old and new ReplicaSets', async (t) => {
  const tpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:2' }] } };
  const d: Deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd', creationTimestamp: '2024-05-01T11:00:00Z', annotations: { 'deployment.kubernetes.io/revision': '2' } },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tpl, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } },
    status: { replicas: 4, updatedReplicas: 1, availableReplicas: 3, unavailableReplicas: 1, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }] },
  };
  const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }];
  const rs = (name: string, image: string, rev: string, replicas: number): ReplicaSet => ({
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default', ownerReferences: owner, annotations: { 'deployment.kubernetes.io/revision': rev } },
    spec: { replicas, selector: {}, template: { metadata: { labels: { app: 'web', 'pod-template-hash': name.slice(4) } }, spec: { containers: [{ name: 'web', image }] } } },
    status: { replicas },
  });
  const text = describeDeployment(d, { events: [], replicaSets: [rs('web-old', 'web:1', '1', 3), rs('web-new', 'web:2', '2', 1), rs('web-older', 'web:0', '0', 0)] }, NOW);
  t.match(text, /\nReplicas:\s+3 desired \| 1 updated \| 4 total \| 3 available \| 1 unavailable\n/);
  t.match(text, /\nStrategyType:\s+RollingUpdate\n/);
  t.match(text, /\nRollingUpdateStrategy:\s+0 max unavailable, 1 max surge\n/);
  t.match(text, /\nConditions:\n  Type +Status +Reason\n  ----.*\n  Available +True +MinimumReplicasAvailable\n  Progressing +True +ReplicaSetUpdated\n/);
  t.match(text, /\nOldReplicaSets:\s+web-old \(3\/3 replicas created\)\nNewReplicaSet:\s+web-new \(1\/1 replicas created\)\nEvents:\s+<none>\n$/);
  t.notMatch(text, /web-older/, 'a scaled-down old ReplicaSet is not listed');
});

t.test('a node: conditions, capacity, allocatable, its pods', async (t) => {
  const node: Node = {
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', creationTimestamp: '2024-05-01T10:00:00Z' },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', message: 'agent is posting ready status', lastUpdateTime: '2024-05-01T11:59:58Z', lastTransitionTime: '2024-05-01T10:00:00Z' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.2' }],
      capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '7Gi', pods: '110' },
    },
  };
  const text = describeNode(node, { events: [], pods: [pod] }, NOW);
  t.match(text, /\nConditions:\n  Type +Status +LastHeartbeatTime +LastTransitionTime +Reason +Message\n  ----.*\n  Ready +True +Wed, 01 May 2024 11:59:58 \+0000 +Wed, 01 May 2024 10:00:00 \+0000 +AgentReady +agent is posting ready status\n/);
  t.match(text, /\nAddresses:\n  InternalIP:\s+10\.0\.0\.2\nCapacity:\n  cpu:\s+4\n  memory:\s+8Gi\n  pods:\s+110\nAllocatable:\n  cpu:\s+4\n  memory:\s+7Gi\n/);
  t.match(text, /\nNon-terminated Pods: +\(1 in total\)\n  Namespace +Name +CPU Requests +Memory Requests +Status +Age\n  -.*\n  default +web-1 +0 +0 +ImagePullBackOff +<unknown>\n/);
});
