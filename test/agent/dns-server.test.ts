// The cluster DNS server on 127.0.0.1, asked over real UDP and TCP sockets: cluster names from the
// index it is given, other names through an upstream that is another small DNS server of the test's
// own (counting what reaches it), the cache in front of it, and the server's resistance to garbage.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { decode, encode, RECURSION_DESIRED, type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import {
  ClusterDnsServer, compileDnsServerOptions, parseResolvConf, parseUpstream, readResolvConf, startClusterDns, type DnsServerOptions,
} from '../../agent/network/dns';
import { SERVICE_NAME_LABEL, type EndpointSlice, type Service } from '../../proto/resources';

type Reply = DecodedPacket & { rcode?: string };

const service = (name: string, spec: Service['spec'], namespace = 'default'): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec });
const headless = (name: string, ips: string[]): [Service, EndpointSlice] => [
  service(name, { clusterIP: 'None' }),
  {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { name: `${name}-a`, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: name } },
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  },
];

let nextId = 1;
const queryOf = (name: string, type: Question['type'] = 'A', edns = false): Packet => ({
  type: 'query', id: nextId++ & 0xffff, flags: RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }],
  ...(edns ? { additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}),
});

/** One UDP exchange with 127.0.0.1:port; rejects after timeoutMs without a reply. */
function udpAsk(port: number, message: Packet | Buffer, timeoutMs = 3000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP reply from port ${port} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (bytes) => {
      clearTimeout(timer);
      socket.close();
      resolve(decode(bytes));
    });
    socket.send(Buffer.isBuffer(message) ? message : encode(message), port, '127.0.0.1');
  });
}

/** Several queries written at once on one TCP connection (each framed), and their replies by id. */
function tcpAsk(port: number, messages: Packet[], halfClose = false): Promise<Map<number, Reply>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const replies = new Map<number, Reply>();
    let pending = Buffer.alloc(0);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error('TCP reply timed out'));
    });
    socket.on('connect', () => {
      // One write for all of them: the server must cut the stream into messages itself.
      socket.write(Buffer.concat(messages.map((m) => {
        const bytes = encode(m);
        const length = Buffer.alloc(2);
        length.writeUInt16BE(bytes.length);
        return Buffer.concat([length, bytes]);
      })));
      if (halfClose) socket.end();
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const reply: Reply = decode(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        replies.set(reply.id!, reply);
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.size === messages.length) {
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('error', reject);
  });
}

async function start(t: Test, options: DnsServerOptions = {}): Promise<ClusterDnsServer> {
  const server = await startClusterDns({ addresses: ['127.0.0.1'], port: 0, upstreams: [], ...options });
  t.teardown(() => server.close());
  return server;
}

interface FakeUpstream {
  port: number;
  udp: number;
  tcp: number;
  questions: string[];
}

/**
 * A small DNS server on 127.0.0.1 (UDP and TCP on one port) answering with `respond`, which gets
 * the query and the transport; undefined: no reply at all.
 */
async function startUpstream(t: Test, respond: (query: Reply, via: 'udp' | 'tcp') => Packet | undefined): Promise<FakeUpstream> {
  const state: FakeUpstream = { port: 0, udp: 0, tcp: 0, questions: [] };
  // One port for both: the kernel picks UDP's, and TCP's twin may be another test's (tried again then).
  let udp: dgram.Socket;
  let tcp: net.Server;
  const sockets = new Set<net.Socket>();
  for (;;) {
    udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    state.port = udp.address().port;
    tcp = net.createServer((socket) => serveTcp(socket));
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(state.port, '127.0.0.1', () => resolve(true));
    });
    if (listening) break;
    await new Promise<void>((resolve) => udp.close(() => resolve()));
  }
  udp.on('message', (bytes, peer) => {
    const query: Reply = decode(bytes);
    state.udp++;
    state.questions.push(`${query.questions![0]!.name}/${query.questions![0]!.type}`);
    const reply = respond(query, 'udp');
    if (reply) udp.send(encode({ ...reply, id: query.id, type: 'response', questions: query.questions }), peer.port, peer.address);
  });
  function serveTcp(socket: net.Socket): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      const query: Reply = decode(chunk.subarray(2));
      state.tcp++;
      const reply = respond(query, 'tcp');
      if (!reply) return;
      const bytes = encode({ ...reply, id: query.id, type: 'response', questions: query.questions });
      const length = Buffer.alloc(2);
      length.writeUInt16BE(bytes.length);
      socket.write(Buffer.concat([length, bytes]));
    });
  }
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  });
  return state;
}

