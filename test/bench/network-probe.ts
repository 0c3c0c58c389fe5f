// The network suite's probes, run by it inside a network namespace (a pod's or a test host's):
//
//   nsenter --net=PATH -- node network-probe.js echo PORT
//   nsenter --net=PATH -- node network-probe.js rr HOST PORT COUNT
//   nsenter --net=PATH -- node network-probe.js connect COUNT HOST:PORT [HOST:PORT...]
//
// echo: a TCP echo server; prints {"listening":PORT} once it listens, then serves until killed.
// rr: one connection (Nagle off), COUNT round trips of a 64-byte message after 200 unmeasured
// ones; latency of each round trip, µs. connect: COUNT rounds of one new connection to each
// target in turn (the order rotated per round), time from connect() to the 'connect' event, µs;
// each socket is closed at once. Both print one JSON line. Node's own event loop is in every
// figure (tens of µs a side): compare the figures with each other, not with ping.

import * as net from 'node:net';

const MESSAGE = 64;
const WARMUP = 200;

const us = (since: bigint) => Number(process.hrtime.bigint() - since) / 1000;

function echo(port: number): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write(`${JSON.stringify({ listening: port })}\n`));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}

async function requestResponse(host: string, port: number, count: number): Promise<number[]> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const payload = Buffer.alloc(MESSAGE, 0x61);
  const samples: number[] = [];
  let pending: (() => void) | undefined;
  let got = 0;
  socket.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= MESSAGE) {
      got -= MESSAGE;
      pending?.();
    }
  });
  for (let i = 0; i < WARMUP + count; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo from ${host}:${port} within 5 s`)), 5000);
      pending = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.write(payload);
    });
    if (i >= WARMUP) samples.push(us(started));
  }
  socket.destroy();
  return samples;
}

function connectOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port}: no answer within 5 s`)), 5000);
    socket.once('connect', () => {
      const took = us(started);
      clearTimeout(timer);
      socket.destroy();
      resolve(took);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function connects(count: number, targets: string[]): Promise<Record<string, number[]>> {
  const parsed = targets.map((t) => {
    const i = t.lastIndexOf(':');
    return { key: t, host: t.slice(0, i), port: Number(t.slice(i + 1)) };
  });
  const samples: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t, []]));
  const warmup = Math.min(50, count);
  for (let round = 0; round < warmup + count; round++) {
    for (let k = 0; k < parsed.length; k++) {
      const t = parsed[(round + k) % parsed.length]!;
      const took = await connectOnce(t.host, t.port);
      if (round >= warmup) samples[t.key]!.push(took);
    }
  }
  return samples;
}

async function main(argv: string[]): Promise<void> {
  const [mode, ...args] = argv;
  if (mode === 'echo') return echo(Number(args[0]));
  if (mode === 'rr') {
    const samples = await requestResponse(args[0]!, Number(args[1]), Number(args[2]));
    process.stdout.write(`${JSON.stringify({ samples })}\n`);
    return;
  }
  if (mode === 'connect') {
    const samples = await connects(Number(args[0]), args.slice(1));
    process.stdout.write(`${JSON.stringify({ samples })}\n`);
    return;
  }
  throw new Error(`network-probe: unknown mode ${JSON.stringify(mode)} (echo, rr, connect)`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`network-probe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
