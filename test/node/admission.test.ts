// The agent's admission of new pods, as the kubelet re-checks the scheduler: the pure decision
// with the kubelet's reasons and messages, then end to end through a real controller and a real
// agent (pods bound by hand that do not fit, a cordoned node, host ports taken by a host process
// and by another pod), each refused pod Failed with its reason and event, never started, and gone
// once deleted, with nothing left on the host.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { admitPod, type AdmissionInput } from '../../agent/node/admission';
import type { Node, Pod } from '../../proto/resources';
import { hostResidue, startTestAgent } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { freePort, startRegistry } from '../fixtures/registry';
import { podDoc, startCluster, until, type Cluster } from './cluster';

// ---- the decision ----

const node = (o: { unschedulable?: boolean; cpu?: string; memory?: string; pods?: string; labels?: Record<string, string> } = {}): Node => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1', ...o.labels } },
  spec: { unschedulable: o.unschedulable ?? false },
  status: { allocatable: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: o.pods ?? '110' } },
});

const pod = (name: string, o: { cpu?: string; memory?: string; hostPort?: number; selector?: Record<string, string> } = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: {
    nodeName: 'n1',
    ...(o.selector ? { nodeSelector: o.selector } : {}),
    containers: [{
      name: 'c', image: 'i',
      ...(o.cpu || o.memory ? { resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) } } } : {}),
      ...(o.hostPort ? { ports: [{ containerPort: 80, hostPort: o.hostPort }] } : {}),
    }],
  },
});

const decide = (p: Pod, over: Partial<AdmissionInput> = {}) => admitPod({ pod: p, node: node(), admitted: [], portsInUse: [], ...over });

t.test('admission: a pod that fits is admitted', async (t) => {
  t.equal(decide(pod('a', { cpu: '1', memory: '1Gi' }), { admitted: [pod('b', { cpu: '1', memory: '3Gi' })] }), undefined, 'exactly full is fine');
  t.equal(decide(pod('a'), { node: node({ cpu: '0' }) }), undefined, 'no request needs no room');
  t.equal(decide(pod('a', { selector: { zone: 'a' } }), { node: node({ labels: { zone: 'a' } }) }), undefined);
});

t.test('admission: extended resources the node advertises, never overcommitted', async (t) => {
  const dongles = (name: string, n: string): Pod => {
    const p = pod(name);
    p.spec.containers[0]!.resources = { limits: { 'example.com/dongle': n } };
    return p;
  };
  const offering = (n: string): Node => ({ ...node(), status: { allocatable: { ...node().status!.allocatable, 'example.com/dongle': n } } });
  t.equal(decide(dongles('a', '2'), { node: offering('4'), admitted: [dongles('b', '2')] }), undefined, 'exactly full is fine');
  t.same(decide(dongles('a', '3'), { node: offering('4'), admitted: [dongles('b', '2')] }),
    { reason: 'OutOfexample.com/dongle', message: "Node didn't have enough resource: example.com/dongle, requested: 3, used: 2, capacity: 4" });
  t.equal(decide(dongles('a', '1'))?.reason, 'OutOfexample.com/dongle', 'a node that does not advertise it has none');
});

