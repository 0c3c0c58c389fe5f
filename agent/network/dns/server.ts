// The DNS server an agent runs for its pods: the cluster's names from the current index (records.ts),
// every other name from the upstream resolvers through a cache. Messages are read and written by
// dns-packet; here are the sockets, the transports' rules (UDP sizes and truncation, TCP framing)
// and the bookkeeping of one query.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import {
  AUTHORITATIVE_ANSWER, CHECKING_DISABLED, RECURSION_AVAILABLE, RECURSION_DESIRED, TRUNCATED_RESPONSE,
  decode, encode, type Answer, type OptAnswer, type Packet, type Question,
} from 'dns-packet';
import { BerthError } from '../../../proto/errors';
import type { EndpointSlice, Service } from '../../../proto/resources';
import { cacheKey, ReplyCache, type CachedReply, type DecodedReply } from './cache';
import { frame, FrameReader } from './framing';
import { answer, buildIndex, normalizeDomain } from './records';
import type { ClusterAnswer, CompiledDnsServerOptions, DnsIndex, DnsServerOptions, DnsServerStats, Upstream } from './types';
import { CLUSTER_TTL, DEFAULT_CLUSTER_DOMAIN } from './types';
import { Forwarder, parseUpstream, readResolvConf } from './upstream';

/** A reply over UDP to a client without EDNS fits in this (RFC 1035 4.2.1). */
const CLASSIC_UDP_SIZE = 512;
/**
 * The largest UDP reply we build, whatever a client offers: the DNS flag day 2020 size, which
 * crosses any link without IP fragmentation.
 */
const MAX_UDP_SIZE = 1232;
/** A TCP connection stops being read while this many of its queries are unanswered (RFC 7766 pipelining, bounded). */
const MAX_TCP_PIPELINE = 64;
/** Binding port 0 on UDP and then the same port on TCP can find TCP's taken: try another this often. */
const BIND_ATTEMPTS = 8;

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10 } as const;
type Rcode = keyof typeof RCODES;
/** An upstream's rcode as dns-packet names it, as a number (SERVFAIL for one we do not know). */
const rcodeOf = (name: string | undefined): Rcode => (name ?? 'NOERROR') in RCODES ? (name ?? 'NOERROR') as Rcode : 'SERVFAIL';
const OPCODE_MASK = 0x7800;

/** A decoded query: dns-packet also reads the opcode, which its types leave out. */
type Query = DecodedReply & { opcode?: string };

type Transport = 'udp' | 'tcp';

/** Options in, compiled options out: everything checked and defaulted once. */
export function compileDnsServerOptions(options: DnsServerOptions = {}): CompiledDnsServerOptions {
  const bad = (message: string) => new BerthError('invalid-argument', `cluster DNS: ${message}`);
  const whole = (value: number | undefined, fallback: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min || v > max) throw bad(`${what} ${v} is not a whole number between ${min} and ${max}`);
    return v;
  };
  const addresses = options.addresses ?? ['127.0.0.1'];
  if (addresses.length === 0) throw bad('no address to listen on');
  for (const a of addresses) if (net.isIP(a) === 0) throw bad(`listen address ${JSON.stringify(a)} is not an IP address`);
  return {
    addresses: [...addresses],
    port: whole(options.port, 53, 'port', 0, 65535),
    domain: normalizeDomain(options.domain ?? DEFAULT_CLUSTER_DOMAIN),
    ttl: whole(options.ttl, CLUSTER_TTL, 'TTL', 0, 3600),
    upstreams: options.upstreams?.map(parseUpstream),
    resolvConf: options.resolvConf ?? '/etc/resolv.conf',
    upstreamTimeoutMs: whole(options.upstreamTimeoutMs, 2000, 'upstream timeout (ms)', 1),
    cacheSize: whole(options.cacheSize, 10_000, 'cache size', 0),
    maxCacheTtl: whole(options.maxCacheTtl, 300, 'longest cache TTL (s)', 0),
    maxNegativeTtl: whole(options.maxNegativeTtl, 30, 'longest negative cache TTL (s)', 0),
    tcpIdleTimeoutMs: whole(options.tcpIdleTimeoutMs, 10_000, 'TCP idle timeout (ms)', 1),
    now: options.now ?? Date.now,
    log: options.log ?? (() => {}),
  };
}

/** Whether an upstream is this server itself: asking it would loop until every query times out. */
function isSelf(upstream: Upstream, addresses: readonly string[], port: number): boolean {
  if (upstream.port !== port) return false;
  if (addresses.includes(upstream.address)) return true;
  const wildcard = addresses.some((a) => a === '0.0.0.0' || a === '::');
  return wildcard && (upstream.address.startsWith('127.') || upstream.address === '::1');
}

