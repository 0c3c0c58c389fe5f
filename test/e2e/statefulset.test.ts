// A StatefulSet of 3 with local-path claims, on real agents (two nodes): pods web-0..2 made in
// order, each with its own claim bound to a directory on its node; a deleted pod comes back under
// its name on the node holding its volume (it waits, Pending with the scheduler's reason, while
// that node is cordoned) and finds its data; a scale-down keeps the claims; a claim deleted with
// its volume's reclaimPolicy Delete takes the directory with it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../../proto/resources';
import { makeTestHost, startTestAgent } from '../fixtures/agent';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const manifest = (image: string) => `apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: web}}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${image}
        command: [sh, -c, "hostname >> /data/names; cat /data/names; exec sleep 3600"]
        volumeMounts: [{name: www, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
`;

t.test('a StatefulSet keeps its pods\' names, nodes and data', async (t) => {
  const cluster = await startOneNodeCluster(t, 'tool:1');
  const { image, berth, file, controller, dir } = cluster;
  const second = await startTestAgent(t, path.join(dir, 'agent-b'), ['--controller', controller.address, '--token', controller.token(), '--node-name', 'node-b', '--insecure-registry', image.split('/')[0]!], makeTestHost(t));
  const dataRoots: Record<string, string> = { 'node-b': second.dataRoot };
  await eventually('two nodes Ready', () => berth(['get', 'nodes']).stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 2, 60_000, 300);
  const firstNode = (JSON.parse(berth(['get', 'nodes', '-o', 'json']).stdout) as { items: { metadata: { name: string } }[] }).items.map((n) => n.metadata.name).find((n) => n !== 'node-b')!;
  dataRoots[firstNode] = cluster.agent.dataRoot;
  const pods = () => (JSON.parse(berth(['get', 'pods', '-l', 'app=web', '-o', 'json']).stdout) as { items: Pod[] }).items;

  t.equal(berth(['apply', '-f', file('web.yaml', manifest(image))]).status, 0);
  const rolled = berth(['rollout', 'status', 'statefulset/web', '--timeout=150s']);
  t.equal(rolled.status, 0, rolled.status === 0 ? 'rolled out' : `${rolled.stderr} ${berth(['describe', 'pods']).stdout}`);
  t.match(rolled.stdout, /statefulset rolling update complete 3 pods at revision web-[a-z0-9]+\.\.\.\n$/);
  t.match(berth(['rollout', 'history', 'statefulset/web']).stdout, /^statefulset\.apps\/web\nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n/, 'its first ControllerRevision');
  const made = pods().sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  t.same(made.map((p) => p.metadata.name), ['web-0', 'web-1', 'web-2']);
  t.ok(made[0]!.metadata.creationTimestamp! <= made[1]!.metadata.creationTimestamp! && made[1]!.metadata.creationTimestamp! <= made[2]!.metadata.creationTimestamp!, 'made in order');
  for (const p of made) t.equal(berth(['logs', p.metadata.name!]).stdout, `${p.metadata.name}\n`, `${p.metadata.name} wrote its name into its own volume`);
  t.match(berth(['get', 'sts']).stdout, /^NAME\s+READY\s+AGE\nweb\s+3\/3\s+/);

  const claims = (JSON.parse(berth(['get', 'pvc', '-o', 'json']).stdout) as { items: PersistentVolumeClaim[] }).items;
  t.same(claims.map((c) => `${c.metadata.name}:${c.status?.phase}:${c.spec.storageClassName}`).sort(), ['www-web-0:Bound:local-path', 'www-web-1:Bound:local-path', 'www-web-2:Bound:local-path']);
  t.match(berth(['get', 'pvc', 'www-web-1']).stdout, /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE\nwww-web-1\s+Bound\s+pvc-[0-9a-f-]+\s+64Mi\s+RWO\s+local-path\s+<unset>\s+/);
  const volumes = (JSON.parse(berth(['get', 'pv', '-o', 'json']).stdout) as { items: PersistentVolume[] }).items;
  t.equal(volumes.length, 3);
  t.match(berth(['get', 'sc']).stdout, /\nlocal-path \(default\)\s+berth\.dev\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+/);

  // web-1's volume is a directory on its node.
  const web1 = made[1]!;
  const node = web1.spec.nodeName!;
  const volume = volumes.find((v) => v.spec.claimRef?.name === 'www-web-1')!;
  t.equal(path.dirname(volume.spec.hostPath!.path), path.join(dataRoots[node]!, 'storage'), "under its node's data root");
  t.equal(fs.readFileSync(path.join(volume.spec.hostPath!.path, 'names'), 'utf8'), 'web-1\n');

  // Deleted while its node is cordoned, web-1 waits: no other node can reach its volume.
  t.match(berth(['cordon', node]).stdout, new RegExp(`^node/${node} cordoned\n$`));
  t.equal(berth(['delete', 'pod', 'web-1']).status, 0);
  const reason = await eventually('web-1 pending with the reason', () => {
    const p = pods().find((x) => x.metadata.name === 'web-1' && x.metadata.uid !== web1.metadata.uid);
    return p?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')?.message;
  }, 60_000, 300);
  t.equal(reason, '0/2 nodes are available: 1 node(s) had volume node affinity conflict, 1 node(s) were unschedulable.');
  t.match(berth(['uncordon', node]).stdout, new RegExp(`^node/${node} uncordoned\n$`));
  await eventually('web-1 running again', () => pods().find((p) => p.metadata.name === 'web-1' && p.status?.phase === 'Running' && p.metadata.uid !== web1.metadata.uid), 90_000, 300);
  t.equal(pods().find((p) => p.metadata.name === 'web-1')!.spec.nodeName, node, 'on the node holding its volume');
  t.equal(await eventually('its log', () => berth(['logs', 'web-1']).stdout || undefined, 30_000, 300), 'web-1\nweb-1\n', 'it found its data');

  // Scale down: web-2 goes, its claim stays.
  t.match(berth(['scale', 'statefulset/web', '--replicas=2']).stdout, /^statefulset\.apps\/web scaled\n$/);
  await eventually('web-2 gone', () => !pods().some((p) => p.metadata.name === 'web-2'), 60_000, 300);
  t.match(berth(['get', 'pvc', 'www-web-2']).stdout, /\nwww-web-2\s+Bound\s+/, 'the claim of the ordinal scaled away is kept');

  // The set goes; its claims stay (Retain) until deleted; a deleted claim's volume and directory go (Delete).
  t.equal(berth(['delete', 'statefulset', 'web']).status, 0);
  await eventually('no pods left', () => pods().length === 0, 60_000, 300);
  const web2Volume = volumes.find((v) => v.spec.claimRef?.name === 'www-web-2')!;
  t.ok(fs.existsSync(web2Volume.spec.hostPath!.path));
  t.equal(berth(['delete', 'pvc', 'www-web-2']).status, 0);
  await eventually('the volume deleted', () => berth(['get', 'pv', web2Volume.metadata.name!]).status !== 0, 30_000, 300);
  await eventually('its directory removed by its node', () => !fs.existsSync(web2Volume.spec.hostPath!.path), 30_000, 300);
  t.ok(fs.existsSync(volume.spec.hostPath!.path), "the other claims' directories stay");

  t.equal(berth(['delete', 'pvc', 'www-web-0', 'www-web-1']).status, 0);
  await eventually('every directory removed', () => volumes.every((v) => !fs.existsSync(v.spec.hostPath!.path)), 40_000, 300);
  await eventually('no containers left', () => cluster.agent.berth(['ps', '-aq']).stdout.trim() === '' && second.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await second.stop();
  await cluster.agent.stop();
});
