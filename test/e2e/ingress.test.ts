// Ingresses served by berth's own controller on a network-namespace host: requests reach the
// Service their host and path name (exact host, wildcard host, longest path prefix), HTTPS
// answers with the certificate of the tls Secret for the SNI name, the Ingress shows the node's
// address, a backend without endpoints answers 503 and a request no rule takes 404; an Ingress of
// another controller's class is left alone.

import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { TLSSocket } from 'node:tls';
import t from 'tap';
import type { Ingress } from '../../proto/resources';
import { makeTestHost, startTestAgent } from '../fixtures/agent';
import { applyManifest, startTestController } from '../fixtures/controller';
import { makeTestNetwork } from '../fixtures/hosts';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { eventually } from '../fixtures/wait';

const site = (name: string): LayerEntry[] => [
  { path: 'bin/httpd', type: 'symlink', linkname: 'busybox' },
  { path: 'www', type: 'dir' },
  { path: 'www/index.html', type: 'file', content: `site ${name}\n` },
  { path: 'www/b', type: 'dir' },
  { path: 'www/b/index.html', type: 'file', content: `site ${name} under /b\n` },
];

const app = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata: {name: web-${name}, labels: {app: web-${name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: web
      image: ${image}
      command: [httpd, -f, -p, "8080", -h, /www]
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web-${name}}
spec:
  selector: {app: web-${name}}
  ports: [{name: web, port: 80, targetPort: http}]
`;

const ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: sites}
spec:
  tls: [{hosts: [a.example.com], secretName: a-tls}]
  rules:
    - host: a.example.com
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: web-a, port: {number: 80}}}}]
    - host: "*.b.example.com"
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: web-b, port: {name: web}}}}]
    - http:
        paths:
          - {path: /b, pathType: Prefix, backend: {service: {name: web-b, port: {number: 80}}}}
          - {path: /, pathType: Prefix, backend: {service: {name: web-a, port: {number: 80}}}}
          - {path: /gone, pathType: Exact, backend: {service: {name: web-c, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: elsewhere}
spec:
  ingressClassName: nginx
  rules: [{host: other.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web-a, port: {number: 80}}}}]}}]
`;

function get(url: { host: string; port: number; path: string; hostHeader: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.host, port: url.port, path: url.path, headers: { host: url.hostHeader }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function getTls(host: string, port: number, servername: string): Promise<{ status: number; body: string; subject: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, path: '/', servername, headers: { host: servername }, rejectUnauthorized: false, timeout: 5000 }, (res) => {
      const subject = (res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '';
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body, subject: String(subject) }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

t.test('Ingresses on a host: hosts, paths, TLS, status', async (t) => {
  const testHost = makeTestHost(t);
  const dir = t.testdir();
  const net = makeTestNetwork(t, 1);
  const registry = await startRegistry(t, { bindAddress: net.gateway });
  for (const name of ['a', 'b']) await pushImage(registry.host, `site:${name}`, await buildImage({ layers: [busyboxLayer(), site(name)] }));
  const controller = await startTestController(t, dir, { listen: `${net.gateway}:0` });
  const h = net.hosts[0]!;
  const agent = await startTestAgent(t, path.join(dir, h.netns), [
    '--controller', controller.address, '--token', controller.token(), '--node-name', h.netns, '--node-ip', h.ip, '--insecure-registry', registry.host,
    '--ingress-http-port', '80', '--ingress-https-port', '443',
  ], testHost, { netns: h.netns });
  const berth = (args: string[]) => controller.berth(args);
  const apply = (name: string, text: string) => applyManifest(t, controller, dir, name, text);

  t.match(berth(['get', 'ingressclass']).stdout, /berth\s+berth\.dev\/ingress\s+<none>/, 'the cluster has berth\'s class');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'a.key'), '-out', path.join(dir, 'a.crt'), '-subj', '/CN=a.example.com', '-days', '1'], { stdio: 'ignore' });
  const secret = berth(['create', 'secret', 'tls', 'a-tls', '--cert', path.join(dir, 'a.crt'), '--key', path.join(dir, 'a.key')]);
  t.equal(secret.status, 0, secret.stderr);
  const appsFile = apply('apps', [app('a', `${registry.host}/site:a`), app('b', `${registry.host}/site:b`)].join('---\n'));
  await eventually('both sites ready behind their Services', () => {
    const slices = JSON.parse(berth(['get', 'endpointslices', '-o', 'json']).stdout).items as Array<{ metadata: { labels?: Record<string, string> }; endpoints: Array<{ conditions?: { ready?: boolean } }> }>;
    return ['web-a', 'web-b'].every((svc) => slices.some((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc && s.endpoints.some((e) => e.conditions?.ready)));
  }, 120_000, 300);
  apply('ingress', ingress);

  const ask = (hostHeader: string, urlPath = '/') => get({ host: h.ip, port: 80, path: urlPath, hostHeader });
  const answer = await eventually('the exact host routed', async () => {
    const r = await ask('a.example.com');
    return r.status === 200 ? r : undefined;
  }, 30_000, 300);
  t.equal(answer.body, 'site a\n', 'a.example.com: web-a');
  t.equal((await ask('x.b.example.com')).body, 'site b\n', '*.b.example.com: web-b, its port by name');
  t.equal((await ask('deep.x.b.example.com')).status, 200, 'a wildcard takes one label only: a deeper name falls to the rules without a host');
  t.equal((await ask('deep.x.b.example.com')).body, 'site a\n');
  t.equal((await ask('c.example.com', '/b/index.html')).body, 'site b under /b\n', 'no host: the longest prefix, /b, wins');
  t.equal((await ask('c.example.com', '/bx/')).status, 404, '/bx is not under /b: it goes to web-a, which has no such file');
  t.equal((await ask('c.example.com', '/index.html?x=1')).body, 'site a\n', 'the query is not part of the path');
  const missing = await ask('c.example.com', '/gone');
  t.equal(missing.status, 503, 'a Service that does not exist: 503');
  t.match(missing.body, /service "default\/web-c" not found/);
  t.equal((await ask('other.example.com')).body, 'site a\n', 'another controller\'s Ingress is not served: its host falls to the rules without a host');

  const tlsAnswer = await eventually('HTTPS with the Secret\'s certificate', async () => {
    const r = await getTls(h.ip, 443, 'a.example.com');
    return r.status === 200 ? r : undefined;
  }, 30_000, 300);
  t.equal(tlsAnswer.subject, 'a.example.com', 'the certificate of a-tls');
  t.equal(tlsAnswer.body, 'site a\n');
  await t.rejects(getTls(h.ip, 443, 'nobody.example.com'), 'no certificate for a name no tls entry lists: the handshake fails');

  const shown = await eventually('the node\'s address in the Ingress status', () => {
    const ing = JSON.parse(berth(['get', 'ingress', 'sites', '-o', 'json']).stdout) as Ingress;
    return ing.status?.loadBalancer?.ingress?.[0]?.ip === h.ip ? ing : undefined;
  }, 30_000, 300);
  t.equal(shown.spec.ingressClassName, 'berth', 'an Ingress naming no class gets the default class');
  t.match(berth(['get', 'ingress']).stdout, new RegExp(`sites\\s+berth\\s+a\\.example\\.com,\\*\\.b\\.example\\.com,\\*\\s+${h.ip.replace(/\./g, '\\.')}\\s+80, 443`), 'get ingress: class, hosts, address, ports');
  const other = JSON.parse(berth(['get', 'ingress', 'elsewhere', '-o', 'json']).stdout) as Ingress;
  t.same(other.status?.loadBalancer?.ingress, undefined, 'another class\'s Ingress gets no status from berth');

  // A backend that loses its endpoints answers 503 until it has one again.
  t.equal(berth(['delete', 'pod', 'web-b']).status, 0);
  const gone = await eventually('503 without endpoints', async () => {
    const r = await ask('x.b.example.com');
    return r.status === 503 ? r : undefined;
  }, 30_000, 300);
  t.match(gone.body, /has no ready endpoints/);

  t.equal(berth(['delete', '-f', appsFile]).status, 0);
  await eventually('no pod containers left', () => agent.berth(['ps', '-aq']).stdout.trim() === '', 60_000, 200);
  await agent.stop();
});