export class ClusterDnsServer {
  readonly options: CompiledDnsServerOptions;
  private index: DnsIndex;
  private serial = Math.floor(Date.now() / 1000);
  private readonly cache: ReplyCache;
  private forwarder: Forwarder | undefined;
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  /** Aborts the upstream exchanges in flight when the server closes. */
  private readonly closing = new AbortController();
  private state: 'new' | 'listening' | 'closed' = 'new';
  private boundPort: number | undefined;
  private readonly counters: DnsServerStats = { queries: 0, local: 0, cacheHits: 0, forwarded: 0, servfail: 0, dropped: 0 };

  constructor(options: DnsServerOptions = {}) {
    this.options = compileDnsServerOptions(options);
    this.cache = new ReplyCache(this.options.cacheSize, { maxTtl: this.options.maxCacheTtl, maxNegativeTtl: this.options.maxNegativeTtl });
    this.index = buildIndex([], [], { domain: this.options.domain, ttl: this.options.ttl, serial: this.serial });
  }

  /** The port bound on every address, for both protocols (the chosen one when asked for port 0). */
  get port(): number {
    if (this.boundPort === undefined) throw new BerthError('failed-precondition', 'cluster DNS: not listening yet');
    return this.boundPort;
  }

  /** The upstreams in use (after listen(): resolv.conf's when none were given, never the server itself). */
  get upstreams(): readonly Upstream[] {
    return this.forwarder?.upstreams ?? [];
  }

  stats(): DnsServerStats {
    return { ...this.counters };
  }

