// A pod on the host's network and PID namespace, on a real agent: its containers share the agent's network namespace
// (the same namespace inode as the agent's), its name is the node's, its address (podIP) the
// node's, and a readiness probe reaches it there; the baseline level refuses such a pod.

import * as fs from 'node:fs';
import t from 'tap';
import type { Node, Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

t.test('hostNetwork: the host\'s namespace, name and address', async (t) => {
  const { image, berth, file, agent } = await startOneNodeCluster(t, 'tool:1');
  const node = await eventually('the node', () => (JSON.parse(berth(['get', 'nodes', '-o', 'json']).stdout) as { items: Node[] }).items[0], 60_000, 300);
  const nodeIp = node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
  // A port nothing else on this host listens on, for the probe to find.
  const port = 20000 + (process.pid % 20000);
  const pod = (namespace: string) => `apiVersion: v1
kind: Pod
metadata: {name: on-host, namespace: ${namespace}}
spec:
  hostNetwork: true
  hostPID: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: [sh, -c, "busybox readlink /proc/self/ns/net; busybox hostname; busybox readlink /proc/self/ns/pid; exec busybox nc -ll -p ${port} -e echo hi"]
    readinessProbe: {tcpSocket: {port: ${port}}, periodSeconds: 1}
`;
  const refused = berth(['apply', '-f', file('baseline.yaml', pod('default'))]);
  t.equal(refused.status, 1);
  t.match(refused.stderr, /pods "on-host" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true, hostPID=true\)/);

  t.equal(berth(['apply', '-f', file('host.yaml', `apiVersion: v1
kind: Namespace
metadata: {name: hostnet, labels: {pod-security.kubernetes.io/enforce: privileged}}
---
${pod('hostnet')}`)]).status, 0);
  const ready = await eventually('ready', () => {
    const p = JSON.parse(berth(['get', 'pod', 'on-host', '-n', 'hostnet', '-o', 'json']).stdout) as Pod;
    return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
  }, 90_000, 300).catch((err: Error) => {
    throw new Error(`${err.message}\n${berth(['describe', 'pod', 'on-host', '-n', 'hostnet']).stdout}\n${berth(['logs', 'on-host', '-n', 'hostnet']).stdout}`);
  });
  t.equal(ready.status?.podIP, nodeIp, "the node's address");
  t.equal(ready.status?.hostIP, nodeIp);
  const logs = await eventually('logs', () => {
    const out = berth(['logs', 'on-host', '-n', 'hostnet']).stdout;
    return out.split('\n').length >= 4 ? out : undefined;
  }, 30_000, 300);
  const [netns, hostname, pidns] = logs.split('\n');
  t.equal(netns, fs.readlinkSync(`/proc/${agent.pid}/ns/net`), "the agent's network namespace");
  t.equal(hostname, node.metadata.name, "the node's name");
  t.equal(pidns, fs.readlinkSync(`/proc/${agent.pid}/ns/pid`), "hostPID: the agent's PID namespace");
  t.equal(berth(['delete', 'namespace', 'hostnet']).status, 0);
  await eventually('no containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
});
