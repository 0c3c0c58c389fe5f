// Lifecycle hooks on a real agent: postStart runs right after the container starts and preStop
// before it is stopped (both writing to a hostPath the test reads); a failing postStart kills its
// container (FailedPostStartHook), which restarts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

// The hostPath the test reads needs a namespace that allows it.
const pods = (image: string, dir: string) => `apiVersion: v1
kind: Namespace
metadata: {name: hooks, labels: {pod-security.kubernetes.io/enforce: privileged}}
---
apiVersion: v1
kind: Pod
metadata: {name: hooks, namespace: hooks}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{name: log, hostPath: {path: ${dir}, type: DirectoryOrCreate}}]
  containers:
  - name: main
    image: ${image}
    command: [sh, -c, "trap 'echo term >> /log/events; exit 0' TERM; while true; do sleep 1; done"]
    volumeMounts: [{name: log, mountPath: /log}]
    lifecycle:
      postStart: {exec: {command: [sh, -c, "echo post-start >> /log/events"]}}
      preStop: {exec: {command: [sh, -c, "echo pre-stop >> /log/events"]}}
---
apiVersion: v1
kind: Pod
metadata: {name: bad-hook, namespace: hooks}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: [sleep, "3600"]
    lifecycle:
      postStart: {exec: {command: [sh, -c, "echo no good; exit 3"]}}
`;

t.test('postStart and preStop hooks', async (t) => {
  const { image, berth, file, dir, agent } = await startOneNodeCluster(t, 'tool:1');
  const logDir = path.join(dir, 'hook-log');
  const applied = berth(['apply', '-f', file('pods.yaml', pods(image, logDir))]);
  t.equal(applied.status, 0, applied.stderr);
  await eventually('hooks running', () => (JSON.parse(berth(['get', 'pod', 'hooks', '-n', 'hooks', '-o', 'json']).stdout) as Pod).status?.phase === 'Running', 90_000, 300);
  const events = path.join(logDir, 'events');
  t.equal(await eventually('postStart ran', () => (fs.existsSync(events) ? fs.readFileSync(events, 'utf8') : undefined), 30_000, 200), 'post-start\n');

  // The failing hook: the container is killed and started again.
  const failed = await eventually('FailedPostStartHook', () => berth(['get', 'events', '-n', 'hooks', '--field-selector', 'involvedObject.name=bad-hook']).stdout.match(/FailedPostStartHook\s+pod\/bad-hook\s+(.*)/)?.[1], 60_000, 300);
  t.match(failed, /PostStartHook failed: command "sh -c echo no good; exit 3" exited with 3: no good/);
  await eventually('bad-hook restarted', () => ((JSON.parse(berth(['get', 'pod', 'bad-hook', '-n', 'hooks', '-o', 'json']).stdout) as Pod).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 60_000, 300);

  // Deleting runs preStop first, then the stop signal.
  t.equal(berth(['delete', 'pod', '-n', 'hooks', 'hooks', 'bad-hook']).status, 0);
  await eventually('hooks gone', () => berth(['get', 'pod', '-n', 'hooks', 'hooks']).status !== 0, 60_000, 300);
  t.equal(fs.readFileSync(events, 'utf8'), 'post-start\npre-stop\nterm\n', 'preStop before SIGTERM');
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await agent.stop();
});