  /**
   * Binds UDP and TCP on every address at one port, and settles the upstreams. Fails with
   * 'unavailable' when an address cannot be bound (in use, not this host's, or port 53 without
   * CAP_NET_BIND_SERVICE), having released whatever it had bound.
   */
  async listen(): Promise<void> {
    if (this.state !== 'new') throw new BerthError('failed-precondition', `cluster DNS: listen() on a server that is ${this.state === 'closed' ? 'closed' : 'already listening'}`);
    const { options } = this;
    const upstreams = options.upstreams ?? await this.upstreamsFromResolvConf();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bindAll();
        break;
      } catch (err) {
        await this.unbindAll();
        const code = (err as NodeJS.ErrnoException).code;
        if (options.port === 0 && code === 'EADDRINUSE' && attempt < BIND_ATTEMPTS) continue;
        throw new BerthError('unavailable', `cluster DNS: cannot listen on ${options.addresses.join(', ')} port ${options.port}: ${(err as Error).message}`, { cause: err });
      }
    }
    const port = this.boundPort!;
    const own = upstreams.filter((u) => isSelf(u, options.addresses, port));
    for (const u of own) options.log(`cluster DNS: leaving out upstream ${u.address}:${u.port}: it is this server`);
    this.forwarder = new Forwarder(upstreams.filter((u) => !own.includes(u)), options.upstreamTimeoutMs, options.now, this.closing.signal);
    if (this.forwarder.upstreams.length === 0) options.log('cluster DNS: no upstream resolver: names outside the cluster domain get SERVFAIL');
    this.state = 'listening';
  }

  /**
   * resolv.conf's nameservers, those that are addresses. Without them the cluster's names are still
   * answered, so an unreadable file is logged, not fatal.
   */
  private async upstreamsFromResolvConf(): Promise<Upstream[]> {
    const { resolvConf, log } = this.options;
    let lines: string[];
    try {
      lines = await readResolvConf(resolvConf);
    } catch (err) {
      log(`cluster DNS: ${(err as Error).message}`);
      return [];
    }
    const upstreams: Upstream[] = [];
    for (const text of lines) {
      try {
        upstreams.push(parseUpstream(text));
      } catch (err) {
        log(`cluster DNS: ${resolvConf}: skipping nameserver: ${(err as Error).message}`);
      }
    }
    return upstreams;
  }

  /**
   * The cluster's names from now on: the full current lists of Services and EndpointSlices (not a
   * change), as a watch's cache holds them. The next query is answered from them.
   */
  update(services: readonly Service[], slices: readonly EndpointSlice[]): void {
    this.index = buildIndex(services, slices, { domain: this.options.domain, ttl: this.options.ttl, serial: ++this.serial });
  }

  /** Stops listening, closes client connections and abandons upstream queries in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closing.abort();
    await this.unbindAll();
    this.cache.clear();
  }

  /**
   * The reply to one message, whatever the transport; undefined when it gets none (malformed, or
   * not a query). Never throws.
   */
  private async handle(message: Buffer, transport: Transport): Promise<Buffer | undefined> {
    let query: Query;
    try {
      query = decode(message);
    } catch {
      this.counters.dropped++;
      return undefined;
    }
    // A reply sent to us is never answered: two servers would echo each other for ever.
    if (query.type !== 'query') {
      this.counters.dropped++;
      return undefined;
    }
    this.counters.queries++;
    const limit = transport === 'tcp' ? 0xffff : replySizeLimit(query);
    try {
      if (query.opcode !== 'QUERY') return reply(query, { rcode: 'NOTIMP' }, limit);
      if (query.questions?.length !== 1) return reply(query, { rcode: 'FORMERR' }, limit);
      const question = query.questions[0]!;
      const local = answer(this.index, question);
      if (local !== 'forward') {
        this.counters.local++;
        return reply(query, await this.followOutside(local, question), limit);
      }
      return await this.forward(message, query, question, transport, limit);
    } catch (err) {
      // A bug, or a record dns-packet cannot encode: the client hears SERVFAIL, not silence.
      this.options.log(`cluster DNS: ${query.questions?.[0]?.name ?? '?'}: ${(err as Error).message}`);
      this.counters.servfail++;
      try {
        return reply(query, { rcode: 'SERVFAIL' }, limit);
      } catch {
        return undefined; // not even the question can be written back
      }
    }
  }

  /**
   * An ExternalName's CNAME to a name outside the cluster is followed upstream, as CoreDNS does:
   * stub resolvers (glibc, musl) do not chase a CNAME themselves. If the upstreams cannot say, the
   * CNAME alone is the answer.
   */
  private async followOutside(local: ClusterAnswer, question: Question): Promise<ClusterAnswer> {
    const last = local.answers[local.answers.length - 1];
    if (last?.type !== 'CNAME' || question.type === 'CNAME' || (question.type as string) === 'ANY') return local;
    const target: Question = { name: last.data, type: question.type, class: question.class ?? 'IN' };
    if (answer(this.index, target) !== 'forward') return local; // a chain that ran out of hops inside the domain
    const key = cacheKey(target);
    let found: CachedReply | undefined = this.cache.get(key, this.options.now());
    if (!found && this.forwarder && this.forwarder.upstreams.length > 0) {
      const query = encode({ type: 'query', id: 0, flags: RECURSION_DESIRED, questions: [target] });
      this.counters.forwarded++;
      const upstream = await this.forwarder.query(query, target, false);
      if (upstream) {
        this.cache.put(key, upstream.packet, this.options.now());
        found = { rcode: upstream.packet.rcode ?? 'NOERROR', answers: upstream.packet.answers ?? [], authorities: [], additionals: [] };
      }
    }
    if (!found || (found.rcode !== 'NOERROR' && found.rcode !== 'NXDOMAIN')) return local;
    return { ...local, rcode: found.rcode as ClusterAnswer['rcode'], answers: [...local.answers, ...found.answers.filter((r) => r.type !== 'OPT')] };
  }

  /** A name that is not the cluster's: from the cache, or from the upstreams (and then cached). */
  private async forward(message: Buffer, query: Query, question: Question, transport: Transport, limit: number): Promise<Buffer> {
    const key = cacheKey(question);
    const cached = this.cache.get(key, this.options.now());
    if (cached) {
      this.counters.cacheHits++;
      return reply(query, { rcode: rcodeOf(cached.rcode), answers: cached.answers, authorities: cached.authorities, additionals: cached.additionals }, limit);
    }
    let upstream;
    if (this.forwarder && this.forwarder.upstreams.length > 0) {
      this.counters.forwarded++;
      upstream = await this.forwarder.query(message, question, transport === 'tcp');
    }
    if (!upstream) {
      this.counters.servfail++;
      return reply(query, { rcode: 'SERVFAIL' }, limit);
    }
    this.cache.put(key, upstream.packet, this.options.now());
    if (upstream.bytes.length > limit) {
      // Fetched whole over TCP for a UDP client that cannot take it: it hears TC, asks again over
      // TCP, and the cache answers.
      return reply(query, { rcode: rcodeOf(upstream.packet.rcode), answers: upstream.packet.answers ?? [] }, limit);
    }
    // The upstream's bytes as they came, under the client's id, saying that we recurse (RA).
    const bytes = Buffer.from(upstream.bytes);
    bytes.writeUInt16BE(query.id ?? 0, 0);
    bytes.writeUInt8(bytes.readUInt8(3) | 0x80, 3);
    return bytes;
  }

  private async bindAll(): Promise<void> {
    let port = this.options.port;
    for (const address of this.options.addresses) {
      const udp = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4' });
      this.udp.push(udp);
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address, port, exclusive: true }, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      // Once bound, a socket error (a send to a client that vanished) must not end the server.
      udp.on('error', (err) => this.options.log(`cluster DNS: UDP ${address}: ${err.message}`));
      udp.on('message', (message, peer) => this.onDatagram(udp, message, peer));
      port = udp.address().port;
      this.boundPort = port;

      const tcp = net.createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
      this.tcp.push(tcp);
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      tcp.on('error', (err) => this.options.log(`cluster DNS: TCP ${address}: ${err.message}`));
    }
  }

  private async unbindAll(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    const closing = [
      ...this.udp.splice(0).map((udp) => new Promise<void>((resolve) => {
        try {
          udp.close(() => resolve());
        } catch {
          resolve(); // never bound, or closed already
        }
      })),
      ...this.tcp.splice(0).map((tcp) => new Promise<void>((resolve) => (tcp.listening ? tcp.close(() => resolve()) : resolve()))),
    ];
    await Promise.all(closing);
    if (this.state !== 'listening') this.boundPort = undefined;
  }

  private onDatagram(udp: dgram.Socket, message: Buffer, peer: dgram.RemoteInfo): void {
    void this.handle(message, 'udp').then((bytes) => {
      if (!bytes || this.state === 'closed') return;
      try {
        udp.send(bytes, peer.port, peer.address, (err) => err && this.options.log(`cluster DNS: reply to ${peer.address}:${peer.port}: ${err.message}`));
      } catch {
        // The socket closed while the answer was on its way (a failed bind being retried): nobody to send it to.
      }
    });
  }

  /**
   * One client connection: any number of queries, each answered as soon as it is ready (RFC 7766
   * allows replies out of order; the ids tell them apart). A malformed message ends the connection,
   * whose framing can no longer be trusted; so does idleness. A client may close its side once it
   * has sent its queries (half-close): the connection ends when their replies are written.
   */
  private onConnection(socket: net.Socket): void {
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.tcpIdleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    const reader = new FrameReader();
    let pending = 0;
    let ended = false;
    socket.on('end', () => {
      ended = true;
      if (pending === 0) socket.end();
    });
    socket.on('data', (chunk) => {
      for (const message of reader.push(chunk)) {
        pending++;
        if (pending >= MAX_TCP_PIPELINE) socket.pause();
        void this.handle(message, 'tcp').then((bytes) => {
          pending--;
          if (socket.destroyed) return;
          if (!bytes) return void socket.destroy();
          socket.write(frame(bytes));
          if (ended && pending === 0) socket.end();
          else if (pending < MAX_TCP_PIPELINE && socket.isPaused()) socket.resume();
        });
      }
    });
  }
}

