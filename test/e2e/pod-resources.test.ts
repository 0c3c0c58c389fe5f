// Pod-level resources on a real agent: the pod's cgroup gets its memory, CPU and pids limits (its
// containers share them: one allocating past the pod's memory is killed), the scheduler counts
// the pod-level request, and Kubernetes' validation refuses a pod request below what its
// containers ask together.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

t.test('pod-level limits on the pod cgroup, pod-level requests in scheduling', async (t) => {
  const { image, berth, file, agent } = await startOneNodeCluster(t, 'tool:1');
  const applied = berth(['apply', '-f', file('pods.yaml', `apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  resources:
    requests: {cpu: 100m, memory: 16Mi}
    limits: {cpu: 500m, memory: 32Mi, pids: "64"}
  containers:
  - name: hog
    image: ${image}
    command: [sh, -c, "sleep 2; exec busybox dd if=/dev/zero of=/dev/null bs=64M count=1"]
  - name: idle
    image: ${image}
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: greedy}
spec:
  resources:
    requests: {cpu: "1000"}
  containers:
  - name: main
    image: ${image}
    command: [sleep, "3600"]
`)]);
  t.equal(applied.status, 0, applied.stderr);
  const pod = (name: string) => JSON.parse(berth(['get', 'pod', name, '-o', 'json']).stdout) as Pod;
  const running = await eventually('shared running', () => (pod('shared').status?.phase === 'Running' ? pod('shared') : undefined), 90_000, 300);
  const group = `pod-${running.metadata.uid}`;
  const parent = agent.host.cgroupParent;
  const read = (hierarchy: string, file: string) => fs.readFileSync(path.join('/sys/fs/cgroup', hierarchy, parent, group, file), 'utf8').trim();
  t.equal(read('memory', 'memory.limit_in_bytes'), String(32 << 20), "the pod's memory limit on its cgroup");
  t.equal(read('cpu', 'cpu.cfs_quota_us'), '50000', '500m of the 100 ms period');
  t.equal(read('pids', 'pids.max'), '64', "the pod's pids limit, lower than the agent's");
  const hog = await eventually('hog killed', () => pod('shared').status?.containerStatuses?.find((c) => c.name === 'hog')?.state?.terminated, 60_000, 300);
  t.match(hog, { exitCode: 137, reason: 'OOMKilled' }, "past the pod's memory, which its containers share: killed");

  const reason = await eventually('greedy pending', () => pod('greedy').status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')?.message, 30_000, 300);
  t.match(reason, /Insufficient cpu/, 'the pod-level request counts, though its container asks for nothing');

  const refused = berth(['apply', '-f', file('bad.yaml', `apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  resources:
    requests: {memory: 50Mi}
    limits: {cpu: 200m}
  containers:
  - name: a
    image: ${image}
    resources: {requests: {memory: 40Mi}, limits: {cpu: 300m}}
  - name: b
    image: ${image}
    resources: {requests: {memory: 20Mi}}
`)]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /spec\.resources\.requests\.memory: must be greater than or equal to aggregate container requests of 60Mi/);
  t.match(refused.stderr, /spec\.containers\[0\]\.resources\.limits\.cpu: must be less than or equal to pod limit of 200m/);

  t.equal(berth(['delete', 'pod', 'shared', 'greedy']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  t.notOk(fs.existsSync(path.join('/sys/fs/cgroup', 'memory', parent, group)), "the pod's memory cgroup removed");
});

// Extended resources: advertised by the agent, counted by the scheduler and the agent, never overcommitted.
// (A short test name: the overlay mount options hold the test directory's path.)
t.test('extended resources', async (t) => {
  const { image, berth, file, agent } = await startOneNodeCluster(t, 'tool:1', [], { agentArgs: ['--extended-resource', 'example.com/dongle=4'] });
  const nodeJson = await eventually('the node', () => JSON.parse(berth(['get', 'nodes', '-o', 'json']).stdout).items[0], 60_000, 300);
  t.equal(nodeJson.status.allocatable['example.com/dongle'], '4', 'the node offers 4');
  const wants = (name: string, n: number) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: [sleep, "3600"]
    resources: {limits: {example.com/dongle: ${n}}}
`;
  t.equal(berth(['apply', '-f', file('a.yaml', wants('first', 3))]).status, 0);
  const first = await eventually('first running', () => {
    const p = JSON.parse(berth(['get', 'pod', 'first', '-o', 'json']).stdout) as Pod;
    return p.status?.phase === 'Running' ? p : undefined;
  }, 90_000, 300).catch((err: Error) => {
    throw new Error(`${err.message}\n${berth(['describe', 'pod', 'first']).stdout}`);
  });
  t.same(first.spec.containers[0]!.resources?.limits, { 'example.com/dongle': '3' });
  t.equal(berth(['apply', '-f', file('b.yaml', wants('second', 2))]).status, 0);
  const reason = await eventually('second pending', () => (JSON.parse(berth(['get', 'pod', 'second', '-o', 'json']).stdout) as Pod).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')?.message, 30_000, 300);
  t.equal(reason, '0/1 nodes are available: 1 Insufficient example.com/dongle.');
  const bad = berth(['apply', '-f', file('bad.yaml', wants('bad', 1).replace('{limits: {example.com/dongle: 1}}', '{requests: {example.com/dongle: 1}, limits: {example.com/dongle: 2}}'))]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /spec\.containers\[0\]\.resources\.requests\["example\.com\/dongle"\]: must be equal to example\.com\/dongle limit of 2/);
  // The first one goes: the second gets the room.
  t.equal(berth(['delete', 'pod', 'first']).status, 0);
  await eventually('second running', () => (JSON.parse(berth(['get', 'pod', 'second', '-o', 'json']).stdout) as Pod).status?.phase === 'Running', 90_000, 300);
  t.equal(berth(['delete', 'pod', 'second']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
});
