// The orchestrator end to end on several hosts: a real controller and three real agents, each
// agent on its own "host" (a network namespace of this test, joined to a test bridge), a real
// registry on the bridge, real runc containers. Through the real CLI: a Deployment of 6 spreads
// 2/2/2 and runs; a rolling update converges without ever dropping below replicas -
// maxUnavailable ready pods (sampled throughout); scale up and down; a host goes down (agent
// killed, link cut) and its pods are replaced on the others; it comes back and no replica runs
// twice; delete leaves no container anywhere.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { loadClusterApi, type ClusterClient } from '../../proto/grpc';
import type { Node, Pod } from '../../proto/resources';
import { makeTestHost, startTestAgent, type TestAgent } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';
import { kubeconfigCredentials } from '../fixtures/credentials';
import { makeTestNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually as waitFor } from '../fixtures/wait';

const REPLICAS = 6;

function deploymentYaml(image: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: main
          image: ${image}
          command: ["sleep", "3600"]
          resources:
            requests: {cpu: 10m, memory: 8Mi}
          # An exec probe is a runc exec: on a loaded machine one can take over the default 1 s
          # timeout, and three in a row would make a ready pod unready mid-rollout.
          readinessProbe:
            exec: {command: ["true"]}
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 5
`;
}


const eventually = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 90_000) => waitFor(what, probe, timeoutMs, 200);

t.test('three hosts: spread, rolling update, scale, host loss and return, delete', async (t) => {
  const dir = t.testdir();
  const net = makeTestNetwork(t, 3);
  const registry = await startRegistry(t, { bindAddress: net.gateway });
  const v1 = await buildImage({ layers: [busyboxLayer()] });
  const v2 = await buildImage({ layers: [busyboxLayer(), [{ path: 'version', type: 'file', content: '2\n' }]] });
  await pushImage(registry.host, 'web:1', v1);
  await pushImage(registry.host, 'web:2', v2);

  const controller = await startTestController(t, dir, { listen: `${net.gateway}:0`, args: ['--node-grace-period', '4s', '--pod-eviction-timeout', '3s'] });
  const hosts = net.hosts.map((h) => ({ net: h, testHost: makeTestHost(t), agent: undefined as TestAgent | undefined }));
  const startAgentOn = async (i: number) => {
    const h = hosts[i]!;
    h.agent = await startTestAgent(t, path.join(dir, h.net.netns), [
      '--controller', controller.address, '--token', controller.token(), '--node-name', h.net.netns, '--node-ip', h.net.ip, '--insecure-registry', registry.host,
    ], h.testHost, { netns: h.net.netns });
  };
  for (let i = 0; i < hosts.length; i++) await startAgentOn(i);

  const client = new (loadClusterApi().berth.cluster.v1.Cluster)(controller.address, kubeconfigCredentials(controller.kubeconfig)) as ClusterClient;
  t.teardown(() => client.close());
  const listPods = () => new Promise<Pod[]>((resolve, reject) =>
    client.List({ kind: 'pods', namespace: 'default', labelSelector: 'app=web', fieldSelector: '' }, (err, res) =>
      (err ? reject(err) : resolve(res!.items!.map((i) => JSON.parse(i.json!) as Pod)))));
  const isReady = (p: Pod) => !p.metadata.deletionTimestamp && !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  /** Containers really running on each host, by the agents' own ps. */
  const running = (i: number) => hosts[i]!.agent!.berth(['ps', '-q']).stdout.split('\n').filter(Boolean).length;

  const manifest = path.join(dir, 'web.yaml');
  const apply = (image: string, replicas: number) => {
    fs.writeFileSync(manifest, deploymentYaml(`${registry.host}/${image}`, replicas));
    const r = controller.berth(['apply', '-f', manifest]);
    t.equal(r.status, 0, `apply ${image} x${replicas}: ${r.stderr}`);
  };
  const rolledOut = (image: string, replicas: number) => async () => {
    const pods = await listPods();
    const current = pods.filter((p) => !p.metadata.deletionTimestamp);
    return pods.length === replicas && current.every((p) => isReady(p) && p.spec.containers[0]!.image.endsWith(image)) ? pods : undefined;
  };

  // Each agent joins (a TLS handshake to pin the CA, a key, a signed certificate) and registers:
  // the spread below needs all three nodes Ready first, as a user would check with get nodes.
  await eventually('three nodes Ready', async () => {
    const nodes = await new Promise<Node[]>((resolve, reject) =>
      client.List({ kind: 'nodes', namespace: '', labelSelector: '', fieldSelector: '' }, (err, res) => (err ? reject(err) : resolve(res!.items!.map((i) => JSON.parse(i.json!) as Node)))));
    return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 3;
  });

  await t.test('a Deployment of 6 spreads 2/2/2 and runs', async (t) => {
    apply('web:1', REPLICAS);
    const pods = await eventually('6 ready pods', rolledOut('web:1', REPLICAS));
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    t.same([...perNode.values()].sort(), [2, 2, 2], `${JSON.stringify([...perNode])}; ${controller.berth(['get', 'events']).stdout}${controller.berth(['get', 'nodes']).stdout}`);
    t.same(hosts.map((_, i) => running(i)), [2, 2, 2], 'two containers really run on each host');
    const status = controller.berth(['rollout', 'status', 'deployment/web', '--timeout', '60s']);
    t.equal(status.status, 0, status.stderr);
    t.match(status.stdout, /successfully rolled out/);
  });

  await t.test('a rolling update never drops below replicas - maxUnavailable ready', async (t) => {
    let minReady = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        minReady = Math.min(minReady, (await listPods()).filter(isReady).length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    apply('web:2', REPLICAS);
    await eventually('all pods on web:2', rolledOut('web:2', REPLICAS));
    sampling = false;
    await sampler;
    t.ok(minReady >= REPLICAS - 1, `lowest ready count seen: ${minReady}`);
    await eventually('old containers gone', () => hosts.every((_, i) => running(i) === 2));
  });

  await t.test('scale up and down', async (t) => {
    t.equal(controller.berth(['scale', 'deployment/web', '--replicas=9']).status, 0);
    await eventually('9 ready', rolledOut('web:2', 9));
    await eventually('9 containers', () => hosts.reduce((n, _, i) => n + running(i), 0) === 9);
    t.equal(controller.berth(['scale', 'deployment/web', '--replicas=3']).status, 0);
    await eventually('3 ready', rolledOut('web:2', 3));
    await eventually('3 containers', () => hosts.reduce((n, _, i) => n + running(i), 0) === 3);
    t.pass('scaled');
  });

  await t.test('a host goes down: its pods are replaced; back, it runs no duplicates', async (t) => {
    // Make sure the lost host has a pod to lose.
    const pods = await listPods();
    const victim = hosts.findIndex((h) => pods.some((p) => p.spec.nodeName === h.net.netns));
    const lost = hosts[victim]!;
    const lostPods = pods.filter((p) => p.spec.nodeName === lost.net.netns).map((p) => p.metadata.name);
    t.ok(lostPods.length > 0);
    process.kill(lost.agent!.pid, 'SIGKILL');
    net.cut(lost.net);
    await eventually('replacements on the other hosts', async () => {
      const now = await listPods();
      return now.length === 3 && now.every((p) => p.spec.nodeName !== lost.net.netns && isReady(p)) ? now : undefined;
    });
    t.equal(running(victim === 0 ? 1 : 0) + running(victim === 2 ? 1 : 2), 3, 'three run on the others');

    net.restore(lost.net);
    await startAgentOn(victim);
    await eventually('the returned host stops what was replaced', () => running(victim) === 0);
    const total = hosts.reduce((n, _, i) => n + running(i), 0);
    t.equal(total, 3, 'no replica runs twice');
    const node = controller.berth(['get', 'nodes']);
    t.match(node.stdout, new RegExp(`${lost.net.netns}\\s+Ready`));
  });

  await t.test('delete leaves no container on any host', async (t) => {
    const r = controller.berth(['delete', 'deployment', 'web']);
    t.equal(r.status, 0, r.stderr);
    await eventually('no pods', async () => (await listPods()).length === 0);
    await eventually('no containers', () => hosts.every((_, i) => running(i) === 0));
    t.pass('clean');
  });

  // Agents first (their containers go with the test hosts' cleanup), then the network.
  for (const h of hosts) await h.agent?.stop();
});
