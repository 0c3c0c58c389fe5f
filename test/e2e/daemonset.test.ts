// A DaemonSet following its nodes, on real agents: a pod on the first node, one more when a second
// agent joins, none left for it once that node leaves the cluster (its agent stopped, the node
// deleted); rollout status and get ds as kubectl's; a template change rolls out node by node;
// rollout history and undo from the ControllerRevisions.

import * as path from 'node:path';
import t from 'tap';
import type { DaemonSet, Pod } from '../../proto/resources';
import { makeTestHost, startTestAgent } from '../fixtures/agent';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const daemonSet = (image: string, version: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: ${image}, command: [sh, -c, "echo ${version}; exec sleep 3600"]}]
`;

t.test('a DaemonSet follows a node joining and leaving', async (t) => {
  const cluster = await startOneNodeCluster(t, 'tool:1');
  const { image, berth, file, controller, dir } = cluster;
  const podsByNode = () => {
    const pods = (JSON.parse(berth(['get', 'pods', '-l', 'app=node-agent', '-o', 'json']).stdout) as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp);
    return pods.map((p) => `${p.spec.nodeName}:${p.status?.phase}`).sort();
  };
  // The agent has joined; its node may take a moment to show.
  const firstNode = await eventually('the first node', () => (JSON.parse(berth(['get', 'nodes', '-o', 'json']).stdout) as { items: { metadata: { name: string } }[] }).items[0]?.metadata.name, 30_000, 200);

  t.equal(berth(['apply', '-f', file('ds.yaml', daemonSet(image, 'v1'))]).status, 0);
  const rolled = berth(['rollout', 'status', 'daemonset/node-agent', '--timeout=90s']);
  t.match(rolled.stdout, /daemon set "node-agent" successfully rolled out\n$/, rolled.stderr);
  t.same(podsByNode(), [`${firstNode}:Running`]);

  // A second node joins.
  const second = await startTestAgent(t, path.join(dir, 'agent-b'), ['--controller', controller.address, '--token', controller.token(), '--node-name', 'node-b', '--insecure-registry', image.split('/')[0]!], makeTestHost(t));
  await eventually('a pod on the new node too', () => {
    const pods = podsByNode();
    return pods.length === 2 && pods.every((p) => p.endsWith(':Running')) ? pods : undefined;
  }, 90_000, 300);
  t.same(podsByNode(), [`${firstNode}:Running`, 'node-b:Running'].sort());
  t.match(berth(['get', 'ds']).stdout, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\nnode-agent\s+2\s+2\s+2\s+2\s+2\s+<none>\s+/);

  // A template change rolls out node by node.
  t.equal(berth(['apply', '-f', file('ds.yaml', daemonSet(image, 'v2'))]).status, 0);
  const rolledAgain = berth(['rollout', 'status', 'daemonset/node-agent', '--timeout=90s']);
  t.equal(rolledAgain.status, 0, rolledAgain.stderr);
  const pods = (JSON.parse(berth(['get', 'pods', '-l', 'app=node-agent', '-o', 'json']).stdout) as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp);
  t.same(pods.map((p) => berth(['logs', p.metadata.name!]).stdout).sort(), ['v2\n', 'v2\n'], 'both nodes run the new template');

  // History and undo, from the ControllerRevisions the controller keeps.
  t.match(berth(['rollout', 'history', 'daemonset/node-agent']).stdout, /^daemonset\.apps\/node-agent\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
  t.match(berth(['rollout', 'history', 'daemonset/node-agent', '--revision=1']).stdout, /with revision #1\n[^]*echo v1/);
  t.equal(berth(['rollout', 'undo', 'daemonset/node-agent']).stdout, 'daemonset.apps/node-agent rolled back\n');
  t.equal(berth(['rollout', 'status', 'daemonset/node-agent', '--timeout=90s']).status, 0);
  await eventually('v1 again on both nodes', () => {
    const now = (JSON.parse(berth(['get', 'pods', '-l', 'app=node-agent', '-o', 'json']).stdout) as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running');
    const logs = now.map((p) => berth(['logs', p.metadata.name!]).stdout).sort();
    return logs.length === 2 && logs.every((l) => l === 'v1\n') ? logs : undefined;
  }, 90_000, 300);
  t.match(berth(['rollout', 'history', 'daemonset/node-agent']).stdout, /\nREVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n/, 'the template rolled out again is revision 3');
  t.match(berth(['rollout', 'undo', 'daemonset/node-agent', '--to-revision=3']).stdout, /skipped rollback \(current template already matches revision 3\)/);
  t.match(berth(['get', 'controllerrevisions']).stdout, /^NAME\s+CONTROLLER\s+REVISION\s+AGE\nnode-agent-[a-z0-9]+\s+daemonset\.apps\/node-agent\s+[23]\s/);

  // The node leaves: its agent stops and the node is deleted.
  await second.stop();
  t.equal(berth(['delete', 'node', 'node-b']).status, 0);
  await eventually('no pod left for the node that left', () => (podsByNode().length === 1 ? true : undefined), 60_000, 300);
  t.same(podsByNode(), [`${firstNode}:Running`]);
  await eventually('desired 1', () => (JSON.parse(berth(['get', 'ds', 'node-agent', '-o', 'json']).stdout) as DaemonSet).status?.desiredNumberScheduled === 1, 30_000, 300);

  t.equal(berth(['delete', 'ds', 'node-agent']).status, 0);
  await eventually('no containers left', () => cluster.agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await cluster.agent.stop();
});
