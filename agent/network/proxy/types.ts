// The service proxy (kube-proxy's job, in its nftables mode: KEP-3866): the vocabulary it decides
// in and the executor's interface.
//
// Lifecycle: the agent feeds the Services, the EndpointSlices and what it knows of its node to
// planProxy (plan.ts, pure), which answers with a ProxyRuleset: the whole nftables table as data.
// diffRuleset (diff.ts, pure) turns the last ruleset applied and the next one into one nft script
// that changes only what differs; ServiceProxy (proxy-host.ts) feeds it to `nft -f -`, one atomic
// transaction per sync. The first sync of a ServiceProxy replaces whatever table of its name is
// there (a previous agent's), so an agent restart converges without a flush window; destroy()
// removes the table. Everything lives in one table of the `ip` family, named after the agent
// (default "berth"), so nothing else on the host is touched and removing it undoes all of it.
//
// What the table does, per Service port (names as in kube-proxy where it has the same thing, so
// `nft list table ip berth` reads familiar to someone who knows kube-proxy's):
//
//   service-ips map          clusterIP . proto . port -> goto spread-N (N: its number of endpoints)
//   service-nodeports map    proto . nodePort         -> goto spread-N (NodePort, LoadBalancer)
//   spread-N chain           masquerade mark when needed, then DNAT to
//                            service-endpoints-<proto>[ip daddr . dport . (numgen random mod N)]
//   service-endpoints-tcp,   clusterIP . port . i -> the ith endpoint's ip . port (a NodePort's
//   service-endpoints-udp    under each node address, an external IP's under its own)
//   masquerading chain       also masquerades hairpin traffic: ct status dnat and ip saddr . ip daddr
//                            in hairpin-endpoints ("ip . ip" per endpoint on this node)
//   no-endpoint-*            -> reject (no endpoints at all) or drop (none usable under a Local policy)
//
// So the table has a dozen chains and spread-1 to spread-16 (more only for a number of endpoints
// above 16 that a service has), however large the cluster, and an endpoint that comes or goes
// changes map and set elements only. That is what
// keeps syncs fast: for any change, nft (1.0.6) first reads back every chain and set of the
// table, and kube-proxy's layout (a chain per endpoint) made that read the bulk of every sync.
// Where the endpoint depends on the client, a service port keeps kube-proxy's chains of its own,
// reached from the maps instead of spread-N:
//
//   session affinity        service-<H>-ns/name/proto/port: ip saddr @affinity-... goto endpoint-...,
//                           then numgen random mod N vmap { 0 : goto endpoint-<H>-...__ip/port, ... };
//                           endpoint-...: update @affinity-... { ip saddr }, dnat to ip:port
//   externalTrafficPolicy   external-<H>-...: pods and the host to service-<H>-..., others to
//   Local (external addrs)  local-<H>-... (this node's endpoints), each a DNAT through an inline
//                           numgen map (its ClusterIP still goes to spread-N)
//
// Never a loopback address: NodePorts do not answer on 127.0.0.0/8 and no endpoint is DNATed
// there, so net.ipv4.conf.*.route_localnet is not needed (it opens the host's loopback services
// to its pods, CVE-2020-8558), as in kube-proxy's nftables mode.

import type { EndpointSlice, Service } from '../../../proto/resources';

/** What the planner reads: the cluster's objects and what the agent knows of its own node. */
export interface ProxyInput {
  services: readonly Service[];
  /** Every slice; those without the kubernetes.io/service-name label or not IPv4 are ignored. */
  slices: readonly EndpointSlice[];
  /** This node's name: internal/externalTrafficPolicy Local keep endpoints with this nodeName. */
  nodeName: string;
  /** The addresses NodePorts answer on (the node's InternalIPs); loopback addresses are left out. */
  nodeIps: readonly string[];
  /**
   * The cluster's pod CIDR. Traffic to a ClusterIP from outside it (the host itself, a routed
   * client) is masqueraded, so that the reply comes back through this node to be un-DNATed
   * (kube-proxy's --cluster-cidr). Absent: such traffic keeps its source address.
   */
  clusterCidr?: string;
}

export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/** A chain attached to a netfilter hook. */
export interface BaseChainSpec {
  type: 'filter' | 'nat';
  hook: NftHook;
  /** Numeric, as nft 1.0.6 takes no "dstnat - 10" for a filter chain: dstnat is -100, srcnat 100. */
  priority: number;
}

export interface NftChain {
  /** Present for a base chain; absent for a regular chain, which runs only when jumped to. */
  base?: BaseChainSpec;
  /** Rule lines in nft syntax, in order, without the `add rule ip <table> <chain>` prefix. */
  rules: string[];
}

/** A named set: its definition and, unless the kernel fills it (dynamic), its elements. */
export interface NftSet {
  /** nft type expression: `ipv4_addr`. */
  type: string;
  flags?: string[];
  /** Elements time out after this many seconds (session affinity). */
  timeoutSeconds?: number;
  comment?: string;
  /** Each once, in a stable order (the same input, the same order); empty for the kernel-filled affinity sets. */
  elements: string[];
}

/** A named map. */
export interface NftMap {
  /**
   * nft type expression (`ipv4_addr . inet_proto . inet_service : verdict`), or with `typeof`, the
   * expressions whose types the key and value take (`ip daddr . numgen random mod 1 : ip daddr`).
   */
  type: string;
  /** `type` names expressions: for a key part with no type name (numgen's integer). */
  typeof?: boolean;
  comment?: string;
  /**
   * Key (`10.96.0.10 . tcp . 80`) -> value (`goto spread-3`), each in canonical text, in groups: one
   * per service address, the same frozen array in successive rulesets while its Service is
   * unchanged, so that the diff looks inside changed groups only. A key is in one group only.
   */
  elements: readonly ElementGroup[];
}

/** Map elements that come and go together: [key, value] pairs. */
export type ElementGroup = ReadonlyArray<readonly [key: string, value: string]>;

/**
 * The whole table as data. Names are stable for a service port and an endpoint, so two rulesets
 * differ exactly where the cluster did, and a diff touches only that. Treat as immutable.
 */
export interface ProxyRuleset {
  chains: Record<string, NftChain>;
  sets: Record<string, NftSet>;
  maps: Record<string, NftMap>;
  /** What the planner left out, and why ("default/web: clusterIP "x" is not an IPv4 address"). Not part of the table. */
  skipped: string[];
}

/** How a sync went, for logs and the bench. */
export interface SyncResult {
  /** full: the table replaced as a whole; incremental: a diff applied; unchanged: nft not run. */
  mode: 'full' | 'incremental' | 'unchanged';
  /** Lines of the nft script. */
  lines: number;
  /** Milliseconds computing the script, and inside `nft` (its process, start to exit). */
  diffMs: number;
  nftMs: number;
}

export interface ServiceProxyOptions {
  /** The table's name in the `ip` family; one per agent on a host. Default "berth". */
  table?: string;
  log?: (line: string) => void;
  /** Run nft in this named network namespace (`ip netns exec NAME nft`): tests and benches. */
  netns?: string;
  /** The nft executable. Default "nft" from PATH. */
  nft?: string;
}

export interface CompiledServiceProxyOptions {
  table: string;
  log: (line: string) => void;
  /** The command line that runs nft reading a script on stdin. */
  command: [string, ...string[]];
}
