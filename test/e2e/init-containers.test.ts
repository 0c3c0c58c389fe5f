// Init containers gating a Deployment, on a real controller and agent: its pods wait in Init:0/3
// until the Service their first init container looks up exists in the cluster DNS, then the next
// prepares a shared emptyDir, a sidecar starts, and only then the app container, which reads what
// was prepared; READY counts the sidecar. An init container that fails is retried
// (Init:CrashLoopBackOff), or fails the pod with restartPolicy Never (Init:Error).

import * as path from 'node:path';
import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const app = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: 1
      initContainers:
        - name: wait-for-db
          image: ${image}
          command: [sh, -c, "until nslookup db.default.svc.cluster.local; do sleep 1; done"]
        - name: prepare
          image: ${image}
          command: [sh, -c, "echo prepared > /work/state"]
          volumeMounts: [{name: work, mountPath: /work}]
        - name: logger
          image: ${image}
          restartPolicy: Always
          command: [sleep, "3600"]
      containers:
        - name: main
          image: ${image}
          command: [sh, -c, "cat /work/state && exec sleep 3600"]
          volumeMounts: [{name: work, mountPath: /work}]
      volumes: [{name: work, emptyDir: {}}]
`;

const db = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  ports: [{port: 5432}]
`;

const failing = (image: string, name: string, restartPolicy: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: ${restartPolicy}
  terminationGracePeriodSeconds: 1
  initContainers: [{name: check, image: ${image}, command: [sh, -c, "exit 3"]}]
  containers: [{name: main, image: ${image}, command: [sleep, "3600"]}]
`;

t.test('init containers gate a Deployment until the Service they wait for exists', async (t) => {
  const { image, agent, berth, file, dir } = await startOneNodeCluster(t, 'tool:1', [{ path: 'bin/nslookup', type: 'symlink', linkname: 'busybox' }]);
  const pods = () => (JSON.parse(berth(['get', 'pods', '-l', 'app=app', '-o', 'json']).stdout) as { items: Pod[] }).items;

  t.equal(berth(['apply', '-f', file('app.yaml', app(image))]).status, 0);
  await eventually('both pods waiting in their first init container', () => {
    const out = berth(['get', 'pods', '-l', 'app=app']).stdout;
    return (out.match(/\s0\/2\s+Init:0\/3\s/g) ?? []).length === 2 ? out : undefined;
  }, 90_000, 300);
  const waiting = pods()[0]!;
  t.equal(waiting.status?.phase, 'Pending');
  t.same(waiting.status?.containerStatuses?.[0]?.state, { waiting: { reason: 'PodInitializing' } }, 'the app container waits');
  t.match(waiting.status?.conditions?.find((c) => c.type === 'Initialized'), { status: 'False', reason: 'ContainersNotInitialized' });
  t.equal(agent.berth(['ps', '-q', '--filter', 'label=io.kubernetes.container.name=main']).stdout.trim(), '', 'no app container was made');

  t.equal(berth(['apply', '-f', file('db.yaml', db)]).status, 0);
  await eventually('both pods Running with the sidecar counted', () => {
    const out = berth(['get', 'pods', '-l', 'app=app']).stdout;
    return (out.match(/\s2\/2\s+Running\s/g) ?? []).length === 2 ? out : undefined;
  }, 90_000, 300);
  const ready = pods()[0]!;
  t.same(ready.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.reason ?? (s.state?.running ? 'running' : '')]), [['wait-for-db', 'Completed'], ['prepare', 'Completed'], ['logger', 'running']]);
  t.match(ready.status?.conditions?.find((c) => c.type === 'Initialized'), { status: 'True' });
  const logs = berth(['logs', ready.metadata.name!, '-c', 'main']);
  t.equal(logs.stdout, 'prepared\n', `the app read what the init container prepared: ${logs.stderr}`);
  t.match(berth(['describe', 'pod', ready.metadata.name!]).stdout, /Init Containers:\n {2}wait-for-db:/);

  t.equal(berth(['apply', '-f', file('retry.yaml', failing(image, 'retry', 'Always')), '-f', file('never.yaml', failing(image, 'never', 'Never'))]).status, 0);
  await eventually('Init:CrashLoopBackOff and Init:Error', () => {
    const out = berth(['get', 'pods', 'retry', 'never']).stdout;
    return /never\s+0\/1\s+Init:Error\s/.test(out) && /retry\s+0\/1\s+Init:(CrashLoopBackOff|Error)\s/.test(out) ? out : undefined;
  }, 90_000, 300);
  t.equal((JSON.parse(berth(['get', 'pod', 'never', '-o', 'json']).stdout) as Pod).status?.phase, 'Failed', 'restartPolicy Never: the pod failed');
  await eventually('the retried one restarts', () => ((JSON.parse(berth(['get', 'pod', 'retry', '-o', 'json']).stdout) as Pod).status?.initContainerStatuses?.[0]?.restartCount ?? 0) >= 1, 60_000, 300);

  t.equal(berth(['delete', '-f', path.join(dir, 'app.yaml'), '-f', path.join(dir, 'retry.yaml'), '-f', path.join(dir, 'never.yaml'), '-f', path.join(dir, 'db.yaml')]).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await agent.stop();
});
