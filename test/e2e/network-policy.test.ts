// NetworkPolicies enforced on two network-namespace hosts: a database pod isolated for ingress
// takes connections only from the pods a policy names, on the port it names (by name), whether
// they come from another host, from its own host (bridged traffic) or through its Service's
// cluster IP; an egress policy keeps a pod to the peers it lists; and with the policies deleted
// everything flows again.

import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import type { Pod, Service } from '../../proto/resources';
import { makeTestHost, startTestAgent, type TestAgent } from '../fixtures/agent';
import { applyManifest, startTestController } from '../fixtures/controller';
import { makeTestNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

const podYaml = (name: string, node: string, image: string, labels: Record<string, string>) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: ${JSON.stringify(labels)}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: [httpd, -f, -p, "8080", -h, /www]
      ports: [{name: http, containerPort: 8080}]
`;

const dbIngress = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{podSelector: {matchLabels: {access: "true"}}}]
      ports: [{port: http}]
`;

const clientEgress = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: db}}}]
      ports: [{protocol: TCP, port: 8080}]
`;

t.test('network policies on two hosts', async (t) => {
  const testHosts = [makeTestHost(t), makeTestHost(t)];
  const dir = t.testdir();
  const net = makeTestNetwork(t, 2);
  const registry = await startRegistry(t, { bindAddress: net.gateway });
  const extra: LayerEntry[] = [
    ...['httpd', 'nc'].map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'www', type: 'dir' },
    { path: 'www/index.html', type: 'file', content: 'ok\n' },
  ];
  await pushImage(registry.host, 'np:1', await buildImage({ layers: [busyboxLayer(), extra] }));
  const image = `${registry.host}/np:1`;

  const controller = await startTestController(t, dir, { listen: `${net.gateway}:0` });
  const agents: TestAgent[] = [];
  for (const [i, h] of net.hosts.entries()) {
    agents.push(await startTestAgent(t, path.join(dir, h.netns), [
      '--controller', controller.address, '--token', controller.token(), '--node-name', h.netns, '--node-ip', h.ip, '--insecure-registry', registry.host,
    ], testHosts[i], { netns: h.netns }));
  }
  const [h0, h1] = net.hosts;
  const berth = (args: string[]) => controller.berth(args);
  const apply = (name: string, text: string) => applyManifest(t, controller, dir, name, text);

  // The database on host 1; a client beside it, two on host 0 (one the policy names, one not).
  const podsFile = apply('pods', [
    podYaml('db', h1!.netns, image, { app: 'db' }),
    podYaml('near', h1!.netns, image, { access: 'true', role: 'client' }),
    podYaml('allowed', h0!.netns, image, { access: 'true', role: 'client' }),
    podYaml('denied', h0!.netns, image, {}),
  ].join('---\n') + `---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {app: db}
  ports: [{port: 80, targetPort: http}]
`);
  const ips = await eventually('four pods Running with an address', () => {
    const items = JSON.parse(berth(['get', 'pods', '-o', 'json']).stdout).items as Pod[];
    const running = items.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
    return running.length === 4 ? new Map(running.map((p) => [p.metadata.name!, p.status!.podIP!])) : undefined;
  }, 120_000, 200);
  const clusterIp = (JSON.parse(berth(['get', 'svc', 'db', '-o', 'json']).stdout) as Service).spec.clusterIP!;
  const hostOf: Record<string, number> = { db: 1, near: 1, allowed: 0, denied: 0 };

  /** Whether `from` gets an HTTP answer from address:port, asked with nc from inside its container. */
  const reaches = (from: string, address: string, port = 8080): boolean => {
    const agent = agents[hostOf[from]!]!;
    const id = agent.berth(['ps', '-q', '--filter', `label=io.kubernetes.pod.name=${from}`]).stdout.trim();
    if (!id) throw new Error(`no container of pod ${from}`);
    const r = agent.berth(['exec', id, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${address} ${port}; echo "nc=$?"`]);
    // Only nc's own verdicts count: an answer, or a connection that never came (a dropped SYN
    // times out: nc exits 1 with nothing read). Anything else is the test's failure, not a denial.
    if (r.status !== 0) throw new Error(`exec in ${from} failed (${r.status}): ${r.stderr.trim()}`);
    if (/^HTTP\/1\.[01] 200/.test(r.stdout)) return true;
    if (/^nc=1$/m.test(r.stdout) && !/HTTP\//.test(r.stdout)) return false;
    throw new Error(`unexpected answer from ${address}:${port}: ${r.stdout.trim()} ${r.stderr.trim()}`);
  };
  const expectReach = async (from: string, to: string, address: string, want: boolean, port = 8080) => {
    const ok = await eventually(`${from} ${want ? 'to reach' : 'not to reach'} ${to}`, () => {
      if (reaches(from, address, port) !== want) throw new Error(`${from} ${want ? 'does not reach' : 'still reaches'} ${to}`);
      return true;
    }, 30_000, 300).then(() => true, () => false);
    t.ok(ok, `${from} ${want ? 'reaches' : 'does not reach'} ${to}`);
  };

  // Before any policy, everyone reaches the database.
  for (const from of ['allowed', 'denied', 'near']) await expectReach(from, 'db', ips.get('db')!, true);

  // Ingress: only pods labelled access=true, on the port named http.
  const ingressFile = apply('db-ingress', dbIngress);
  t.match(berth(['get', 'netpol']).stdout, /db-ingress\s+app=db\s+/, 'get netpol shows the pod selector');
  await expectReach('denied', 'db (other host)', ips.get('db')!, false);
  await expectReach('allowed', 'db (other host)', ips.get('db')!, true);
  await expectReach('near', 'db (same host)', ips.get('db')!, true);
  await expectReach('allowed', 'db through its cluster IP', clusterIp, true, 80);
  await expectReach('denied', 'db through its cluster IP', clusterIp, false, 80);
  // Pods no policy selects stay open.
  await expectReach('denied', 'near', ips.get('near')!, true);

  // Egress: the clients may talk to the database only.
  const egressFile = apply('client-egress', clientEgress);
  await expectReach('allowed', 'near (not a database)', ips.get('near')!, false);
  await expectReach('allowed', 'db', ips.get('db')!, true);
  await expectReach('near', 'allowed (not a database)', ips.get('allowed')!, false);
  await expectReach('denied', 'near (its ingress is open)', ips.get('near')!, true);

  const tables = spawnSync('ip', ['netns', 'exec', h1!.netns, 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout;
  t.match(tables, /table ip berth-np-/, `the policies live in a table of their own on the node: ${tables}`);

  // Without the policies everything flows again.
  t.equal(berth(['delete', '-f', ingressFile]).status, 0);
  t.equal(berth(['delete', '-f', egressFile]).status, 0);
  await expectReach('denied', 'db', ips.get('db')!, true);
  await expectReach('allowed', 'near', ips.get('near')!, true);
  const left = spawnSync('ip', ['netns', 'exec', h1!.netns, 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout;
  t.notMatch(left, /berth-np-/, 'with no policy left, no policy table either');

  t.equal(berth(['delete', '-f', podsFile]).status, 0);
  await eventually('no pod containers left', () => agents.every((a) => a.berth(['ps', '-aq']).stdout.trim() === ''), 60_000, 200);
  for (const a of agents) await a.stop();
});
