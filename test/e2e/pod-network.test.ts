// The cluster pod network on three network-namespace hosts, with each backend: every node gets its
// own block of the cluster CIDR, a pod on one host reaches a pod on another by its IP and is seen
// there with its own address (no NAT between pods), the routes (and for vxlan the forwarding and
// neighbour entries) follow the Nodes, and a node removed leaves nothing of it on the others.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { containsAddress, parseCidr, parseIPv4 } from '../../proto/network/cidr';
import type { Node, Pod } from '../../proto/resources';
import { makeTestHost, startTestAgent, type TestAgent, type TestHost } from '../fixtures/agent';
import { startTestController, testClusterCidr } from '../fixtures/controller';
import { makeTestNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

/** The pod network's routes carry this protocol number (agent/network/pod-routes.ts). */
const ROUTE_PROTOCOL = '190';

const podYaml = (name: string, node: string, image: string, command: string[]) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: net-${name}}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: ${JSON.stringify(command)}
`;

const ipJson = <T>(netns: string, args: string[]): T[] => {
  const r = spawnSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as T[]) : [];
};
const fdbJson = (netns: string): Array<{ mac: string; dst?: string }> => {
  const r = spawnSync('bridge', ['-n', netns, '-j', 'fdb', 'show'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) : [];
};

for (const backend of ['host-gw', 'vxlan'] as const) {
  t.test(`pods reach pods across hosts by IP, without NAT (${backend})`, async (t) => {
    // The hosts' cleanups are registered before the test directory's removal, so that they run
    // first (tap runs teardowns in order) and nothing is mounted under it when it goes.
    const testHosts = [makeTestHost(t), makeTestHost(t), makeTestHost(t)];
    const dir = t.testdir();
    const net = makeTestNetwork(t, 3);
    const registry = await startRegistry(t, { bindAddress: net.gateway });
    // busybox's httpd answers /cgi-bin/ip with the address the request came from (asked with nc:
    // the static busybox's wget crashes).
    const extra: LayerEntry[] = [
      ...['httpd', 'nc'].map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
      { path: 'www', type: 'dir' },
      { path: 'www/cgi-bin', type: 'dir' },
      { path: 'www/cgi-bin/ip', type: 'file', mode: 0o755, content: '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR"\n' },
    ];
    await pushImage(registry.host, 'net:1', await buildImage({ layers: [busyboxLayer(), extra] }));
    const image = `${registry.host}/net:1`;

    const clusterCidr = testClusterCidr();
    const controller = await startTestController(t, dir, {
      listen: `${net.gateway}:0`, args: ['--pod-network', backend, '--cluster-cidr', clusterCidr, '--node-grace-period', '4s'],
    });
    const startAgent = (i: number) => {
      const h = net.hosts[i]!;
      return startTestAgent(t, path.join(dir, h.netns), [
        '--controller', controller.address, '--token', controller.token(), '--node-name', h.netns, '--node-ip', h.ip, '--insecure-registry', registry.host,
      ], testHosts[i], { netns: h.netns });
    };
    const agents: Array<TestAgent & { host: TestHost }> = [];
    for (let i = 0; i < net.hosts.length; i++) agents.push(await startAgent(i));
    const nodes = () => JSON.parse(controller.berth(['get', 'nodes', '-o', 'json']).stdout).items as Node[];
    const cidrs = await eventually('a pod CIDR for every node', () => {
      const all = nodes();
      return all.length === 3 && all.every((n) => n.spec?.podCIDR) ? new Map(all.map((n) => [n.metadata.name!, n.spec!.podCIDR!])) : undefined;
    }, 60_000, 200);
    const cluster = parseCidr(clusterCidr, 'cluster CIDR');
    t.equal(new Set(cidrs.values()).size, 3, 'three different blocks');
    for (const c of cidrs.values()) t.ok(containsAddress(cluster, parseCidr(c, 'pod CIDR').base) && c.endsWith('/24'), `${c} is a /24 of ${clusterCidr}`);

    const [h0, h1, h2] = net.hosts;
    const file = path.join(dir, 'pods.yaml');
    fs.writeFileSync(file, [podYaml('server', h1!.netns, image, ['httpd', '-f', '-p', '8080', '-h', '/www']), podYaml('client', h0!.netns, image, ['sleep', '3600'])].join('---\n'));
    const applied = controller.berth(['apply', '-f', file]);
    t.equal(applied.status, 0, applied.stderr);
    const pods = await eventually('both pods Running with an IP', () => {
      const items = JSON.parse(controller.berth(['get', 'pods', '-o', 'json']).stdout).items as Pod[];
      const running = items.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
      return running.length === 2 ? new Map(running.map((p) => [p.metadata.name!, p.status!.podIP!])) : undefined;
    }, 90_000, 200);
    t.ok(containsAddress(parseCidr(cidrs.get(h1!.netns)!, 'x'), parseIPv4(pods.get('server')!)!), `the server's ${pods.get('server')} is of its node's block`);
    t.ok(containsAddress(parseCidr(cidrs.get(h0!.netns)!, 'x'), parseIPv4(pods.get('client')!)!), `the client's ${pods.get('client')} is of its node's block`);

    const ask = (client: TestAgent) => eventually('an answer across hosts', () => {
      const clientId = client.berth(['ps', '-q', '--filter', 'label=io.kubernetes.pod.name=client']).stdout.trim();
      if (!clientId) throw new Error('no client container on host 0');
      const r = client.berth(['exec', clientId, 'sh', '-c', `printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${pods.get('server')} 8080`]);
      if (r.status !== 0 || !/^HTTP\/1\.[01] 200/.test(r.stdout)) throw new Error(`nc exited ${r.status}: ${r.stdout.trim()} ${r.stderr.trim()}`);
      // httpd listens on both families and writes an IPv4 peer as [::ffff:a.b.c.d].
      return r.stdout.trim().split('\n').pop()!.trim().replace(/^\[::ffff:(.*)\]$/, '$1');
    }, 30_000, 500);
    t.equal(await ask(agents[0]!), pods.get('client'), 'the server sees the client pod\'s own address: no NAT between pods');

    // The client's agent restarts: its pod keeps its address and its way to the other host.
    await agents[0]!.stop();
    agents[0] = await startAgent(0);
    t.equal(await ask(agents[0]!), pods.get('client'), 'after an agent restart the pod has the same address and still reaches the other host');

    // Each host routes to the other two blocks, and for vxlan knows their VTEPs.
    const routesOn = (netns: string) => ipJson<{ dst: string }>(netns, ['route', 'show', 'proto', ROUTE_PROTOCOL]).map((r) => r.dst).sort();
    for (const [i, h] of net.hosts.entries()) {
      const others = net.hosts.filter((_, j) => j !== i).map((o) => cidrs.get(o.netns)!).sort();
      t.same(routesOn(h.netns), others, `${h.netns} routes to the others' pods`);
      if (backend === 'vxlan') {
        const fdbTo = fdbJson(h.netns).filter((f) => f.dst).map((f) => f.dst).sort();
        t.same(fdbTo, net.hosts.filter((_, j) => j !== i).map((o) => o.ip).sort(), `${h.netns} forwards to the others' VTEPs`);
      }
    }

    // A node removed: its agent stopped, its Node deleted. The others forget it.
    await agents[2]!.stop();
    t.equal(controller.berth(['delete', 'node', h2!.netns]).status, 0);
    const gone = cidrs.get(h2!.netns)!;
    const removedMac = h2!.ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':');
    for (const h of [h0!, h1!]) {
      const left = () => [
        ...(routesOn(h.netns).includes(gone) ? [`route to ${gone}`] : []),
        ...(fdbJson(h.netns).some((f) => f.dst === h2!.ip) ? [`forwarding entry to ${h2!.ip}`] : []),
        ...(ipJson<{ lladdr?: string }>(h.netns, ['neigh', 'show']).some((n) => n.lladdr?.endsWith(removedMac)) ? ['neighbour entry of its VTEP'] : []),
      ];
      await eventually(`${h.netns} to forget ${h2!.netns}`, () => left().length === 0, 30_000, 200).catch(() => undefined);
      t.same(left(), [], `${h.netns}: nothing of the removed node is left`);
    }

    t.equal(controller.berth(['delete', '-f', file]).status, 0);
    await eventually('no pod containers left', () => agents.slice(0, 2).every((a) => a.berth(['ps', '-aq']).stdout.trim() === ''), 60_000, 200);
    for (const a of agents.slice(0, 2)) await a.stop();
  });
}