t.test('admission: the kubelet\'s reasons and messages, the first failure wins', async (t) => {
  t.same(decide(pod('a', { cpu: '500m' }), { admitted: [pod('b', { cpu: '1800m' })] }),
    { reason: 'OutOfcpu', message: "Node didn't have enough resource: cpu, requested: 500, used: 1800, capacity: 2000" }, 'cpu in millicores');
  t.same(decide(pod('a', { memory: '1Gi' }), { node: node({ memory: '1Gi' }), admitted: [pod('b', { memory: '512Mi' })] }),
    { reason: 'OutOfmemory', message: "Node didn't have enough resource: memory, requested: 1073741824, used: 536870912, capacity: 1073741824" }, 'memory in bytes');
  t.same(decide(pod('a'), { node: node({ pods: '1' }), admitted: [pod('b')] }),
    { reason: 'OutOfpods', message: "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1" });
  t.same(decide(pod('a', { selector: { zone: 'b' } }), { node: node({ labels: { zone: 'a' } }) }),
    { reason: 'NodeAffinity', message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector" });
  t.same(decide(pod('a'), { node: node({ unschedulable: true }) }),
    { reason: 'NodeUnschedulable', message: 'Predicate NodeUnschedulable failed: node(s) were unschedulable' });
  t.equal(decide(pod('a', { cpu: '3', selector: { zone: 'b' } }), { node: node({ unschedulable: true }) })?.reason, 'NodeUnschedulable', 'a cordon first');
  t.equal(decide(pod('a', { cpu: '3', selector: { zone: 'b' } }))?.reason, 'OutOfcpu', 'then resources, as the kubelet');
});

t.test('admission: a hostPort taken by another pod of the node, or on the host', async (t) => {
  const other = pod('web-1', { hostPort: 8080 });
  t.same(decide(pod('a', { hostPort: 8080 }), { admitted: [other] }), {
    reason: 'NodePorts',
    message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports (hostPort 8080/TCP is published by pod default/web-1)",
  });
  t.equal(decide(pod('a', { hostPort: 8081 }), { admitted: [other] }), undefined, 'another port is free');
  const held = [{ port: { hostIp: '', hostPort: 22, containerPort: 80, protocol: 'tcp' as const }, holder: 'held by a process of the host' }];
  t.same(decide(pod('a', { hostPort: 22 }), { portsInUse: held }), {
    reason: 'NodePorts',
    message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports (hostPort 22/TCP is held by a process of the host)",
  });
});

// ---- end to end ----

async function setup(t: Test) {
  const registry = await startRegistry(t);
  const image = await buildImage({ layers: [busyboxLayer(), [{ path: 'bin/nc', type: 'symlink' as const, linkname: 'busybox' }]], config: { config: { Cmd: ['sh'] } } });
  await pushImage(registry.host, 'box:1', image);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cluster = await startCluster(t, dir);
  const nodeName = `node-${Math.random().toString(36).slice(2, 8)}`;
  const agent = await startTestAgent(t, dir, ['--controller', cluster.address, '--token', await cluster.joinToken(), '--node-name', nodeName]);
  await until('the node to register', async () => (await cluster.controller().registry.tryGet<Node>('Node', undefined, nodeName)) ?? undefined);
  // hostPorts need a namespace whose Pod Security level allows them.
  await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
  return { cluster, agent, nodeName, box: `${registry.host}/box:1` };
}

/** The pod's status once the agent refused it, and the event it recorded. */
async function refused(cluster: Cluster, name: string) {
  const status = await until(`pod ${name} to be refused`, async () => {
    const p = await cluster.pod(name);
    return p?.status?.phase === 'Failed' ? p.status : undefined;
  });
  const event = await until(`the event of pod ${name}`, async () => (await cluster.events(name)).find((e) => e.type === 'Warning' && e.reason === status.reason));
  return { status, event };
}

async function setCordon(cluster: Cluster, nodeName: string, unschedulable: boolean): Promise<void> {
  await cluster.controller().registry.mutate<Node>('Node', undefined, nodeName, (n) => ({ ...n, spec: { ...n.spec, unschedulable } }));
}

t.test('a pod bound by hand is admitted by the agent only if it fits, and never started when it does not', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  const sleeper = (name: string, extra: Partial<Pod['spec']['containers'][number]> = {}) =>
    podDoc(name, nodeName, { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: box, command: ['sleep', '3600'], ...extra }] });

  await cluster.apply(sleeper('greedy', { resources: { requests: { cpu: '100000' } } }));
  const cpu = await refused(cluster, 'greedy');
  const capacity = os.availableParallelism() * 1000;
  t.same({ phase: cpu.status.phase, reason: cpu.status.reason, message: cpu.status.message }, {
    phase: 'Failed', reason: 'OutOfcpu',
    message: `Pod was rejected: Node didn't have enough resource: cpu, requested: 100000000, used: 0, capacity: ${capacity}`,
  });
  t.match(cpu.event, { message: `Node didn't have enough resource: cpu, requested: 100000000, used: 0, capacity: ${capacity}`, source: { component: 'agent', host: nodeName } });

  await cluster.apply(sleeper('hungry', { resources: { limits: { memory: '1Pi' } } }));
  t.equal((await refused(cluster, 'hungry')).status.reason, 'OutOfmemory', 'a limit stands for the request');

  await cluster.apply({ ...sleeper('elsewhere'), spec: { ...sleeper('elsewhere').spec, nodeSelector: { zone: 'nowhere' } } });
  t.equal((await refused(cluster, 'elsewhere')).status.message, "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector");

  await setCordon(cluster, nodeName, true);
  // The agent hears of the cordon with its next lease renewal (every second here).
  await new Promise((r) => setTimeout(r, 2500));
  await cluster.apply(sleeper('cordoned'));
  t.same((await refused(cluster, 'cordoned')).status.reason, 'NodeUnschedulable');
  await setCordon(cluster, nodeName, false);
  await new Promise((r) => setTimeout(r, 2500));
  await cluster.apply(sleeper('fits', { resources: { requests: { cpu: '10m', memory: '8Mi' } } }));
  await until('pod fits to run', async () => (await cluster.pod('fits'))?.status?.phase === 'Running');

  const ps = agent.berth(['ps', '-a']);
  t.equal(ps.status, 0, ps.stderr);
  t.match(ps.stdout, /k8s_main_fits_default_/, 'ps lists the pod that runs');
  t.notMatch(ps.stdout, /_(greedy|hungry|elsewhere|cordoned)_/, 'and no container of a refused pod');
  for (const name of ['greedy', 'hungry', 'elsewhere', 'cordoned', 'fits']) await cluster.deletePod(name);
  for (const name of ['greedy', 'hungry', 'elsewhere', 'cordoned', 'fits']) await until(`pod ${name} gone`, async () => (await cluster.pod(name)) === undefined);
  t.same(await until('the host to be clean', () => (hostResidue(agent).length === 0 ? [] : undefined)).catch(() => hostResidue(agent)), []);
});