/** Starts a server: construct, listen. */
export async function startClusterDns(options: DnsServerOptions = {}): Promise<ClusterDnsServer> {
  const server = new ClusterDnsServer(options);
  await server.listen();
  return server;
}

/** How large a UDP reply this client takes: 512 without EDNS, else what it offers, within our bounds. */
function replySizeLimit(query: Query): number {
  const opt = query.additionals?.find((r): r is OptAnswer => r.type === 'OPT');
  return opt ? Math.min(MAX_UDP_SIZE, Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize)) : CLASSIC_UDP_SIZE;
}

interface ReplyBody {
  rcode: Rcode;
  authoritative?: boolean;
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
}

/**
 * A reply to `query`: its id, opcode, question, RD and CD kept; RA set (we recurse for our
 * clients); an OPT record when the client sent one (RFC 6891 7). Over `limit` bytes the additional
 * section goes first (RFC 2181 9: no TC for that), then every record, with TC set so the client
 * asks again over TCP.
 */
function reply(query: Query, body: ReplyBody, limit: number): Buffer {
  const clientOpt = query.additionals?.some((r) => r.type === 'OPT');
  const opt: Answer[] = clientOpt ? [{ name: '.', type: 'OPT', udpPayloadSize: MAX_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const flags = ((query.flags ?? 0) & (OPCODE_MASK | RECURSION_DESIRED | CHECKING_DISABLED)) | RECURSION_AVAILABLE
    | (body.authoritative ? AUTHORITATIVE_ANSWER : 0) | RCODES[body.rcode];
  const packet: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: body.answers ?? [],
    authorities: body.authorities ?? [],
    additionals: [...(body.additionals ?? []), ...opt],
  };
  let bytes = encode(packet);
  if (bytes.length <= limit) return bytes;
  bytes = encode({ ...packet, additionals: opt });
  if (bytes.length <= limit) return bytes;
  return encode({ ...packet, flags: flags | TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: opt });
}
