// Jepsen's lesson for lease-based leadership: a leader paused past its lease (SIGSTOP) must not
// act when it wakes. Two controller processes on one etcd: the leader is frozen, the other takes
// over and scales a Deployment, the old one is resumed: it steps down, and the cluster holds
// exactly what the new leader made (its late writes, if any, are refused by the store's fence).

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { startTestController, type TestController } from '../fixtures/controller';
import { startEtcd } from '../fixtures/etcd';
import { eventually } from '../fixtures/wait';

const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: registry.example/web:1 }] }
`;

t.test('a leader paused past its lease wakes up deposed and writes nothing', async (t) => {
  const dir = t.testdir({ a: {}, b: {} });
  const etcd = await startEtcd(t);
  const args = ['--store', `etcd://${etcd.endpoint}/berth-pause-${process.pid}/`, '--leader-elect-lease-duration', '2s', '--node-grace-period', '1h'];
  const a = await startTestController(t, dir, { dataRoot: path.join(dir, 'a'), args });
  const b = await startTestController(t, dir, { dataRoot: path.join(dir, 'b'), args });
  const leading = (c: TestController) => /leading as/.test(c.output());
  await eventually('a leader', () => leading(a) || leading(b), 20_000, 100);
  const [leader, other] = leading(a) ? [a, b] : [b, a];
  const file = path.join(dir, 'web.yaml');
  const pods = () => other.berth(['get', 'pods', '-o', 'name']).stdout.split('\n').filter(Boolean);
  fs.writeFileSync(file, deployment(3));
  t.equal(other.berth(['apply', '-f', file]).status, 0);
  await eventually('3 pods', () => pods().length === 3, 20_000, 100);

  process.kill(leader.pid, 'SIGSTOP');
  let resumed = false;
  t.teardown(() => {
    if (!resumed) process.kill(leader.pid, 'SIGCONT');
  });
  await eventually('the other controller to take over', () => leading(other), 20_000, 100);
  fs.writeFileSync(file, deployment(5));
  t.equal(other.berth(['apply', '-f', file]).status, 0);
  await eventually('5 pods, made by the new leader', () => pods().length === 5, 20_000, 100);

  process.kill(leader.pid, 'SIGCONT');
  resumed = true;
  await eventually('the old leader to step down', () => /no longer the leader/.test(leader.output()), 20_000, 100);
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(pods().length, 5, 'exactly the replicas the new leader made: nothing of the old one landed');
  t.equal(other.berth(['get', 'replicasets', '-o', 'name']).stdout.split('\n').filter(Boolean).length, 1, 'one ReplicaSet');
  t.match(leader.output(), /no longer the leader/);
});
