// Probes: settings and thresholds as pure functions, and real tries against loopback servers.

import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import { Reader, Writer } from 'protobufjs';
import * as net from 'node:net';
import t from 'tap';
import { initialProbeState, nextProbeAt, probeSettings, probeTarget, recordProbeResult } from '../../agent/node/probe';
import { runProbe } from '../../agent/node/prober';
import { ProbeRunner } from '../../agent/node/probe-runner';
import { systemClock } from '../../agent/node/types';

t.test('settings: Kubernetes defaults, and a liveness success threshold of 1', async (t) => {
  t.same(probeSettings({ exec: { command: ['x'] } }, 'readiness'), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
  t.same(probeSettings({ initialDelaySeconds: 2, periodSeconds: 1, timeoutSeconds: 3, successThreshold: 4, failureThreshold: 2 }, 'liveness'),
    { initialDelayMs: 2000, periodMs: 1000, timeoutMs: 3000, successThreshold: 1, failureThreshold: 2 });
  t.equal(probeSettings({ periodSeconds: 0 }, 'readiness').periodMs, 1000, 'a period below a second is a second');
  t.equal(nextProbeAt(1000, undefined, probeSettings({ initialDelaySeconds: 5 }, 'readiness')), 6000);
  t.equal(nextProbeAt(1000, 6000, probeSettings({ periodSeconds: 2 }, 'readiness')), 8000);
});

t.test('thresholds: readiness needs successThreshold successes, liveness fails after failureThreshold failures', async (t) => {
  const r = probeSettings({ successThreshold: 2, failureThreshold: 2 }, 'readiness');
  let s = initialProbeState('readiness');
  t.equal(s.healthy, false, 'not ready before the first success');
  s = recordProbeResult(s, true, undefined, r);
  t.equal(s.healthy, false, 'one success of two');
  s = recordProbeResult(s, true, undefined, r);
  t.equal(s.healthy, true);
  s = recordProbeResult(s, false, 'no', r);
  t.equal(s.healthy, true, 'one failure of two');
  s = recordProbeResult(s, true, undefined, r);
  s = recordProbeResult(s, false, 'no', r);
  t.equal(s.healthy, true, 'a success in between starts the count again');
  s = recordProbeResult(s, false, 'still no', r);
  t.same(s, { healthy: false, successes: 0, failures: 2, message: 'still no' });

  const l = probeSettings({ failureThreshold: 3 }, 'liveness');
  let v = initialProbeState('liveness');
  t.equal(v.healthy, true, 'alive until proven otherwise');
  for (let i = 0; i < 2; i++) v = recordProbeResult(v, false, 'x', l);
  t.equal(v.healthy, true);
  v = recordProbeResult(v, false, 'x', l);
  t.equal(v.healthy, false);
});

t.test('targets: named ports, the pod address by default, a clear error otherwise', async (t) => {
  const c = { name: 'web', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] };
  t.same(probeTarget({ httpGet: { port: 'http', path: 'healthz' } }, c, '10.1.0.2'), { type: 'http', scheme: 'http', host: '10.1.0.2', port: 8080, path: '/healthz', headers: {} });
  t.same(probeTarget({ tcpSocket: { port: 9000, host: '127.0.0.1' } }, c, undefined), { type: 'tcp', host: '127.0.0.1', port: 9000 });
  t.throws(() => probeTarget({ tcpSocket: { port: 'nope' } }, c, '10.1.0.2'), /container web: probe port "nope" names none of the container's ports/);
  t.throws(() => probeTarget({ tcpSocket: { port: 80 } }, c, undefined), /the pod has no address yet/);
  t.throws(() => probeTarget({}, c, 'x'), /exec, tcpSocket, httpGet or grpc/);
});

t.test('tries against real servers: tcp, http status codes, timeouts, exec exit codes', async (t) => {
  let status = 200;
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') return setTimeout(() => res.end('late'), 3000).unref();
    res.writeHead(req.headers['x-probe'] === 'yes' ? status : 418);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const port = (server.address() as net.AddressInfo).port;
  const noExec = async () => ({ exitCode: 0, output: '' });
  const get = (path: string) => ({ type: 'http' as const, scheme: 'http' as const, host: '127.0.0.1', port, path, headers: { 'x-probe': 'yes' } });

  t.same(await runProbe({ type: 'tcp', host: '127.0.0.1', port }, 1000, noExec), { ok: true });
  const closed = await new Promise<number>((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
  const refused = await runProbe({ type: 'tcp', host: '127.0.0.1', port: closed }, 1000, noExec);
  t.equal(refused.ok, false);
  t.match(refused.message, /ECONNREFUSED/);

  t.same(await runProbe(get('/'), 1000, noExec), { ok: true });
  status = 503;
  t.same(await runProbe(get('/'), 1000, noExec), { ok: false, message: 'HTTP probe failed with statuscode: 503' });
  status = 302;
  t.same(await runProbe(get('/'), 1000, noExec), { ok: true }, 'a redirect is a success');
  const started = Date.now();
  t.same(await runProbe(get('/slow'), 300, noExec), { ok: false, message: 'probe timed out after 0.3s' });
  t.ok(Date.now() - started < 2000, 'the timeout ends the try');

  t.same(await runProbe({ type: 'exec', command: ['check'] }, 1000, async () => ({ exitCode: 0, output: 'fine\n' })), { ok: true, message: 'fine' });
  t.same(await runProbe({ type: 'exec', command: ['check', 'it'] }, 1000, async () => ({ exitCode: 2, output: 'broken\n' })), { ok: false, message: 'command "check it" exited with 2: broken' });
  let aborted = false;
  const hung = await runProbe({ type: 'exec', command: ['sleep'] }, 200, (_c, signal) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = true; resolve({ exitCode: 143, output: '' }); })));
  t.equal(hung.ok, false);
  t.ok(aborted, 'the exec is told to end at the timeout');
});

