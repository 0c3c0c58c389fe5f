// berth's ingress controller: the route table and matching as pure functions (precedence of hosts
// and paths, classes served, backends resolved to ready endpoints), then the server on loopback
// with real upstreams: forwarded headers, round robin, 502, and an Upgrade spliced through.

import * as http from 'node:http';
import * as net from 'node:net';
import t, { type Test } from 'tap';
import { IngressServer, matchRoute, matchTls, normalizedPath, planRoutes, type RouteInput } from '../../agent/network/ingress';
import { SERVICE_NAME_LABEL, type EndpointSlice, type Ingress, type IngressClass, type IngressSpec, type Service } from '../../proto/resources';

const berthClass: IngressClass = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'berth', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'berth.dev/ingress' } };
const nginxClass: IngressClass = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } };
const ing = (name: string, spec: IngressSpec, created = '2026-01-01T00:00:00Z', annotations?: Record<string, string>): Ingress => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', creationTimestamp: created, ...(annotations ? { annotations } : {}) }, spec,
});
const svc = (name: string, ports: Array<{ name?: string; port: number }>): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: ports.map((p) => ({ ...p, targetPort: 8080 })) } });
const slice = (service: string, portName: string | undefined, port: number, ips: Array<[string, boolean]>): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${service}-x`, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: service } }, addressType: 'IPv4',
  endpoints: ips.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })), ports: [{ ...(portName ? { name: portName } : {}), port, protocol: 'TCP' }],
});
const backend = (name: string, port: number | string) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const path = (p: string, name: string, pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific' = 'Prefix') => ({ path: p, pathType, backend: backend(name, 80) });

const base: Omit<RouteInput, 'ingresses'> = {
  classes: [berthClass, nginxClass],
  services: ['a', 'b', 'c', 'd'].map((n) => svc(n, [{ name: 'web', port: 80 }])),
  slices: [slice('a', 'web', 8080, [['10.0.0.1', true]]), slice('b', 'web', 8080, [['10.0.0.2', true], ['10.0.0.3', false]]), slice('c', 'web', 8080, [['10.0.0.4', true]]), slice('d', 'web', 8080, [['10.0.0.5', true]])],
};
const routeOf = (ingresses: Ingress[], host: string, url: string) => matchRoute(planRoutes({ ...base, ingresses }), host, normalizedPath(url)!)?.name;

t.test('paths: longest prefix by elements, Exact first at equal length, oldest on a tie', async (t) => {
  const ingresses = [ing('x', { rules: [{ http: { paths: [path('/', 'a'), path('/foo', 'b'), path('/foo/bar', 'c'), path('/foo', 'd', 'Exact')] } }] })];
  t.equal(routeOf(ingresses, 'h', '/foo/bar/baz'), 'default/c:80');
  t.equal(routeOf(ingresses, 'h', '/foo'), 'default/d:80', 'Exact beats Prefix of the same path');
  t.equal(routeOf(ingresses, 'h', '/foo/'), 'default/b:80', 'Prefix /foo takes /foo/');
  t.equal(routeOf(ingresses, 'h', '/foobar'), 'default/a:80', 'not /foo: elements, not characters');
  t.equal(routeOf([ing('x', { rules: [{ http: { paths: [path('/foo/', 'b')] } }] })], 'h', '/foo'), 'default/b:80', 'a trailing slash in the rule is ignored for Prefix');
  t.equal(routeOf([ing('x', { rules: [{ http: { paths: [path('/foo', 'b', 'ImplementationSpecific')] } }] })], 'h', '/foo/x'), 'default/b:80', 'ImplementationSpecific is Prefix');
  const older = ing('old', { rules: [{ http: { paths: [path('/same', 'a')] } }] }, '2025-01-01T00:00:00Z');
  const newer = ing('new', { rules: [{ http: { paths: [path('/same', 'b')] } }] }, '2026-06-01T00:00:00Z');
  t.equal(routeOf([newer, older], 'h', '/same'), 'default/a:80', 'the oldest Ingress wins a conflict');
});

t.test('request paths are matched as nginx normalises them', async (t) => {
  t.equal(normalizedPath('/public/../admin'), '/admin', 'dot segments resolved before matching');
  t.equal(normalizedPath('/public/%2e%2e/admin?x=1'), '/admin', 'percent-escapes decoded first; the query left out');
  t.equal(normalizedPath('//a///b/./c/'), '/a/b/c/', 'repeated slashes merged, a trailing one kept');
  t.equal(normalizedPath('http://example.com/a/b'), '/a/b', 'an absolute-form target: its path');
  t.equal(normalizedPath('/../etc'), undefined, 'above the root: refused');
  t.equal(normalizedPath('/%zz'), undefined, 'a broken escape: refused');
  t.equal(normalizedPath('*'), undefined, 'not a path: refused');
  const ingresses = [ing('x', { rules: [{ http: { paths: [path('/public', 'a'), path('/admin', 'b', 'Exact')] } }], defaultBackend: backend('c', 80) })];
  t.equal(routeOf(ingresses, 'h', '/public/../admin'), 'default/b:80', 'the /public rule does not take a request for /admin');
});

t.test('hosts: exact, then one-label wildcards, then rules without a host; ports ignored', async (t) => {
  const ingresses = [ing('x', { rules: [
    { host: 'foo.example.com', http: { paths: [path('/api', 'a')] } },
    { host: '*.example.com', http: { paths: [path('/', 'b')] } },
    { http: { paths: [path('/', 'c')] } },
  ], defaultBackend: backend('d', 80) })];
  t.equal(routeOf(ingresses, 'FOO.example.com:8443', '/api/v1'), 'default/a:80', 'case and port do not matter');
  t.equal(routeOf(ingresses, 'foo.example.com', '/other'), 'default/d:80', 'the exact host\'s group has no match: the default backend, not the wildcard');
  t.equal(routeOf(ingresses, 'bar.example.com', '/x'), 'default/b:80');
  t.equal(routeOf(ingresses, 'a.bar.example.com', '/x'), 'default/c:80', 'a wildcard stands for one label');
  t.equal(routeOf(ingresses, 'example.com', '/x'), 'default/c:80');
  t.equal(routeOf([ing('x', { rules: [{ host: 'h', http: { paths: [path('/', 'a')] } }] })], 'other', '/'), undefined, 'nothing: 404');
});

t.test('classes: berth\'s, the legacy annotation, classless while berth\'s is the default', async (t) => {
  const rule = { rules: [{ http: { paths: [path('/', 'a')] } }] };
  t.same(planRoutes({ ...base, ingresses: [ing('mine', { ...rule, ingressClassName: 'berth' })] }).served, ['default/mine']);
  t.same(planRoutes({ ...base, ingresses: [ing('theirs', { ...rule, ingressClassName: 'nginx' })] }).served, []);
  t.same(planRoutes({ ...base, ingresses: [ing('legacy', rule, undefined, { 'kubernetes.io/ingress.class': 'nginx' })] }).served, [], 'the old annotation names a class too');
  t.same(planRoutes({ ...base, ingresses: [ing('none', rule)] }).served, ['default/none'], 'no class: ours while ours is the default');
  t.same(planRoutes({ ...base, classes: [{ ...berthClass, metadata: { name: 'berth' } }], ingresses: [ing('none', rule)] }).served, [], 'no class and no default: nobody\'s');
});

t.test('backends: ready endpoints of the Service port, by number or name; problems for 503', async (t) => {
  const table = planRoutes({ ...base, ingresses: [ing('x', { rules: [
    { host: 'b', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('b', 'web') }] } },
    { host: 'nosvc', http: { paths: [path('/', 'zzz')] } },
    { host: 'noport', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('a', 81) }] } },
    { host: 'res', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'icons' } } }] } },
  ] })] });
  t.same(matchRoute(table, 'b', '/')?.upstreams, [{ ip: '10.0.0.2', port: 8080 }], 'the not-ready endpoint is left out');
  t.match(matchRoute(table, 'nosvc', '/')?.problem, /service "default\/zzz" not found/);
  t.match(matchRoute(table, 'noport', '/')?.problem, /has no port 81/);
  t.match(matchRoute(table, 'res', '/')?.problem, /resource backends are not served/);
});

t.test('tls: by SNI name, exact before wildcard, an entry without hosts for the rest', async (t) => {
  const table = planRoutes({ ...base, ingresses: [ing('x', { rules: [{ http: { paths: [path('/', 'a')] } }], tls: [
    { hosts: ['*.example.com'], secretName: 'wild' }, { hosts: ['a.example.com'], secretName: 'exact' }, { secretName: 'fallback' },
  ] })] });
  t.equal(matchTls(table, 'a.example.com')?.secretName, 'exact');
  t.equal(matchTls(table, 'b.example.com')?.secretName, 'wild');
  t.equal(matchTls(table, 'other.org')?.secretName, 'fallback');
});

/** An upstream on loopback that answers with what it was sent. */
async function upstream(t: Test, name: string): Promise<number> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], connection: 'keep-alive, x-secret', 'x-secret': 'hop' });
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  server.on('upgrade', (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(`${name}:${d.toString()}`));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return (server.address() as net.AddressInfo).port;
}

function request(port: number, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: { host: 'h', ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

t.test('the server: forwarding, round robin, 404/502/503, upgrades', async (t) => {
  const [p1, p2] = [await upstream(t, 'one'), await upstream(t, 'two')];
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
  const listening = new IngressServer({ httpPort: 0, address: '127.0.0.1', secret: async () => undefined, log: () => undefined });
  const bound = await listening.listen();
  t.teardown(() => listening.close());
  const table = {
    routes: [
      { pathType: 'Prefix' as const, path: '/', backend: { name: 'default/web:80', upstreams: [{ ip: '127.0.0.1', port: p1 }, { ip: '127.0.0.1', port: p2 }] }, ingress: 'default/x', created: '' },
      { pathType: 'Prefix' as const, path: '/down', backend: { name: 'default/down:80', upstreams: [{ ip: '127.0.0.1', port: closed }] }, ingress: 'default/x', created: '' },
      { pathType: 'Prefix' as const, path: '/empty', backend: { name: 'default/empty:80', upstreams: [], problem: 'service "default/empty" has no ready endpoints' }, ingress: 'default/x', created: '' },
    ],
    defaults: [], tls: [], served: ['default/x'],
  };
  listening.update(table);
  const first = await request(bound.http!, { path: '/p?q=1', method: 'POST', body: 'hello', headers: { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-drop', 'x-drop': 'me' } });
  const seen = JSON.parse(first.body);
  t.equal(seen.method, 'POST');
  t.equal(seen.url, '/p?q=1', 'path and query passed as sent');
  t.equal(seen.body, 'hello', 'the body too');
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the peer: what the client claimed is not passed on');
  t.equal(seen.headers['x-forwarded-proto'], 'http');
  t.equal(seen.headers['x-forwarded-host'], 'h');
  t.equal(seen.headers.host, 'h', 'the Host header kept');
  t.equal(seen.headers['x-drop'], undefined, 'a header the client named in Connection is hop-by-hop');
  t.same(first.headers['set-cookie'], ['a=1', 'b=2'], 'repeated response headers kept');
  t.equal(first.headers['x-secret'], undefined, 'and the upstream\'s Connection-named header dropped');
  const second = JSON.parse((await request(bound.http!)).body);
  t.not(second.name, seen.name, 'the next request goes to the other upstream');

  t.equal((await request(bound.http!, { path: '/down' })).status, 502, 'an upstream that refuses: 502');
  const empty = await request(bound.http!, { path: '/empty' });
  t.equal(empty.status, 503);
  t.match(empty.body, /no ready endpoints/);
  t.equal((await request(bound.http!, { path: '/../down' })).status, 400, 'a path above the root: 400');
  listening.update({ ...table, routes: [] });
  t.equal((await request(bound.http!)).status, 404, 'no route: 404');
  listening.update(table);

  const echoed = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(bound.http!, '127.0.0.1', () => socket.write('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'));
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n\r\n') && !data.includes('ping')) socket.write('ping');
      if (/:ping$/.test(data)) {
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('error', reject);
  });
  t.match(echoed, /^HTTP\/1\.1 101 Switching Protocols/, 'the upgrade answered by the upstream');
  t.match(echoed, /(one|two):ping$/, 'then bytes both ways');
});

t.test('the server: broken connections are passed on, and close() ends open tunnels', async (t) => {
  // An upstream that sends half an answer and hangs up; one that streams until its client goes.
  let streamClosed!: () => void;
  const streamGone = new Promise<void>((resolve) => (streamClosed = resolve));
  const upstream = http.createServer((req, res) => {
    if (req.url === '/half') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    res.writeHead(200);
    const timer = setInterval(() => res.write('tick\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      streamClosed();
    });
  });
  upstream.on('upgrade', (_req, socket) => {
    socket.on('error', () => undefined);
    socket.on('end', () => socket.end());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    upstream.closeAllConnections();
    upstream.close(() => r());
  }));
  const port = (upstream.address() as net.AddressInfo).port;
  const server = new IngressServer({ httpPort: 0, address: '127.0.0.1', secret: async () => undefined, log: () => undefined });
  const bound = await server.listen();
  server.update({ routes: [{ pathType: 'Prefix', path: '/', backend: { name: 'default/up:80', upstreams: [{ ip: '127.0.0.1', port }] }, ingress: 'default/x', created: '' }], defaults: [], tls: [], served: ['default/x'] });

  const half = await new Promise<string>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: bound.http, path: '/half', headers: { host: 'h' } }, (res) => {
      res.on('data', () => undefined);
      res.on('error', (err) => resolve(`error: ${err.message}`));
      res.on('end', () => resolve('ended cleanly'));
    });
    req.on('error', (err) => resolve(`error: ${err.message}`));
    req.end();
  });
  t.match(half, /^error: /, 'an upstream that breaks off mid-answer breaks the client\'s answer (no silent hang)');

  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: bound.http, path: '/stream', headers: { host: 'h' } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.end();
  });
  await streamGone;
  t.pass('a client that goes away takes the upstream request with it');

  const tunnel = net.connect(bound.http!, '127.0.0.1');
  await new Promise<void>((resolve) => {
    tunnel.on('data', (d) => {
      if (d.toString().includes('101')) resolve();
    });
    tunnel.write('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
  });
  const closed = new Promise<void>((resolve) => tunnel.on('close', () => resolve()));
  await server.close();
  await closed;
  t.pass('close() resolves with a WebSocket open, and ends it');
});