/** A UDP port nobody listens on (bound, then let go): queries to it are refused at once. */
async function deadPort(): Promise<number> {
  // Free over TCP too: a server given this port (the fixed-port test) takes both.
  for (;;) {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    const port = s.address().port;
    const probe = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) await new Promise<void>((resolve) => probe.close(() => resolve()));
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if (free) return port;
  }
}

const a = (name: string, ip: string, ttl = 60): Answer => ({ name, type: 'A', ttl, class: 'IN', data: ip });
const soa = (ttl: number, minimum: number): Answer => ({
  name: 'example.com', type: 'SOA', ttl, class: 'IN', data: { mname: 'ns.example.com', rname: 'hostmaster.example.com', serial: 1, minimum },
});
const ips = (reply: Reply) => (reply.answers ?? []).map((r) => (r.type === 'A' || r.type === 'CNAME' ? r.data : r.type));

t.test('a cluster name over UDP: the query id and question kept, AA and RA set', async (t) => {
  const server = await start(t);
  server.update([service('web', { clusterIP: '10.96.0.10' })], []);
  const query = queryOf('Web.Default.svc.cluster.local');
  const reply = await udpAsk(server.port, query);
  t.equal(reply.id, query.id);
  t.same(reply.questions, [{ name: 'Web.Default.svc.cluster.local', type: 'A', class: 'IN' }]);
  t.equal(reply.rcode, 'NOERROR');
  t.ok(reply.flag_aa, 'authoritative');
  t.ok(reply.flag_ra, 'recursion available');
  t.ok(reply.flag_rd, 'RD echoed');
  t.same(reply.answers?.map((r) => [r.type, 'ttl' in r ? r.ttl : 0, 'data' in r ? r.data : '']), [['A', 5, '10.96.0.10']]);

  const nx = await udpAsk(server.port, queryOf('nope.default.svc.cluster.local'));
  t.equal(nx.rcode, 'NXDOMAIN');
  t.equal(nx.authorities?.[0]?.type, 'SOA');
  const nodata = await udpAsk(server.port, queryOf('web.default.svc.cluster.local', 'AAAA'));
  t.equal(nodata.rcode, 'NOERROR');
  t.same(nodata.answers, []);
  t.equal(server.stats().local, 3);
});

t.test('update() makes a new Service resolve at once, and a removed one go', async (t) => {
  const server = await start(t);
  t.equal((await udpAsk(server.port, queryOf('api.default.svc.cluster.local'))).rcode, 'NXDOMAIN');
  server.update([service('api', { clusterIP: '10.96.0.20' })], []);
  t.same(ips(await udpAsk(server.port, queryOf('api.default.svc.cluster.local'))), ['10.96.0.20']);
  server.update([], []);
  t.equal((await udpAsk(server.port, queryOf('api.default.svc.cluster.local'))).rcode, 'NXDOMAIN');
});

