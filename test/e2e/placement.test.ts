// Placement on real agents (two nodes): a NoSchedule taint keeps pods off a node unless they
// tolerate it, required node affinity pins a pod, required pod anti-affinity puts one replica on
// each node and leaves a third Pending with the scheduler's reason, a NoExecute taint evicts the
// pods that do not tolerate it (their Deployment makes them again on the other node), and a pod of
// a higher PriorityClass preempts lower ones (which wait, Pending, once made again); berth drain
// moves a Deployment's pods off a node no faster than its PodDisruptionBudget allows.

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

  // Drain: all three guarded pods on node-b (the first node cordoned meanwhile), a budget of
  // minAvailable 2, and a bare pod there. Without --force the bare pod stops the drain before
  // anything is evicted; with it, the guarded pods leave one at a time, each next eviction refused
  // until the pod made again on the first node is ready.
  t.match(berth(['cordon', first]).stdout, /cordoned/);
  t.equal(berth(['apply', '-f', file('guarded.yaml', `${deployment(image, 'guarded', 3, '')}---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, labels: {app: bare}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: ${image}, command: [sleep, "3600"]}]
`)]).status, 0);
  await running('guarded', 3);
  await running('bare', 1);
  t.same(nodesOf('guarded'), ['node-b', 'node-b', 'node-b']);
  t.match(berth(['uncordon', first]).stdout, /uncordoned/);
  await eventually('the budget allows one', () => /^guarded\s+2\s+N\/A\s+1\s/m.test(berth(['get', 'pdb']).stdout), 30_000, 300);
  const refused = berth(['drain', 'node-b']);
  t.equal(refused.status, 1);
  t.match(refused.stdout, /^node\/node-b cordoned\n$/);
  t.match(refused.stderr, /error: unable to drain node "node-b" due to error: cannot delete Pods that declare no controller \(use --force to override\): default\/bare/);
  t.equal(pods('guarded').length, 3, 'nothing evicted');
  const drained = berth(['drain', 'node-b', '--force', '--timeout', '120s']);
  t.equal(drained.status, 0, drained.stderr);
  t.match(drained.stdout, /node\/node-b already cordoned\n/);
  t.match(drained.stderr, /Warning: deleting Pods that declare no controller: default\/bare/);
  t.equal(drained.stdout.match(/^pod\/guarded-[a-z0-9-]+ evicted$/gm)?.length, 3, drained.stdout);
  t.match(drained.stdout, /^evicting pod default\/bare\n[^]*^pod\/bare evicted\n[^]*node\/node-b drained\n$/m);
  t.match(drained.stderr, /error when evicting pods\/"guarded-[a-z0-9-]+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\. The disruption budget guarded needs 2 healthy pods and has 2 currently\./,
    'the budget held the second eviction back');
  await running('guarded', 3);
  t.same(nodesOf('guarded'), [first, first, first]);
  t.equal(pods('bare').length, 0, 'the bare pod is gone for good');
  t.match(berth(['uncordon', 'node-b']).stdout, /uncordoned/);
  t.equal(berth(['delete', 'deployment', 'guarded']).status, 0);
  t.equal(berth(['delete', 'pdb', 'guarded']).status, 0);
  await eventually('guarded gone', () => pods('guarded').length === 0, 60_000, 300);

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
