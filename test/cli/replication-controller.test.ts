// A v1 ReplicationController (Kubernetes' documentation example, no selector: the template's
// labels) through the CLI against a real controller (no agents: pods stay unscheduled): its pods
// made with it as their owner, get rc's columns, scale rc, and its pods gone with it.

import t from 'tap';
import type { Pod, ReplicationController } from '../../proto/resources';
import { startTestController } from '../fixtures/controller';
import { eventually } from '../fixtures/wait';

t.test('a ReplicationController keeps its replicas, scales, and takes its pods with it', async (t) => {
  const dir = t.testdir({ home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const berth = (args: string[], input?: string) => ctl.berth(args, { env: { HOME: `${dir}/home`, BERTH_SERVER: '' }, ...(input !== undefined ? { input } : {}) });
  const applied = berth(['apply', '-f', '-'], `apiVersion: v1
kind: ReplicationController
metadata:
  name: nginx
spec:
  replicas: 3
  template:
    metadata:
      name: nginx
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
`);
  t.equal(applied.status, 0, applied.stderr);
  t.equal(applied.stdout, 'replicationcontroller/nginx created\n');
  const pods = () => (JSON.parse(berth(['get', 'pods', '-l', 'app=nginx', '-o', 'json']).stdout) as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp);
  const made = await eventually('three pods', () => (pods().length === 3 ? pods() : undefined), 30_000, 200);
  const rc = JSON.parse(berth(['get', 'rc', 'nginx', '-o', 'json']).stdout) as ReplicationController;
  t.same(rc.spec.selector, { app: 'nginx' }, 'the selector defaults to the template\'s labels');
  for (const p of made) t.match(p.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'nginx', uid: rc.metadata.uid, controller: true }]);
  await eventually('status', () => /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nnginx\s+3\s+3\s+0\s/.test(berth(['get', 'rc']).stdout), 30_000, 200);
  t.equal(berth(['scale', 'rc/nginx', '--replicas=1']).stdout, 'replicationcontroller/nginx scaled\n');
  await eventually('one pod', () => pods().length === 1, 30_000, 200);
  const bad = berth(['apply', '-f', '-'], 'apiVersion: v1\nkind: ReplicationController\nmetadata: {name: odd}\nspec:\n  selector: {app: a}\n  template:\n    metadata: {labels: {app: b}}\n    spec: {containers: [{name: c, image: x}]}\n');
  t.equal(bad.status, 1);
  t.match(bad.stderr, /spec\.selector: does not select the pod template's labels/);
  t.equal(berth(['delete', 'rc', 'nginx']).status, 0);
  await eventually('its pods gone', () => pods().length === 0, 30_000, 200);
});