t.test('TCP: several queries on one connection, each framed; a half-closed connection still gets its replies', async (t) => {
  const server = await start(t);
  server.update([service('web', { clusterIP: '10.96.0.10' }), service('db', { clusterIP: '10.96.0.11' })], []);
  const queries = [queryOf('web.default.svc.cluster.local'), queryOf('db.default.svc.cluster.local'), queryOf('nope.default.svc.cluster.local')];
  const replies = await tcpAsk(server.port, queries);
  t.same(ips(replies.get(queries[0]!.id!)!), ['10.96.0.10']);
  t.same(ips(replies.get(queries[1]!.id!)!), ['10.96.0.11']);
  t.equal(replies.get(queries[2]!.id!)!.rcode, 'NXDOMAIN');
  const half = [queryOf('web.default.svc.cluster.local')];
  t.same(ips((await tcpAsk(server.port, half, true)).get(half[0]!.id!)!), ['10.96.0.10']);
});

t.test('a reply too large for UDP: the additional section goes, then TC; over TCP it comes whole', async (t) => {
  const server = await start(t);
  // dns-packet does not compress names: 20 A records of this name are some 900 bytes.
  const addresses = Array.from({ length: 20 }, (_, i) => `10.1.0.${i + 1}`);
  server.update([headless('big', addresses)[0]], [headless('big', addresses)[1]]);
  const plain = await udpAsk(server.port, queryOf('big.default.svc.cluster.local'));
  t.ok(plain.flag_tc, '20 A records do not fit 512 bytes: truncated');
  t.same(plain.answers, []);
  const edns = await udpAsk(server.port, queryOf('big.default.svc.cluster.local', 'A', true));
  t.notOk(edns.flag_tc, 'with EDNS (1232 bytes) they fit');
  t.equal(edns.answers?.length, 20);
  t.equal(edns.additionals?.find((r) => r.type === 'OPT')?.type, 'OPT', 'EDNS answered with EDNS');
  const q = queryOf('big.default.svc.cluster.local');
  t.equal((await tcpAsk(server.port, [q])).get(q.id!)!.answers?.length, 20);
});

t.test('other names go upstream; the second time the cache answers, TTLs counted down', async (t) => {
  let now = 1_000_000;
  const upstream = await startUpstream(t, (q) => ({ flags: RECURSION_DESIRED, answers: [a(q.questions![0]!.name, '192.0.2.1', 60)] }));
  const server = await start(t, { upstreams: [`127.0.0.1:${upstream.port}`], now: () => now });
  const query = queryOf('Example.COM');
  const first = await udpAsk(server.port, query);
  t.equal(first.id, query.id, "the client's id, not ours");
  t.same(first.questions, [{ name: 'Example.COM', type: 'A', class: 'IN' }]);
  t.same(ips(first), ['192.0.2.1']);
  t.ok(first.flag_ra);
  t.equal(upstream.udp, 1);

  now += 20_500;
  const second = await udpAsk(server.port, queryOf('example.com'));
  t.same(ips(second), ['192.0.2.1']);
  t.equal((second.answers![0] as { ttl: number }).ttl, 40, '20 s later, 40 s are left');
  const overTcp = queryOf('EXAMPLE.com');
  t.same(ips((await tcpAsk(server.port, [overTcp])).get(overTcp.id!)!), ['192.0.2.1'], 'the cache serves TCP clients too');
  t.equal(upstream.udp + upstream.tcp, 1, 'the upstream was asked once');
  t.equal(server.stats().cacheHits, 2);

  await udpAsk(server.port, queryOf('example.com', 'MX'));
  t.equal(upstream.udp, 2, 'another type is another key');

  now += 40_000;
  await udpAsk(server.port, queryOf('example.com'));
  t.equal(upstream.udp, 3, 'expired: asked again');
});

t.test('negative answers are cached by the SOA minimum, at most 30 s; answers without an SOA are not', async (t) => {
  let now = 0;
  const upstream = await startUpstream(t, (q) => (q.questions![0]!.name === 'gone.example.com'
    ? { flags: 3, authorities: [soa(3600, 600)] } // NXDOMAIN
    : { flags: 3 }));
  const server = await start(t, { upstreams: [`127.0.0.1:${upstream.port}`], now: () => now });
  t.equal((await udpAsk(server.port, queryOf('gone.example.com'))).rcode, 'NXDOMAIN');
  now += 29_000;
  t.equal((await udpAsk(server.port, queryOf('gone.example.com'))).rcode, 'NXDOMAIN');
  t.equal(upstream.udp, 1, 'cached');
  now += 2_000;
  await udpAsk(server.port, queryOf('gone.example.com'));
  t.equal(upstream.udp, 2, 'after 30 s, asked again (the SOA said 600)');
  await udpAsk(server.port, queryOf('bare.example.com'));
  await udpAsk(server.port, queryOf('bare.example.com'));
  t.equal(upstream.udp, 4, 'an NXDOMAIN without SOA is not cached');
});

