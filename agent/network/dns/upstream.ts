// Names outside the cluster go to the host's resolvers: which ones (a list, or resolv.conf's
// nameservers), and one exchange with them, over UDP first and TCP when the reply is truncated or
// the client itself came over TCP. The client's query goes out as it came, but under an id of our
// own, and its reply comes back as it came: records dns-packet does not model survive the trip.

import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import { decode, type Question } from 'dns-packet';
import { BerthError } from '../../../proto/errors';
import type { DecodedReply } from './cache';
import { frame, FrameReader } from './framing';
import { normalizeName } from './records';
import type { Upstream } from './types';

/** 'a.b.c.d', 'a.b.c.d:53', '::1', '[::1]:53' -> an upstream; invalid-argument for anything else. */
export function parseUpstream(text: string): Upstream {
  const bad = (why: string) => new BerthError('invalid-argument', `DNS upstream ${JSON.stringify(text)}: ${why}`);
  let address = text.trim();
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  const v4WithPort = /^([\d.]+):(\d+)$/.exec(address);
  if (bracketed) {
    address = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (v4WithPort) {
    address = v4WithPort[1]!;
    port = Number(v4WithPort[2]);
  }
  // A scoped IPv6 address (fe80::1%eth0) is fine for the socket; net.isIP wants it without the zone.
  const family = net.isIP(address.replace(/%.*$/, ''));
  if (family === 0) throw bad('not an IP address (a resolver is named by address, with an optional :port)');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${port} is not between 1 and 65535`);
  return { address, port, family: family as 4 | 6 };
}

/** The `nameserver` lines of a resolv.conf, in order (resolv.conf(5)); comments and other options ignored. */
export function parseResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (keyword === 'nameserver' && address) servers.push(address);
  }
  return servers;
}

/** The nameservers of a resolv.conf file. */
export async function readResolvConf(path = '/etc/resolv.conf'): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new BerthError('failed-precondition', `cannot read the host's resolvers from ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseResolvConf(text);
}

/** A reply from an upstream: its bytes as they came (id and all), and what dns-packet read in them. */
export interface UpstreamReply {
  bytes: Buffer;
  packet: DecodedReply;
  upstream: Upstream;
}

/** The query's bytes under another id (the first two bytes of every DNS message). */
function withId(query: Buffer, id: number): Buffer {
  const copy = Buffer.from(query);
  copy.writeUInt16BE(id, 0);
  return copy;
}

/**
 * The reply if these bytes are one to our query: our id, and our question back (RFC 5452: a reply
 * that does not match is ignored, not believed).
 */
function matchReply(bytes: Buffer, id: number, question: Question): DecodedReply | undefined {
  let packet: DecodedReply;
  try {
    packet = decode(bytes);
  } catch {
    return undefined;
  }
  const q = packet.questions?.[0];
  const matches = packet.type === 'response' && packet.id === id && packet.questions?.length === 1 && q !== undefined
    && normalizeName(q.name) === normalizeName(question.name) && q.type === question.type && (q.class ?? 'IN') === (question.class ?? 'IN');
  return matches ? packet : undefined;
}

interface Exchange {
  upstream: Upstream;
  query: Buffer;
  question: Question;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * One query to one upstream over UDP, from a socket of its own: a random source port per query
 * (RFC 5452), and `connect` makes the kernel drop datagrams from anyone else and report the
 * upstream's ICMP port-unreachable, so a dead resolver fails at once rather than at the timeout.
 * Undefined on timeout, error or abort.
 */
function udpExchange({ upstream, query, question, timeoutMs, signal }: Exchange): Promise<UpstreamReply | undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(undefined);
    const id = randomInt(0x10000);
    const socket = dgram.createSocket(upstream.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (reply: UpstreamReply | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(reply);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(onAbort, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onAbort);
    socket.on('message', (bytes) => {
      const packet = matchReply(bytes, id, question);
      if (packet) finish({ bytes, packet, upstream });
    });
    socket.connect(upstream.port, upstream.address, () => {
      if (!done) socket.send(withId(query, id), (err) => err && finish(undefined));
    });
  });
}

/** One query to one upstream over TCP, on a connection of its own. Undefined on timeout, error or abort. */
function tcpExchange({ upstream, query, question, timeoutMs, signal }: Exchange): Promise<UpstreamReply | undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(undefined);
    const id = randomInt(0x10000);
    const socket = net.connect({ host: upstream.address, port: upstream.port });
    const reader = new FrameReader();
    let done = false;
    const finish = (reply: UpstreamReply | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(reply);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(onAbort, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(frame(withId(query, id))));
    socket.on('data', (chunk) => {
      for (const bytes of reader.push(chunk)) {
        const packet = matchReply(bytes, id, question);
        if (packet) return finish({ bytes, packet, upstream });
      }
    });
    socket.on('error', onAbort);
    socket.on('close', onAbort);
  });
}

/** An upstream that failed is asked last for this long, ms, so one dead resolver does not cost every query a timeout. */
const DOWN_FOR_MS = 10_000;

/** Sends queries to the upstreams in order, moving to the next on timeout, error or SERVFAIL/REFUSED. */
export class Forwarder {
  private readonly downUntil = new Map<Upstream, number>();
  /** Exchanges started (UDP and TCP), for stats and tests. */
  exchanges = 0;

  constructor(
    readonly upstreams: readonly Upstream[],
    private readonly timeoutMs: number,
    private readonly now: () => number,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * The first usable reply to `query` (the raw message, with `question` its question), or
   * undefined when no upstream gave one. `tcp`: ask over TCP from the start (the client did).
   * Over UDP a truncated reply is asked again over TCP of the same upstream; if that fails, the
   * truncated reply is returned (the client may then try TCP itself). A SERVFAIL or REFUSED moves
   * on to the next upstream, as resolv.conf's resolvers do, and is returned only when no other
   * upstream did better.
   */
  async query(query: Buffer, question: Question, tcp: boolean): Promise<UpstreamReply | undefined> {
    const now = this.now();
    // Healthy upstreams first, in their given order; the ones that failed lately after them.
    const ordered = [...this.upstreams].sort((a, b) => Number((this.downUntil.get(a) ?? 0) > now) - Number((this.downUntil.get(b) ?? 0) > now));
    let fallback: UpstreamReply | undefined;
    for (const upstream of ordered) {
      if (this.signal.aborted) return undefined;
      const exchange = { upstream, query, question, timeoutMs: this.timeoutMs, signal: this.signal };
      this.exchanges++;
      let reply = tcp ? await tcpExchange(exchange) : await udpExchange(exchange);
      if (reply?.packet.flag_tc && !tcp) {
        this.exchanges++;
        reply = (await tcpExchange(exchange)) ?? reply;
      }
      if (!reply) {
        this.downUntil.set(upstream, this.now() + DOWN_FOR_MS);
        continue;
      }
      this.downUntil.delete(upstream);
      if (reply.packet.rcode === 'SERVFAIL' || reply.packet.rcode === 'REFUSED') {
        fallback ??= reply;
        continue;
      }
      return reply;
    }
    return fallback;
  }
}