t.test('a hostPort already in use on the node fails the pod with NodePorts instead of a silent DNAT', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  // A process of the host listening on the port (the agent runs in this network namespace).
  const listener = net.createServer((s) => s.end('the host\'s own\n'));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { listener.close(); });
  const taken = (listener.address() as net.AddressInfo).port;
  const published = (name: string, hostPort: number) => podDoc(name, nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'web', image: box, command: ['sh', '-c', 'while true; do nc -l -p 80 -e echo from-the-pod; done'], ports: [{ containerPort: 80, hostPort }] }],
  });

  await cluster.apply(published('shadow', taken));
  const host = await refused(cluster, 'shadow');
  t.same([host.status.reason, host.status.message], ['NodePorts',
    `Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports (hostPort ${taken}/TCP is held by a process of the host)`]);
  t.equal(await readLine(taken), 'the host\'s own', 'the host\'s listener still gets its traffic');

  const free = await freePort();
  await cluster.apply(published('first', free));
  await until('pod first to run', async () => (await cluster.pod('first'))?.status?.phase === 'Running');
  await cluster.apply(published('second', free));
  const pod = await refused(cluster, 'second');
  t.equal(pod.status.message, `Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports (hostPort ${free}/TCP is published by pod default/first)`);
  t.equal(pod.event.reason, 'NodePorts');
  t.equal(await until('the first pod to answer', () => readLine(free).catch(() => undefined)), 'from-the-pod', 'the port stays the first pod\'s');

  for (const name of ['shadow', 'first', 'second']) await cluster.deletePod(name);
  for (const name of ['shadow', 'first', 'second']) await until(`pod ${name} gone`, async () => (await cluster.pod(name)) === undefined);
  t.same(await until('the host to be clean', () => (hostResidue(agent).length === 0 ? [] : undefined)).catch(() => hostResidue(agent)), []);
});


function readLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (b) => { data += b.toString(); });
    socket.on('error', reject);
    socket.on('close', () => (data ? resolve(data.trim()) : reject(new Error('closed without data'))));
  });
}
