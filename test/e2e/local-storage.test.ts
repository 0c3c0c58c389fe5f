// emptyDir sizeLimit on disk, on a real agent: a pod that writes more than its emptyDir's limit is
// evicted as the kubelet does (its container stopped, phase Failed, reason Evicted, the kubelet's
// message, an Evicted event; it does not run again); a pod within its limit runs on.

import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';
import { emptyDirBreach } from '../../agent/node/local-storage';

const deployment = (image: string, name: string, kib: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      volumes: [{name: cache, emptyDir: {sizeLimit: 1Mi}}]
      containers:
      - name: main
        image: ${image}
        command: [sh, -c, "busybox dd if=/dev/zero of=/cache/fill bs=1024 count=${kib} 2>/dev/null; exec sleep 3600"]
        volumeMounts: [{name: cache, mountPath: /cache}]
`;

t.test('an emptyDir over its sizeLimit evicts its pod', async (t) => {
  const { image, berth, file, agent } = await startOneNodeCluster(t, 'tool:1');
  // A bare pod keeps its failed status to be read (a ReplicaSet deletes its ended pods and makes others).
  const greedy = `apiVersion: v1
kind: Pod
metadata: {name: greedy, labels: {app: greedy}}
spec:
${deployment(image, 'greedy', 2048).split('\n    spec:\n')[1]!.replace(/^  /gm, '')}`;
  t.equal(berth(['apply', '-f', file('apps.yaml', `${greedy}---\n${deployment(image, 'modest', 100)}`)]).status, 0);
  const pods = (app: string) => (JSON.parse(berth(['get', 'pods', '-l', `app=${app}`, '-o', 'json']).stdout) as { items: Pod[] }).items;
  const evicted = await eventually('greedy evicted', () => pods('greedy').find((p) => p.status?.reason === 'Evicted'), 90_000, 300);
  t.match(evicted.status, { phase: 'Failed', reason: 'Evicted', message: 'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". ' });
  await eventually('its container stopped', () => pods('greedy')[0]?.status?.containerStatuses?.[0]?.state?.terminated, 30_000, 300);
  t.match(berth(['get', 'events']).stdout, /Evicted\s+pod\/greedy\s+Usage of EmptyDir volume "cache" exceeds the limit "1Mi"/);
  t.match(berth(['describe', 'pod', 'greedy']).stdout, /\nStatus:\s+Failed\nReason:\s+Evicted\nMessage:\s+Usage of EmptyDir volume "cache" exceeds the limit "1Mi"\./, 'describe shows why');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.equal(pods('greedy')[0]?.status?.containerStatuses?.[0]?.restartCount, 0, 'not restarted, although its policy is Always');
  const modest = pods('modest')[0]!;
  t.equal(modest.status?.phase, 'Running', 'within its limit: running');
  t.notOk(modest.status?.reason);
  t.equal(berth(['delete', 'pod', 'greedy']).status, 0);
  t.equal(berth(['delete', 'deployment', 'modest']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
});

t.test('which emptyDir breaks its limit, pure', async (t) => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], volumes: [
    { name: 'ram', emptyDir: { medium: 'Memory', sizeLimit: '1Ki' } }, { name: 'disk', emptyDir: { sizeLimit: '1Mi' } }, { name: 'free', emptyDir: {} },
  ] } } as unknown as Pod;
  t.equal(emptyDirBreach(pod, new Map([['ram', 1 << 30], ['free', 1 << 30], ['disk', 1 << 20]])), undefined, 'at the limit, memory and unlimited ones not counted');
  t.equal(emptyDirBreach(pod, new Map([['disk', (1 << 20) + 1]])), 'Usage of EmptyDir volume "disk" exceeds the limit "1Mi". ');
});