t.test('the cache is bounded: the least recently used reply goes first', async (t) => {
  const upstream = await startUpstream(t, (q) => ({ answers: [a(q.questions![0]!.name, '192.0.2.3', 300)] }));
  const server = await start(t, { upstreams: [`127.0.0.1:${upstream.port}`], cacheSize: 2 });
  for (const name of ['a.example.com', 'b.example.com', 'a.example.com', 'c.example.com']) await udpAsk(server.port, queryOf(name));
  t.same(upstream.questions, ['a.example.com/A', 'b.example.com/A', 'c.example.com/A'], 'a came from the cache, and so stayed recent');
  await udpAsk(server.port, queryOf('a.example.com'));
  await udpAsk(server.port, queryOf('b.example.com'));
  t.same(upstream.questions.slice(3), ['b.example.com/A'], 'b, the least recently used, was dropped for c');
});

t.test('an upstream reply truncated over UDP is fetched over TCP, and a TCP client is forwarded over TCP', async (t) => {
  const many = (name: string) => Array.from({ length: 30 }, (_, i) => a(name, `198.51.100.${i + 1}`));
  const upstream = await startUpstream(t, (q, via) => (via === 'udp'
    ? { flags: RECURSION_DESIRED | (1 << 9), answers: [] } // TC
    : { answers: many(q.questions![0]!.name) }));
  const server = await start(t, { upstreams: [`127.0.0.1:${upstream.port}`] });
  const reply = await udpAsk(server.port, queryOf('many.example.com', 'A', true));
  t.equal(reply.answers?.length, 30, 'fits the EDNS size once fetched whole');
  t.same([upstream.udp, upstream.tcp], [1, 1]);
  const small = await udpAsk(server.port, queryOf('many.example.com'));
  t.ok(small.flag_tc, 'a client without EDNS is told to use TCP');
  const q = queryOf('many.example.com');
  t.equal((await tcpAsk(server.port, [q])).get(q.id!)!.answers?.length, 30, 'and then the cache answers it whole');
  t.same([upstream.udp, upstream.tcp], [1, 1]);
  const other = queryOf('other.example.com');
  t.equal((await tcpAsk(server.port, [other])).get(other.id!)!.answers?.length, 30);
  t.same([upstream.udp, upstream.tcp], [1, 2], 'a TCP client: straight to TCP upstream');
});

t.test('an upstream that does not answer: the next one is asked; none answering: SERVFAIL', async (t) => {
  const silent = await startUpstream(t, () => undefined);
  const good = await startUpstream(t, (q) => ({ answers: [a(q.questions![0]!.name, '192.0.2.7')] }));
  const server = await start(t, { upstreams: [`127.0.0.1:${silent.port}`, `127.0.0.1:${good.port}`], upstreamTimeoutMs: 200 });
  t.same(ips(await udpAsk(server.port, queryOf('a.example.com'))), ['192.0.2.7']);
  t.same([silent.udp, good.udp], [1, 1]);
  t.same(ips(await udpAsk(server.port, queryOf('b.example.com'))), ['192.0.2.7']);
  t.same([silent.udp, good.udp], [1, 2], 'the silent one is asked last for a while');

  const dead = await start(t, { upstreams: [`127.0.0.1:${await deadPort()}`], upstreamTimeoutMs: 2000 });
  const began = Date.now();
  const fail = await udpAsk(dead.port, queryOf('example.com'));
  t.equal(fail.rcode, 'SERVFAIL');
  t.ok(fail.flag_ra);
  t.ok(Date.now() - began < 1500, 'a refused port fails at once, not at the timeout');
  t.equal(dead.stats().servfail, 1);
  const none = await start(t, { upstreams: [] });
  t.equal((await udpAsk(none.port, queryOf('example.com'))).rcode, 'SERVFAIL', 'no upstream at all');
  t.equal((await udpAsk(none.port, queryOf('x.default.svc.cluster.local'))).rcode, 'NXDOMAIN', 'cluster names still answer');
});