t.test('a runner tries on schedule and reports each verdict', async (t) => {
  const results: boolean[] = [];
  let calls = 0;
  const runner = new ProbeRunner({
    kind: 'liveness',
    settings: { initialDelayMs: 100, periodMs: 1000, timeoutMs: 500, successThreshold: 1, failureThreshold: 2 },
    target: () => ({ type: 'exec', command: ['x'] }),
    startedAtMs: Date.now(),
    exec: async () => ({ exitCode: calls++ === 0 ? 0 : 1, output: '' }),
    clock: systemClock,
    onResult: (state) => results.push(state.healthy),
  });
  runner.start();
  t.teardown(() => runner.stop());
  const started = Date.now();
  while (results.length < 3 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
  runner.stop();
  t.same(results, [true, true, false], 'healthy, one failure tolerated, then failing');
  t.ok(Date.now() - started >= 2000, 'one period between tries');
});

t.test('a startup probe: alone until it succeeds, then liveness and readiness; failing it restarts the container', async (t) => {
  const { PodProbes } = await import('../../agent/node/pod-probes');
  t.equal(probeSettings({ successThreshold: 3 }, 'startup').successThreshold, 1, 'a startup success threshold of 1');
  let startupOk = false;
  const calls: string[] = [];
  const probes = new PodProbes({ namespace: 'default', name: 'p', uid: 'u' }, {
    containers: { exec: async (_id: string, command: string[]) => { calls.push(command[0]!); return command[0] === 'startup' ? (startupOk ? 0 : 1) : 0; } },
    events: { record: () => undefined } as never,
    clock: systemClock,
    podIp: () => '127.0.0.1',
    kick: () => undefined,
  });
  t.teardown(() => probes.stop(() => true));
  const spec = { name: 'c', image: 'x', startupProbe: { exec: { command: ['startup'] }, periodSeconds: 1, failureThreshold: 30 }, livenessProbe: { exec: { command: ['live'] }, periodSeconds: 1 }, readinessProbe: { exec: { command: ['ready'] }, periodSeconds: 1 } };
  const pod = { apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { name: 'p' }, spec: { containers: [spec] } };
  const { containerHash } = await import('../../agent/node/naming');
  const observed = [{ id: 'id1', name: 'c', hash: containerHash(spec), image: 'x', imageId: 'i', status: 'running' as const, startedAt: new Date().toISOString(), restartCount: 0, backoff: { initialMs: 10, maxMs: 10, resetAfterMs: 10 } }];
  probes.sync(pod, observed);
  await new Promise((r) => setTimeout(r, 1500));
  t.same([...new Set(calls)], ['startup'], 'only the startup probe runs before it succeeds');
  t.same(probes.readiness(pod, observed), { c: false }, 'not ready while not started');
  t.same([...probes.notStarted(pod, observed)], ['c']);
  startupOk = true;
  await new Promise((r) => setTimeout(r, 1200));
  probes.sync(pod, observed);
  await new Promise((r) => setTimeout(r, 1200));
  t.ok(calls.includes('live') && calls.includes('ready'), 'then liveness and readiness');
  t.same([...probes.notStarted(pod, observed)], [], 'started');

  const failing = new PodProbes({ namespace: 'default', name: 'q', uid: 'v' }, {
    containers: { exec: async () => 1 },
    events: { record: () => undefined } as never,
    clock: systemClock,
    podIp: () => '127.0.0.1',
    kick: () => undefined,
  });
  t.teardown(() => failing.stop(() => true));
  const strict = { ...spec, startupProbe: { exec: { command: ['startup'] }, periodSeconds: 1, failureThreshold: 2 } };
  const strictPod = { ...pod, spec: { containers: [strict] } };
  const run = [{ ...observed[0]!, hash: containerHash(strict) }];
  failing.sync(strictPod, run);
  await new Promise((r) => setTimeout(r, 2500));
  t.same(failing.unhealthyNames(run), ['c'], 'failureThreshold failures: restarted as a failed liveness probe would be');
});

t.test('gRPC probes: the health-checking protocol against a real gRPC server', async (t) => {
  // Health/Check by hand: the service name asked decides the answer (SERVING, NOT_SERVING, or an error).
  const statuses: Record<string, number> = { '': 1, web: 1, db: 2 };
  const server = new grpc.Server();
  const identity = (b: Buffer) => b;
  server.addService({
    Check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  } as unknown as grpc.ServiceDefinition, {
    Check(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      const reader = Reader.create(call.request);
      let service = '';
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        if (tag === 10) service = reader.string();
        else reader.skipType(tag & 7);
      }
      const status = statuses[service];
      if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
      else callback(null, Buffer.from(Writer.create().uint32(8).int32(status).finish()));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const noExec = async () => ({ exitCode: 0, output: '' });
  const target = probeTarget({ grpc: { port } }, { name: 'c', image: 'x' }, '127.0.0.1');
  t.same(target, { type: 'grpc', host: '127.0.0.1', port, service: '' });
  t.same(await runProbe(target, 2000, noExec), { ok: true }, 'the server as a whole: SERVING');
  t.same(await runProbe({ type: 'grpc', host: '127.0.0.1', port, service: 'db' }, 2000, noExec), { ok: false, message: 'service unhealthy (responded with "NOT_SERVING")' });
  t.match(await runProbe({ type: 'grpc', host: '127.0.0.1', port, service: 'nope' }, 2000, noExec), { ok: false, message: /rpc error: code = NOT_FOUND desc = unknown service nope/ });
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  t.match(await runProbe({ type: 'grpc', host: '127.0.0.1', port: closed, service: '' }, 1500, noExec), { ok: false });
});
