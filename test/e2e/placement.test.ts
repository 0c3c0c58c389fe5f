// Placement on real agents (two nodes): a NoSchedule taint keeps pods off a node unless they
// tolerate it, required node affinity pins a pod, required pod anti-affinity puts one replica on
// each node and leaves a third Pending with the scheduler's reason, a NoExecute taint evicts the
// pods that do not tolerate it (their Deployment makes them again on the other node), and a pod of
// a higher PriorityClass preempts lower ones (which wait, Pending, once made again).

import * as path from 'node:path';
import t from 'tap';
import type { Node, Pod } from '../../proto/resources';
import { makeTestHost, startTestAgent } from '../fixtures/agent';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const deployment = (image: string, name: string, replicas: number, spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: ${image}, command: [sleep, "3600"]}]
${spec}`;

t.test('taints, tolerations, node affinity and pod anti-affinity on two nodes', async (t) => {
  const cluster = await startOneNodeCluster(t, 'tool:1');
  const { image, berth, file, controller, dir } = cluster;
  const second = await startTestAgent(t, path.join(dir, 'agent-b'), ['--controller', controller.address, '--token', controller.token(), '--node-name', 'node-b', '--labels', 'disk=ssd', '--insecure-registry', image.split('/')[0]!], makeTestHost(t));
  await eventually('two nodes Ready', () => berth(['get', 'nodes']).stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 2, 60_000, 300);
  const first = (JSON.parse(berth(['get', 'nodes', '-o', 'json']).stdout) as { items: Node[] }).items.map((n) => n.metadata.name!).find((n) => n !== 'node-b')!;
  const pods = (app: string) => (JSON.parse(berth(['get', 'pods', '-l', `app=${app}`, '-o', 'json']).stdout) as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp);
  const nodesOf = (app: string) => pods(app).map((p) => p.spec.nodeName ?? '<none>').sort();
  const running = (app: string, count: number) => eventually(`${count} ${app} running`, () => {
    const list = pods(app);
    return list.length === count && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
  }, 90_000, 300);

  // node-b tainted NoSchedule: untolerating pods go to the first node only.
  t.match(berth(['taint', 'nodes', 'node-b', 'dedicated=db:NoSchedule']).stdout, /^node\/node-b tainted\n$/);
  t.match(berth(['taint', 'nodes', 'node-b', 'dedicated=db:NoSchedule']).stderr, /node node-b already has dedicated taint\(s\) with same effect\(s\) and --overwrite is false/);
  t.match(berth(['describe', 'node', 'node-b']).stdout, /\nTaints:\s+dedicated=db:NoSchedule\n/);
  t.equal(berth(['apply', '-f', file('plain.yaml', deployment(image, 'plain', 3, ''))]).status, 0);
  await running('plain', 3);
  t.same(nodesOf('plain'), [first, first, first], 'none on the tainted node');

  // A pod that tolerates the taint and requires the node's label goes there.
  const pinned = `      tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [ssd]}]}]
`;
  t.equal(berth(['apply', '-f', file('db.yaml', deployment(image, 'db', 1, pinned))]).status, 0);
  await running('db', 1);
  t.same(nodesOf('db'), ['node-b']);

  // One per node by anti-affinity: the third waits with the reason.
  t.match(berth(['taint', 'nodes', 'node-b', 'dedicated-']).stdout, /^node\/node-b untainted\n$/);
  const apart = `      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: apart}}
              topologyKey: kubernetes.io/hostname
`;
  t.equal(berth(['apply', '-f', file('apart.yaml', deployment(image, 'apart', 3, apart))]).status, 0);
  const reason = await eventually('the third pending', () => pods('apart').map((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')?.message).find(Boolean), 60_000, 300);
  t.equal(reason, "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
  await eventually('two running', () => pods('apart').filter((p) => p.status?.phase === 'Running').length === 2, 60_000, 300);
  t.same(nodesOf('apart').filter((n) => n !== '<none>'), [first, 'node-b'].sort(), 'one on each node');
  t.equal(berth(['delete', 'deployment', 'apart']).status, 0);

  // NoExecute on the first node: its plain pods go and come back on node-b; db (on node-b) stays.
  t.match(berth(['taint', 'nodes', first, 'maintenance=now:NoExecute']).stdout, new RegExp(`^node/${first} tainted\n$`));
  await eventually('plain moved to node-b', () => {
    const n = nodesOf('plain');
    return n.length === 3 && n.every((x) => x === 'node-b') && pods('plain').every((p) => p.status?.phase === 'Running') ? n : undefined;
  }, 90_000, 300);
  t.match(berth(['get', 'events']).stdout, /TaintManagerEviction\s+pod\/plain-[a-z0-9-]+\s+Marking for deletion Pod default\/plain-/);
  t.match(berth(['taint', 'nodes', first, 'maintenance:NoExecute-']).stdout, /untainted/);
  t.match(berth(['taint', 'nodes', first, 'nothing-']).stderr, /taint "nothing" not found/);

  t.equal(berth(['delete', 'deployment', 'plain', 'db']).status, 0);
  await eventually('plain and db gone', () => pods('plain').length + pods('db').length === 0, 60_000, 300);

  // Priority: a pod of a higher PriorityClass takes the room of lower ones (each node offers its
  // host's cores; the filler asks for most of both nodes).
  const cores = Number((JSON.parse(berth(['get', 'node', 'node-b', '-o', 'json']).stdout) as Node).status!.allocatable!.cpu);
  const share = Math.floor((cores * 1000) / 2) - 50;
  const filler = `      containers: [{name: main, image: ${image}, command: [sleep, "3600"], resources: {requests: {cpu: ${share}m}}}]
`;
  t.equal(berth(['apply', '-f', file('filler.yaml', deployment(image, 'filler', 4, '').replace(/      containers: .*\n/, filler))]).status, 0);
  await running('filler', 4);
  t.equal(berth(['apply', '-f', file('urgent.yaml', `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: urgent}
value: 100000
description: for the test
---
${deployment(image, 'urgent', 1, `      priorityClassName: urgent
`).replace(/      containers: .*\n/, `      containers: [{name: main, image: ${image}, command: [sleep, "3600"], resources: {requests: {cpu: ${share + 200}m}}}]
`)}`)]).status, 0);
  const [urgent] = await running('urgent', 1).catch((err: Error) => {
    throw new Error(`${err.message}\n${berth(['describe', 'pods', '-l', 'app=urgent']).stdout}\n${berth(['get', 'events']).stdout}\n${berth(['get', 'pods', '-o', 'wide']).stdout}`);
  });
  t.equal(urgent!.spec.priority, 100000, "the class's value");
  t.match(berth(['get', 'events']).stdout, /Preempted\s+pod\/filler-[a-z0-9-]+\s+Preempted by pod [0-9a-f-]+ on node /);
  const fillers = await eventually('the victims made again, pending', () => {
    const list = pods('filler');
    const pending = list.filter((p) => !p.spec.nodeName && p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'));
    return list.length === 4 && pending.length === 2 ? pending : undefined;
  }, 60_000, 300);
  t.match(fillers[0]!.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message, /Insufficient cpu/, 'lower priority: they wait, taking nothing back');
  t.equal(berth(['delete', 'deployment', 'filler', 'urgent']).status, 0);
  t.equal(berth(['delete', 'priorityclass', 'urgent']).status, 0);
  await eventually('no containers left', () => cluster.agent.berth(['ps', '-aq']).stdout.trim() === '' && second.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await second.stop();
  await cluster.agent.stop();
});
