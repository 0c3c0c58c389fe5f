// Issue 10's "done means", on three network-namespace hosts: a two-tier app (an HTTP frontend that
// calls a backend Service by its DNS name; the backend 3 replicas behind a ClusterIP) applied with
// --wait answers through a NodePort on every host, keeps answering while the backend rolls to a new
// image and while a host holding backend pods is cut off, and after `berth delete` no Service rule,
// endpoint slice or DNS record is left.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import type { EndpointSlice, Pod, Service } from '../../proto/resources';
import { makeTestHost, startTestAgent, type TestAgent, type TestHost } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';
import { makeTestNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

const cgi = (body: string) => `#!/bin/sh\necho "Content-Type: text/plain"\necho\n${body}\n`;

/** One image for both tiers: `who` answers as the backend, `front` asks the backend by name. */
function appLayer(version: string): LayerEntry[] {
  return [
    ...['httpd', 'nc', 'nslookup', 'hostname', 'tail', 'printf'].map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'version', type: 'file', content: `${version}\n` },
    { path: 'www', type: 'dir' },
    { path: 'www/cgi-bin', type: 'dir' },
    { path: 'www/cgi-bin/who', type: 'file', mode: 0o755, content: cgi('echo "backend $(cat /version) $(hostname)"') },
    // The backend by its short name: resolv.conf's search path makes it backend.<ns>.svc.cluster.local.
    { path: 'www/cgi-bin/front', type: 'file', mode: 0o755, content: cgi(`printf 'GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n' | nc -w 3 backend 80 | tail -n 1`) },
  ];
}

