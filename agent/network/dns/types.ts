// The node-local cluster DNS: the vocabulary of agent/network/dns and its lifecycle.
//
// Every agent answers DNS for the pods on its host, at its bridge's gateway address, port 53, over
// UDP and TCP. Names under the cluster domain (`<svc>.<ns>.svc.cluster.local`, the endpoints of
// headless Services, `<a-b-c-d>.<ns>.pod.cluster.local`) are answered from an index built from the
// Services and EndpointSlices the agent watches (records.ts, pure, as Kubernetes' DNS specification
// and CoreDNS's kubernetes plugin answer them); every other name is forwarded to the host's
// resolvers (upstream.ts), and their replies are cached for as long as they say, within bounds
// (cache.ts).
//
// Lifecycle: `new ClusterDnsServer(options)` compiles the options once (bad ones throw
// invalid-argument there, not at the first query). `listen()` binds UDP and TCP on every address
// at one port (port 0: one free port, the same for both protocols and all addresses) and, when no
// upstreams were given, reads them from resolv.conf, leaving out the server itself.
// `update(services, slices)` replaces the whole index at once: it is handed the full current lists
// on every watch change (level-triggered, never a delta), and the next query sees them. An index is
// immutable once built, so a query in flight keeps the one it started with. `close()` stops
// listening, ends TCP connections and abandons the upstream queries in flight; it is idempotent.

import type { Answer, SoaAnswer } from 'dns-packet';

/** The cluster domain when none is given, as Kubernetes' default. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/**
 * TTL of cluster answers, s. Short because Services and their endpoints change under the names;
 * CoreDNS's kubernetes plugin uses the same.
 */
export const CLUSTER_TTL = 5;

/** The version of Kubernetes' DNS schema these records follow (the `dns-version.<domain>` TXT). */
export const DNS_SCHEMA_VERSION = '1.0.1';

export type ClusterRcode =
  /** The name exists; `answers` may still be empty (NODATA: the name has no record of that type). */
  | 'NOERROR'
  /** No such name under the cluster domain. */
  | 'NXDOMAIN'
  /** The name is under the cluster domain but the class is not IN: nobody answers it. */
  | 'REFUSED';

/** What the index says to one question under the cluster domain (or one of its reverse names). */
export interface ClusterAnswer {
  rcode: ClusterRcode;
  /** We are the source of truth for the name (every answer from the cluster domain). */
  authoritative: boolean;
  answers: Answer[];
  /** The domain's SOA for NXDOMAIN and NODATA, so resolvers cache the negative answer briefly. */
  authorities: Answer[];
  /** The A/AAAA records of SRV targets. */
  additionals: Answer[];
}

/** 'forward': the name is not the cluster's; the upstream resolvers answer it. */
export type Resolution = ClusterAnswer | 'forward';

/**
 * The cluster's names, built by buildIndex() from Services and EndpointSlices. Immutable once built
 * (every record handed out is a copy): the server swaps whole indexes, never edits one.
 */
export interface DnsIndex {
  /** Lower case, no trailing dot. */
  readonly domain: string;
  readonly ttl: number;
  /** Owner name (lower case, no trailing dot) -> its records. */
  readonly names: ReadonlyMap<string, readonly Answer[]>;
  /**
   * Names that own no record but have names below them (`svc.<domain>`, `<ns>.svc.<domain>`,
   * `_tcp.<svc>...`): they exist, so a question for them is NODATA, never NXDOMAIN, which would
   * tell a resolver that nothing below them exists either (RFC 8020).
   */
  readonly enclosers: ReadonlySet<string>;
  /** `d.c.b.a.in-addr.arpa` of cluster IPs and endpoint addresses -> their PTR records. */
  readonly reverse: ReadonlyMap<string, readonly Answer[]>;
  readonly soa: SoaAnswer;
  /** Services indexed (for logs and stats). */
  readonly services: number;
}

export interface IndexOptions {
  /** Default DEFAULT_CLUSTER_DOMAIN. */
  domain?: string;
  /** Default CLUSTER_TTL. */
  ttl?: number;
  /** The SOA serial; the server gives each index a larger one. Default 1. */
  serial?: number;
}

/** A resolver names are forwarded to. */
export interface Upstream {
  address: string;
  port: number;
  family: 4 | 6;
}

export interface DnsServerOptions {
  /** Addresses to listen on, UDP and TCP. Default ['127.0.0.1']; the agent passes its bridge's gateway. */
  addresses?: string[];
  /** One port for every address and both protocols; 0 picks a free one (see `port`). Default 53. */
  port?: number;
  /** Default DEFAULT_CLUSTER_DOMAIN. */
  domain?: string;
  /** TTL of cluster answers, s. Default CLUSTER_TTL. */
  ttl?: number;
  /**
   * Resolvers for names outside the cluster domain, tried in order: 'a.b.c.d', 'a.b.c.d:port',
   * '::1', '[::1]:port'. Default: the nameservers of `resolvConf`, read at listen(). Either way the
   * server's own listening address and port are left out (it would ask itself).
   */
  upstreams?: string[];
  /** Read when `upstreams` is absent (unreadable: logged, and no upstream). Default '/etc/resolv.conf'. */
  resolvConf?: string;
  /** How long one upstream has to answer before the next is asked, ms. Default 2000. */
  upstreamTimeoutMs?: number;
  /** Upstream replies kept at most (least recently used go first). Default 10,000. */
  cacheSize?: number;
  /** Longest an upstream answer is cached, s, whatever its TTL. Default 300. */
  maxCacheTtl?: number;
  /** Longest a negative upstream answer (NXDOMAIN, NODATA) is cached, s. Default 30. */
  maxNegativeTtl?: number;
  /** A TCP client connection idle this long is closed, ms (RFC 7766 asks for seconds). Default 10,000. */
  tcpIdleTimeoutMs?: number;
  /** The clock the cache ages by, ms. Default Date.now. */
  now?: () => number;
  /** Notable events: upstreams left out, unreadable resolv.conf, socket errors. Default: none. */
  log?: (line: string) => void;
}

/** DnsServerOptions validated and defaulted once, at construction. */
export interface CompiledDnsServerOptions {
  addresses: string[];
  port: number;
  domain: string;
  ttl: number;
  /** Undefined: read from resolvConf at listen(). */
  upstreams: Upstream[] | undefined;
  resolvConf: string;
  upstreamTimeoutMs: number;
  cacheSize: number;
  maxCacheTtl: number;
  maxNegativeTtl: number;
  tcpIdleTimeoutMs: number;
  now: () => number;
  log: (line: string) => void;
}

/** Counters since the server started, for logs and tests. */
export interface DnsServerStats {
  /** Well-formed queries received, over both transports. */
  queries: number;
  /** Answered from the cluster index. */
  local: number;
  /** Answered from the cache of upstream replies. */
  cacheHits: number;
  /** Sent to the upstreams (cache misses). */
  forwarded: number;
  /** Answered SERVFAIL: no upstream replied. */
  servfail: number;
  /** Packets dropped as malformed, or because they were replies. */
  dropped: number;
}