t.test('an ExternalName to a name outside the cluster is followed upstream', async (t) => {
  const upstream = await startUpstream(t, (q) => ({ answers: [a(q.questions![0]!.name, '203.0.113.5', 120)] }));
  const server = await start(t, { upstreams: [`127.0.0.1:${upstream.port}`] });
  server.update([service('search', { type: 'ExternalName', externalName: 'search.example.com' })], []);
  const reply = await udpAsk(server.port, queryOf('search.default.svc.cluster.local'));
  t.same(reply.answers?.map((r) => `${r.name} ${r.type} ${'data' in r ? r.data : ''}`), [
    'search.default.svc.cluster.local CNAME search.example.com',
    'search.example.com A 203.0.113.5',
  ]);
  t.same(upstream.questions, ['search.example.com/A']);
  await udpAsk(server.port, queryOf('search.default.svc.cluster.local'));
  t.equal(upstream.udp, 1, 'the target came from the cache the second time');
});

t.test('garbage, replies and odd queries do not kill the server', async (t) => {
  const server = await start(t);
  server.update([service('web', { clusterIP: '10.96.0.10' })], []);
  const udp = dgram.createSocket('udp4');
  t.teardown(() => udp.close());
  for (const junk of [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(12, 0xff), Buffer.from([0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 3, 0x61])]) {
    udp.send(junk, server.port, '127.0.0.1');
  }
  // A reply sent to the server is dropped (two servers must not echo each other).
  udp.send(encode({ ...queryOf('web.default.svc.cluster.local'), type: 'response' }), server.port, '127.0.0.1');
  t.same(ips(await udpAsk(server.port, queryOf('web.default.svc.cluster.local'))), ['10.96.0.10'], 'still answering');
  t.equal(server.stats().dropped, 5);

  const two = await udpAsk(server.port, { ...queryOf('web.default.svc.cluster.local'), questions: [{ name: 'a.default.svc.cluster.local', type: 'A' }, { name: 'b.default.svc.cluster.local', type: 'A' }] });
  t.equal(two.rcode, 'FORMERR', 'two questions');
  const notify = await udpAsk(server.port, { ...queryOf('web.default.svc.cluster.local'), flags: 4 << 11 });
  t.equal(notify.rcode, 'NOTIMP', 'an opcode other than QUERY');

  // Garbage on TCP ends that connection only.
  const closed = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => socket.write(Buffer.from([0, 3, 1, 2, 3])));
    socket.on('close', () => resolve(true));
    socket.on('error', () => {});
  });
  t.ok(closed, 'the server closed the connection');
  const q = queryOf('web.default.svc.cluster.local');
  t.same(ips((await tcpAsk(server.port, [q])).get(q.id!)!), ['10.96.0.10']);
});

t.test('close() stops both transports and frees the port', async (t) => {
  const server = await startClusterDns({ port: 0, upstreams: [] });
  const port = server.port;
  await server.close();
  await server.close();
  const refused = await new Promise<string>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve('connected'));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? ''));
  });
  t.equal(refused, 'ECONNREFUSED');
  await t.rejects(udpAsk(port, queryOf('x.default.svc.cluster.local'), 300), /no UDP reply/);
  await t.rejects(server.listen(), { code: 'failed-precondition' });
});

