// The dns suite: the agent's cluster DNS server on loopback with an index of 1,000 Services.
// Queries per second and latency (p50, p99) of Service names over UDP from 32 concurrent clients
// for a few seconds, and the time from update() with a new Service to that Service resolving.
//
// The clients run in a worker thread, so that they do not share the server's event loop: the
// figures are the server's, not the load generator's. They send queries encoded once here with
// dns-packet, changing only the id, and check each reply's id and rcode in its header; a sample of
// the replies is decoded with dns-packet here to check that they say what they should.

import * as dgram from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { decode, encode, RECURSION_DESIRED } from 'dns-packet';
import { startClusterDns, type ClusterDnsServer } from '../../agent/network/dns';
import type { Service } from '../../proto/resources';

export interface DnsBenchOptions {
  /** Services in the index. Default 1000. */
  services?: number;
  /** Concurrent UDP clients, each with one query in flight. Default 32. */
  clients?: number;
  /** Length of the load, s. Default 3. */
  seconds?: number;
  /** Rounds of update() -> resolves. Default 20. */
  updateRounds?: number;
}

const serviceAt = (i: number): Service => ({
  apiVersion: 'v1', kind: 'Service',
  metadata: { name: `svc-${i}`, namespace: `ns-${i % 10}` },
  spec: { type: 'ClusterIP', clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
});

const nameOf = (s: Service) => `${s.metadata.name}.${s.metadata.namespace}.svc.cluster.local`;

const percentile = (sorted: Float64Array, p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** The load generator, plain JavaScript for an eval'd worker: node built-ins only. */
const CLIENTS = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const { port, clients, durationMs, queries } = workerData;
const wire = queries.map((q) => Buffer.from(q));
const latencies = [];
const samples = [];
let sent = 0, answered = 0, errors = 0, lost = 0;
const deadline = Date.now() + durationMs;
function client(k) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    let id = 0, began = 0n, timer, next = k;
    const send = () => {
      if (Date.now() >= deadline) { socket.close(); return resolve(); }
      id = (id + 1) & 0xffff;
      const q = Buffer.from(wire[next % wire.length]);
      next += clients;
      q.writeUInt16BE(id, 0);
      sent++;
      began = process.hrtime.bigint();
      timer = setTimeout(() => { lost++; send(); }, 1000);
      socket.send(q, port, '127.0.0.1');
    };
    socket.on('message', (reply) => {
      if (reply.length < 12 || reply.readUInt16BE(0) !== id) return; // a late reply to a query given up on
      clearTimeout(timer);
      latencies.push(Number(process.hrtime.bigint() - began) / 1000);
      answered++;
      // Header only: rcode (low 4 bits of byte 3) NOERROR and at least one answer.
      if ((reply[3] & 0x0f) !== 0 || reply.readUInt16BE(6) === 0) errors++;
      if (samples.length < 8 && answered % 997 === 0) samples.push(reply);
      send();
    });
    socket.bind(0, '127.0.0.1', send);
  });
}
Promise.all(Array.from({ length: clients }, (_, k) => client(k))).then(() => {
  parentPort.postMessage({ sent, answered, errors, lost, latencies: Float64Array.from(latencies), samples });
});
`;

interface LoadResult {
  sent: number;
  answered: number;
  errors: number;
  lost: number;
  /** µs */
  latencies: Float64Array;
  samples: Uint8Array[];
}

function runClients(port: number, clients: number, durationMs: number, queries: Buffer[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENTS, { eval: true, workerData: { port, clients, durationMs, queries } });
    worker.once('message', (result: LoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`DNS load worker exited with ${code}`)));
  });
}

/** One UDP query from this thread, until its reply; ms. */
function askOnce(socket: dgram.Socket, port: number, name: string, id: number): Promise<{ ms: number; rcode: string; ip?: string }> {
  return new Promise((resolve, reject) => {
    const began = process.hrtime.bigint();
    const timer = setTimeout(() => reject(new Error(`no reply for ${name}`)), 2000);
    const onMessage = (bytes: Buffer) => {
      const reply = decode(bytes) as ReturnType<typeof decode> & { rcode?: string };
      if (reply.id !== id) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      const a = reply.answers?.find((r) => r.type === 'A');
      resolve({ ms: Number(process.hrtime.bigint() - began) / 1e6, rcode: reply.rcode ?? '', ip: a?.type === 'A' ? a.data : undefined });
    };
    socket.on('message', onMessage);
    socket.send(encode({ type: 'query', id, flags: RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  });
}

export async function dnsSuite(log: (line: string) => void, options: DnsBenchOptions = {}): Promise<void> {
  const count = options.services ?? 1000;
  const clients = options.clients ?? 32;
  const seconds = options.seconds ?? 3;
  const rounds = options.updateRounds ?? 20;
  const services = Array.from({ length: count }, (_, i) => serviceAt(i));

  let server: ClusterDnsServer | undefined;
  const socket = dgram.createSocket('udp4');
  try {
    server = await startClusterDns({ addresses: ['127.0.0.1'], port: 0, upstreams: [] });
    server.update(services, []);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    log(`dns: cluster DNS on 127.0.0.1:${server.port}, ${count} Services`);

    // Warm up (JIT, socket buffers), then the measured load.
    const queries = services.map((s, i) => encode({ type: 'query', id: i & 0xffff, flags: RECURSION_DESIRED, questions: [{ name: nameOf(s), type: 'A', class: 'IN' }] }));
    await runClients(server.port, clients, 500, queries);
    const load = await runClients(server.port, clients, seconds * 1000, queries);
    const sorted = load.latencies.sort();
    const qps = load.answered / seconds;
    for (const bytes of load.samples) {
      const reply = decode(Buffer.from(bytes)) as ReturnType<typeof decode> & { rcode?: string };
      const asked = reply.questions?.[0]?.name ?? '';
      const expected = services.find((s) => nameOf(s) === asked)?.spec.clusterIP;
      const got = reply.answers?.find((r) => r.type === 'A');
      if (reply.rcode !== 'NOERROR' || got?.type !== 'A' || got.data !== expected) throw new Error(`dns: ${asked} answered ${reply.rcode} ${got?.type === 'A' ? got.data : ''}, not ${expected}`);
    }
    log(`dns: UDP, ${clients} clients x ${seconds} s: ${load.answered} answers, ${Math.round(qps)} q/s, `
      + `p50 ${percentile(sorted, 50).toFixed(0)} µs, p99 ${percentile(sorted, 99).toFixed(0)} µs, ${load.lost} lost, ${load.errors} not NOERROR`);

    // update() with one more Service -> that Service answering, from a client in this thread.
    const updates: number[] = [];
    const resolved: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const added = serviceAt(count + r);
      const began = process.hrtime.bigint();
      server.update([...services, added], []);
      updates.push(Number(process.hrtime.bigint() - began) / 1e6);
      const reply = await askOnce(socket, server.port, nameOf(added), r + 1);
      resolved.push(Number(process.hrtime.bigint() - began) / 1e6);
      if (reply.rcode !== 'NOERROR' || reply.ip !== added.spec.clusterIP) throw new Error(`dns: ${nameOf(added)} did not resolve right after update(): ${reply.rcode} ${reply.ip ?? ''}`);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    log(`dns: update() with ${count + 1} Services: median ${median(updates).toFixed(2)} ms, max ${Math.max(...updates).toFixed(2)} ms; `
      + `update() -> the new Service resolves: median ${median(resolved).toFixed(2)} ms, max ${Math.max(...resolved).toFixed(2)} ms (first query after update(), ${rounds} rounds)`);
  } finally {
    socket.close();
    await server?.close();
  }
}