const manifests = (image: string, backendImage: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: backend}
spec:
  replicas: 3
  selector: {matchLabels: {app: backend}}
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: backend}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: ${backendImage}
          command: [httpd, -f, -p, "8080", -h, /www]
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend}
spec:
  replicas: 2
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: ${image}
          command: [httpd, -f, -p, "8080", -h, /www]
          ports: [{containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: frontend}
spec:
  type: NodePort
  selector: {app: frontend}
  ports: [{port: 80, targetPort: 8080}]
`;

/** GET path from host:port over a fresh connection; the body's last line, or an error. */
function httpGet(host: string, port: number, urlPath: string, timeoutMs = 4000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let data = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer from ${host}:${port} in ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.end(`GET ${urlPath} HTTP/1.0\r\n\r\n`));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!/^HTTP\/1\.[01] 200/.test(data)) return reject(new Error(`${host}:${port}${urlPath}: ${data.split('\n')[0] || 'no response'}`));
      resolve(data.trim().split('\n').pop()!.trim());
    });
  });
}

const nslookup = (netns: string, server: string, name: string) =>
  spawnSync('ip', ['netns', 'exec', netns, '/bin/busybox', 'nslookup', name, server], { encoding: 'utf8', timeout: 10_000 });

t.test('a two-tier app across three hosts through Services and cluster DNS', async (t) => {
  const testHosts = [makeTestHost(t), makeTestHost(t), makeTestHost(t)];
  const dir = t.testdir();
  const network = makeTestNetwork(t, 3);
  const registry = await startRegistry(t, { bindAddress: network.gateway });
  for (const version of ['1', '2']) await pushImage(registry.host, `app:${version}`, await buildImage({ layers: [busyboxLayer(), appLayer(version)] }));
  const image = (v: string) => `${registry.host}/app:${v}`;

  const controller = await startTestController(t, dir, { listen: `${network.gateway}:0`, args: ['--node-grace-period', '4s', '--pod-eviction-timeout', '5s'] });
  const agents: Array<TestAgent & { host: TestHost }> = [];
  for (const [i, h] of network.hosts.entries()) {
    agents.push(await startTestAgent(t, path.join(dir, h.netns), [
      '--controller', controller.address, '--token', controller.token(), '--node-name', h.netns, '--node-ip', h.ip, '--insecure-registry', registry.host,
    ], testHosts[i], { netns: h.netns }));
  }
  const berth = (args: string[]) => controller.berth(args);
  const json = <T>(args: string[]) => JSON.parse(berth([...args, '-o', 'json']).stdout) as T;
  await eventually('three nodes with a pod CIDR', () => json<{ items: Array<{ spec?: { podCIDR?: string } }> }>(['get', 'nodes']).items.filter((n) => n.spec?.podCIDR).length === 3, 60_000, 200);

  const file = path.join(dir, 'app.yaml');
  fs.writeFileSync(file, manifests(image('1'), image('1')));
  const applied = berth(['apply', '-f', file, '--wait=3m']);
  t.equal(applied.status, 0, `apply --wait: ${applied.stdout}${applied.stderr}`);

  const backend = json<Service>(['get', 'svc', 'backend']);
  const frontend = json<Service>(['get', 'svc', 'frontend']);
  const nodePort = frontend.spec.ports![0]!.nodePort!;
  t.match(backend.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/, 'the backend has a cluster IP');
  t.ok(nodePort >= 30000 && nodePort <= 32767, `the frontend has a node port (${nodePort})`);
  const table = berth(['get', 'svc']).stdout;
  t.match(table, new RegExp(`backend\\s+ClusterIP\\s+${backend.spec.clusterIP!.replace(/\./g, '\\.')}\\s+<none>\\s+80/TCP`), `get svc: ${table}`);
  t.match(table, new RegExp(`frontend\\s+NodePort\\s+\\S+\\s+<none>\\s+80:${nodePort}/TCP`));

  const readyEndpoints = () => json<{ items: EndpointSlice[] }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=backend']).items
    .flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready).map((e) => ({ ip: e.addresses[0]!, node: e.nodeName!, pod: e.targetRef!.name })));
  const first = await eventually('three ready backend endpoints', () => (readyEndpoints().length === 3 ? readyEndpoints() : undefined), 30_000, 200);
  t.equal(new Set(first.map((e) => e.ip)).size, 3);
  const described = berth(['describe', 'svc', 'backend']).stdout;
  t.match(described, /TargetPort:\s+http\/TCP/);
  const listed = /Endpoints:\s+(\S+)/.exec(described)?.[1]?.split(',') ?? [];
  t.same(listed.sort(), first.map((e) => `${e.ip}:8080`).sort(), `describe svc lists the ready endpoints: ${described}`);

  // A Service without a selector, its addresses in Endpoints the user writes (as for a server
  // outside the cluster): mirrored into a slice, and served through the Service's node port.
  const chosen = first[0]!;
  const legacy = path.join(dir, 'legacy.yaml');
  fs.writeFileSync(legacy, `apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  type: NodePort
  ports: [{name: web, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy}
subsets:
- addresses: [{ip: ${chosen.ip}}]
  ports: [{name: web, port: 8080}]
`);
  t.equal(berth(['apply', '-f', legacy]).status, 0);
  t.match(berth(['get', 'ep', 'legacy']).stdout, new RegExp(`NAME\\s+ENDPOINTS\\s+AGE\\nlegacy\\s+${chosen.ip.replace(/\./g, '\\.')}:8080\\s+`));
  const legacyPort = json<Service>(['get', 'svc', 'legacy']).spec.ports![0]!.nodePort!;
  const viaLegacy = await eventually('an answer through the selectorless Service', () => httpGet(network.hosts[0]!.ip, legacyPort, '/cgi-bin/who').catch(() => undefined), 30_000, 300);
  t.equal(viaLegacy, `backend 1 ${chosen.pod}`, 'the address the Endpoints name answers');
  t.match(json<{ items: EndpointSlice[] }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=legacy']).items,
    [{ metadata: { labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } }, endpoints: [{ addresses: [chosen.ip] }] }]);
  t.equal(berth(['delete', '-f', legacy]).status, 0);
  await eventually('the mirrored slice gone with its Endpoints', () => json<{ items: EndpointSlice[] }>(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=legacy']).items.length === 0, 30_000, 200);

  // The cluster DNS of every host names the Services; an unknown name is NXDOMAIN.
  const gateways = json<{ items: Array<{ metadata: { name: string }; spec: { podCIDR: string } }> }>(['get', 'nodes']).items
    .map((n) => ({ netns: n.metadata.name, dns: n.spec.podCIDR.replace(/0\/\d+$/, '1') }));
  for (const g of gateways) {
    const answer = await eventually(`${g.netns}'s DNS to name the backend`, () => {
      const r = nslookup(g.netns, g.dns, 'backend.default.svc.cluster.local');
      return r.stdout.includes(backend.spec.clusterIP!) ? r.stdout : undefined;
    }, 20_000, 300).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(nslookup(g.netns, g.dns, 'backend.default.svc.cluster.local'))}\n${agents.map((a) => a.output()).join('\n')}`);
    });
    t.ok(answer, `${g.netns}: backend.default.svc.cluster.local is ${backend.spec.clusterIP}`);
    t.match(nslookup(g.netns, g.dns, 'nothing.default.svc.cluster.local').stdout + nslookup(g.netns, g.dns, 'nothing.default.svc.cluster.local').stderr, /NXDOMAIN|can't find/i);
  }

  // Through the NodePort of every host, the frontend calls the backend by name.
  const answers = new Set<string>();
  for (const h of network.hosts) {
    const body = await eventually(`an answer through ${h.ip}:${nodePort}`, () => httpGet(h.ip, nodePort, '/cgi-bin/front'), 30_000, 300);
    t.match(body, /^backend 1 backend-/, `${h.netns}'s node port: ${body}`);
    for (let i = 0; i < 12; i++) answers.add((await httpGet(h.ip, nodePort, '/cgi-bin/front')).split(' ')[2]!);
  }
  t.ok(answers.size >= 2, `the backend Service spreads over its pods (${[...answers].join(', ')})`);

  // Keep asking while the backend rolls to the new image: not one request may fail.
  const asking = { stop: false, ok: 0, failures: [] as string[], versions: new Set<string>() };
  const loop = (async () => {
    for (let i = 0; !asking.stop; i++) {
      const h = network.hosts[i % 3]!;
      try {
        asking.versions.add((await httpGet(h.ip, nodePort, '/cgi-bin/front')).split(' ')[1]!);
        asking.ok++;
      } catch (err) {
        asking.failures.push(`${h.ip}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  fs.writeFileSync(file, manifests(image('1'), image('2')));
  // Asynchronously: the requests above must go on meanwhile.
  const rolled = await controller.berthAsync(['apply', '-f', file, '--wait=3m']);
  t.equal(rolled.status, 0, `the rollout: ${rolled.stderr}`);
  await eventually('answers from the new backend only', async () => (await httpGet(network.hosts[0]!.ip, nodePort, '/cgi-bin/front')).startsWith('backend 2'), 30_000, 200);
  asking.stop = true;
  await loop;
  t.same(asking.failures, [], `no request failed during the rollout (${asking.ok} answered)`);
  t.ok(asking.versions.has('1') && asking.versions.has('2'), 'answers came from both versions while it rolled');

  // Cut off a host holding backend pods (not the first: requests go there).
  const endpoints = await eventually('three ready backend endpoints after the rollout', () => (readyEndpoints().length === 3 ? readyEndpoints() : undefined), 30_000, 200);
  const victim = network.hosts.slice(1).find((h) => endpoints.some((e) => e.node === h.netns)) ?? network.hosts[1]!;
  network.cut(victim);
  const survivors = network.hosts.filter((h) => h !== victim);
  await eventually(`no ready endpoint on ${victim.netns}`, () => !readyEndpoints().some((e) => e.node === victim.netns), 30_000, 200);
  // After that every request through the other hosts is answered, by pods on them.
  let streak = 0;
  await eventually('twenty answers in a row through the other hosts', async () => {
    const h = survivors[streak % survivors.length]!;
    try {
      const body = await httpGet(h.ip, nodePort, '/cgi-bin/front');
      streak = body.startsWith('backend 2') ? streak + 1 : 0;
    } catch {
      streak = 0;
    }
    return streak >= 20;
  }, 60_000, 50);
  t.pass(`the app answers with ${victim.netns} cut off`);
  network.restore(victim);

  // Deleted: no Service, no slice, no DNS record, no rule naming the Services' addresses.
  t.equal(berth(['delete', '-f', file]).status, 0);
  await eventually('no Service or endpoint slice of the app', () => {
    const left = [...json<{ items: Service[] }>(['get', 'svc']).items, ...json<{ items: EndpointSlice[] }>(['get', 'endpointslices']).items]
      .filter((o) => ['backend', 'frontend'].some((n) => o.metadata.name!.startsWith(n)));
    return left.length === 0;
  }, 30_000, 200);
  for (const [i, g] of gateways.entries()) {
    await eventually(`${g.netns}: the rules and the record gone`, () => {
      const rules = spawnSync('ip', ['netns', 'exec', g.netns, 'nft', 'list', 'table', 'ip', `berth-${testHosts[i]!.bridge}`], { encoding: 'utf8' }).stdout;
      const dns = nslookup(g.netns, g.dns, 'backend.default.svc.cluster.local').stdout;
      return !rules.includes(backend.spec.clusterIP!) && !rules.includes(String(nodePort)) && !dns.includes(backend.spec.clusterIP!);
    }, 30_000, 300);
    t.pass(`${g.netns}: no rule or record of the app is left`);
  }
  await eventually('no pod left', () => json<{ items: Pod[] }>(['get', 'pods']).items.length === 0, 60_000, 300);
  for (const a of agents) await a.stop();
});