t.test('upstreams: parsed, read from resolv.conf, never the server itself', async (t) => {
  t.same(parseUpstream('10.0.0.2'), { address: '10.0.0.2', port: 53, family: 4 });
  t.same(parseUpstream('10.0.0.2:5353'), { address: '10.0.0.2', port: 5353, family: 4 });
  t.same(parseUpstream('[::1]:5353'), { address: '::1', port: 5353, family: 6 });
  t.same(parseUpstream('fe80::1'), { address: 'fe80::1', port: 53, family: 6 });
  t.throws(() => parseUpstream('dns.example.com'), { code: 'invalid-argument', message: /DNS upstream "dns.example.com": not an IP address/ });
  t.throws(() => parseUpstream('10.0.0.2:0'), { code: 'invalid-argument' });
  t.same(parseResolvConf('# comment\nsearch example.com\nnameserver 10.0.0.2 ; trailing\n  nameserver   ::1\noptions ndots:5\nnameserver\n'), ['10.0.0.2', '::1']);

  // A fixed port, so that resolv.conf can name the server's own address and port.
  const port = await deadPort();
  const upstream = await startUpstream(t, (q) => ({ answers: [a(q.questions![0]!.name, '192.0.2.9')] }));
  const dir = t.testdir({
    'plain.conf': 'nameserver 127.0.0.1\nnameserver not-an-ip\n',
    'resolv.conf': `nameserver 127.0.0.1:${port}\nnameserver bogus\nnameserver 127.0.0.1:${upstream.port}\n`,
  });
  t.same(await readResolvConf(path.join(dir, 'plain.conf')), ['127.0.0.1', 'not-an-ip']);
  await t.rejects(readResolvConf(path.join(dir, 'missing')), { code: 'failed-precondition', message: /cannot read the host's resolvers from .*missing/ });

  const lines: string[] = [];
  const fixed = new ClusterDnsServer({ addresses: ['127.0.0.1'], port, resolvConf: path.join(dir, 'resolv.conf'), log: (line) => lines.push(line) });
  await fixed.listen();
  t.teardown(() => fixed.close());
  t.same(fixed.upstreams, [{ address: '127.0.0.1', port: upstream.port, family: 4 }]);
  t.match(lines.join('\n'), /skipping nameserver: DNS upstream "bogus"/);
  t.match(lines.join('\n'), new RegExp(`leaving out upstream 127.0.0.1:${port}: it is this server`));
  t.same(ips(await udpAsk(fixed.port, queryOf('example.org'))), ['192.0.2.9']);

  const logged: string[] = [];
  const orphan = await start(t, { upstreams: undefined, resolvConf: path.join(dir, 'missing'), log: (line) => logged.push(line) });
  t.same(orphan.upstreams, [], 'no resolv.conf: no upstream, and still listening');
  t.match(logged.join('\n'), /cannot read the host's resolvers from .*missing/);
  t.equal((await udpAsk(orphan.port, queryOf('example.org'))).rcode, 'SERVFAIL');
});

t.test('options are checked once, at construction', async (t) => {
  t.throws(() => compileDnsServerOptions({ addresses: ['localhost'] }), { code: 'invalid-argument', message: /listen address "localhost" is not an IP address/ });
  t.throws(() => compileDnsServerOptions({ port: 70000 }), { code: 'invalid-argument', message: /port 70000/ });
  t.throws(() => compileDnsServerOptions({ upstreams: ['x'] }), { code: 'invalid-argument' });
  t.throws(() => compileDnsServerOptions({ domain: '-bad-' }), { code: 'invalid-argument' });
  t.match(compileDnsServerOptions({}), { addresses: ['127.0.0.1'], port: 53, domain: 'cluster.local', ttl: 5, upstreams: undefined, cacheSize: 10_000, maxCacheTtl: 300, maxNegativeTtl: 30 });
  const taken = await start(t);
  await t.rejects(startClusterDns({ port: taken.port, upstreams: [] }), { code: 'unavailable', message: /cannot listen on 127.0.0.1 port \d+/ });
});
