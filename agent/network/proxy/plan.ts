// The service proxy's decision: from Services and EndpointSlices to the nftables table that sends
// each Service's virtual addresses to its endpoints. Pure: the same input gives the same ruleset,
// names included, so that diff.ts can compare two of them. The layout starts from kube-proxy's
// nftables mode (pkg/proxy/nftables/proxier.go) and moves what it keeps in per-endpoint chains into
// shared chains and map elements, since nft's cost for any change grows with the chains of the
// table (types.ts). Not done here: IPv6 (the `ip` family only), loadBalancerSourceRanges
// (kube-proxy's firewall chains), health-check NodePorts for externalTrafficPolicy Local, and
// topology hints.
//
// Each Service is planned on its own into a fragment (its chains, sets and map elements), which
// is kept while the Service and its slices are the same frozen objects (the agent's watch
// freezes what it keeps and replaces what changed): re-planning a cluster after one change costs
// one Service's work, and unchanged chains and element groups are the very same objects, which
// the diff skips.

import { createHash } from 'node:crypto';
import { parseCidr, parseIPv4, formatCidr } from '../../../proto/network/cidr';
import { SERVICE_NAME_LABEL, type Endpoint, type EndpointSlice, type Service, type ServicePort } from '../../../proto/resources';
import type { ElementGroup, NftChain, NftHook, NftMap, NftSet, ProxyInput, ProxyRuleset } from './types';

/** The packet mark asking the masquerading chain to SNAT (kube-proxy's bit 14: 0x4000). */
export const MASQUERADE_MARK = '0x4000';
/** Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours), and its maximum (a day). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;
const MAX_AFFINITY_TIMEOUT_SECONDS = 86_400;

// The fixed part of the table. Filter chains run just before DNAT (dstnat - 10), so that the
// "no endpoints" verdicts see the address the client asked for.
const FILTER_PRIORITY = -110;
const DSTNAT = -100;
const SRCNAT = 100;

const SERVICE_IPS = 'service-ips';
const SERVICE_NODEPORTS = 'service-nodeports';
/** Per protocol: nft 1.0.6 cannot add rules reading a map whose typeof says `th dport` once the map is in the kernel. */
const SERVICE_ENDPOINTS = { tcp: 'service-endpoints-tcp', udp: 'service-endpoints-udp' } as const;
const NODEPORT_IPS = 'nodeport-ips';
const CLUSTER_IPS = 'cluster-ips';
const HAIRPIN = 'hairpin-endpoints';
const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
const REJECT_CHAIN = 'reject-chain';
const MARK_MASQ = 'mark-for-masquerade';

/** The shared chain that DNATs to one of `n` endpoints, found in service-endpoints-tcp or -udp. */
export const spreadChain = (n: number) => `spread-${n}`;
/**
 * spread-1 to spread-16 are always there: most services have fewer endpoints, and when their
 * number changes (a scale, a rolling update) only map elements change. Beyond 16 a chain is made
 * for a number while an address has it. (A chain deleted in the transaction that deletes the
 * element naming it is refused before Linux 6.2: that sync fails and the next rewrites the table.)
 */
export const SPREAD_CHAINS_ALWAYS = 16;

const NOT_IN_NAMES = /[^A-Za-z0-9_./-]/;
const NOT_IN_NAMES_ALL = /[^A-Za-z0-9_./-]/g;

/** nft keeps names of up to 255 bytes; the longest prefix is "endpoint-". */
const NAME_BASE_MAX = 240;

/**
 * "ULMVA6XW-ns/name/tcp/http" (kube-proxy's form): a hash of the whole, so that names stay unique
 * when cut short and do not look alike at a glance, then the readable part. Characters nft does
 * not take in a name (none are possible in valid Kubernetes names) become '_'.
 */
export function nameBase(readable: string): string {
  const hash = base32(createHash('sha256').update(readable).digest().subarray(0, 5));
  const name = `${hash}-${NOT_IN_NAMES.test(readable) ? readable.replace(NOT_IN_NAMES_ALL, '_') : readable}`;
  return name.length > NAME_BASE_MAX ? `${name.slice(0, NAME_BASE_MAX - 3)}...` : name;
}

/** The base of a service port's chains: namespace/name/protocol/port name. */
export function servicePortNameBase(namespace: string, name: string, protocol: string, portName: string): string {
  return nameBase(`${namespace}/${name}/${protocol}/${portName}`);
}

/** The base of an endpoint's chain and affinity set: its service port's, then "__ip/port". */
export function endpointNameBase(namespace: string, name: string, protocol: string, portName: string, ip: string, port: number): string {
  return nameBase(`${namespace}/${name}/${protocol}/${portName}__${ip}/${port}`);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return bits > 0 ? out + BASE32[(value << (5 - bits)) & 31] : out;
}

interface ProxyEndpoint {
  ip: string;
  /** The address as a number, for ordering. */
  n: number;
  port: number;
  /** On this node (nodeName), for the Local traffic policies. */
  local: boolean;
  /** On this node or not said where: a pod that may reach itself through this node's table. */
  hairpinHere: boolean;
  ready: boolean;
  /** Serving while terminating: used only when no endpoint is ready (kube-proxy's fallback). */
  servingTerminating: boolean;
}

const isLoopback = (n: number) => Math.floor(n / 2 ** 24) === 127;
const numericIp = (ip: string) => parseIPv4(ip) ?? 0;

export function planProxy(input: ProxyInput): ProxyRuleset {
  const skipped: string[] = [];
  const chains: Record<string, NftChain> = {};
  const sets: Record<string, NftSet> = {};
  const maps: Record<string, NftMap> = {};

  const verdictMap = (name: string, type: string, comment: string) => (maps[name] = { type: `${type} : verdict`, comment, elements: [] });
  verdictMap(SERVICE_IPS, 'ipv4_addr . inet_proto . inet_service', 'ClusterIP, ExternalIP and LoadBalancer IP traffic');
  verdictMap(SERVICE_NODEPORTS, 'inet_proto . inet_service', 'NodePort traffic');
  verdictMap(NO_ENDPOINT_SERVICES, 'ipv4_addr . inet_proto . inet_service', 'drop or reject: services with no endpoints');
  verdictMap(NO_ENDPOINT_NODEPORTS, 'inet_proto . inet_service', 'drop or reject: NodePorts with no endpoints');
  // numgen's value has no type name: the key is declared by the expressions that make it.
  for (const proto of ['tcp', 'udp'] as const) {
    maps[SERVICE_ENDPOINTS[proto]] = {
      type: `ip daddr . ${proto} dport . numgen random mod 1 : ip daddr . ${proto} dport`, typeof: true,
      comment: `address . port . n -> the nth endpoint (${proto.toUpperCase()})`, elements: [],
    };
  }

  const nodeIps = new Set<string>();
  for (const ip of input.nodeIps) {
    const n = parseIPv4(ip);
    if (n === undefined) skipped.push(`node address ${JSON.stringify(ip)}: not an IPv4 address`);
    else if (isLoopback(n)) skipped.push(`node address ${ip}: NodePorts do not answer on loopback addresses`);
    else nodeIps.add(ip);
  }
  const sortedNodeIps = [...nodeIps].sort((a, b) => numericIp(a) - numericIp(b));
  sets[NODEPORT_IPS] = { type: 'ipv4_addr', comment: 'addresses NodePorts answer on', elements: sortedNodeIps };

  let clusterCidr: string | undefined;
  if (input.clusterCidr !== undefined) {
    try {
      clusterCidr = formatCidr(parseCidr(input.clusterCidr, 'cluster CIDR'));
    } catch (err) {
      skipped.push(`${(err as Error).message}: traffic from outside the cluster to ClusterIPs is not masqueraded`);
    }
  }

  const base = (type: 'filter' | 'nat', hook: NftHook, priority: number, rules: string[]): NftChain =>
    ({ base: { type, hook, priority }, rules });
  // reject is only allowed in the input, forward and output hooks, hence three filter chains.
  chains['filter-input'] = base('filter', 'input', FILTER_PRIORITY, ['ct state new jump endpoints-check']);
  chains['filter-forward'] = base('filter', 'forward', FILTER_PRIORITY, ['ct state new jump endpoints-check']);
  chains['filter-output'] = base('filter', 'output', FILTER_PRIORITY, ['ct state new jump endpoints-check']);
  chains['nat-prerouting'] = base('nat', 'prerouting', DSTNAT, ['jump services']);
  chains['nat-output'] = base('nat', 'output', DSTNAT, ['jump services']);
  chains['nat-postrouting'] = base('nat', 'postrouting', SRCNAT, ['jump masquerading']);
  chains['services'] = {
    rules: [
      `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`,
      `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`,
    ],
  };
  chains['endpoints-check'] = {
    rules: [
      `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`,
      `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`,
    ],
  };
  // A refused connection is told at once: a TCP reset, or ICMP port unreachable for the rest.
  chains[REJECT_CHAIN] = { rules: ['meta l4proto tcp reject with tcp reset', 'reject'] };
  chains[MARK_MASQ] = { rules: [`mark set mark or ${MASQUERADE_MARK}`] };
  chains['masquerading'] = {
    rules: [
      // Hairpin: a pod reaching itself through a Service is masqueraded, or it would answer itself
      // directly and the connection (to the service address) would never see the reply. nft
      // cannot compare two fields of a packet, hence the set of "endpoint . itself" pairs.
      `ct status dnat ip saddr . ip daddr @${HAIRPIN} jump ${MARK_MASQ}`,
      // The mark is cleared before masquerading so that a packet re-entering the stack (a bridge
      // with br_netfilter) is not masqueraded twice.
      `mark and ${MASQUERADE_MARK} == 0 return`, `mark set mark xor ${MASQUERADE_MARK}`, 'masquerade fully-random',
    ],
  };

  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of input.slices) {
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!service || slice.addressType !== 'IPv4') continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${service}`;
    const list = slicesByService.get(key);
    if (list) list.push(slice);
    else slicesByService.set(key, [slice]);
  }

  const context: PlanContext = { nodeName: input.nodeName, clusterCidr, nodeIps: sortedNodeIps, nodeIpsKey: sortedNodeIps.join(',') };
  const services = input.services.map((s) => ({ key: keyOf(s), service: s })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const groups: Record<string, ElementGroup[]> = {};
  for (const name in maps) groups[name] = maps[name]!.elements as ElementGroup[];
  const keys: Record<string, Set<string>> = {};
  for (const name in maps) keys[name] = new Set();
  /** The "address . port" its keys start with, per service-endpoints map. */
  const spreadKeys: Record<string, Set<string>> = { [SERVICE_ENDPOINTS.tcp]: new Set(), [SERVICE_ENDPOINTS.udp]: new Set() };
  // Two services claiming one address and port: the first by namespace/name keeps it. (A spread
  // key can be taken when the element's is not: an address both a node's and another service's
  // external IP, on a port that is also a nodePort.)
  const takenBy = (entry: Entry): string | undefined => {
    if (keys[entry.map]!.has(entry.key)) return `${entry.key} in ${entry.map}`;
    const spread = entry.spread;
    const k = spread?.keys.find((k) => spreadKeys[spread.map]!.has(k));
    return k === undefined ? undefined : `${k} in ${spread!.map}`;
  };
  const clusterIps = new Set<string>();
  const hairpin = new Set<string>();
  const spreads = new Set<number>();
  for (let n = 1; n <= SPREAD_CHAINS_ALWAYS; n++) spreads.add(n);
  for (const { key, service } of services) {
    const fragment = fragmentOf(service, key, slicesByService.get(key) ?? [], context);
    for (const [name, chain] of fragment.chains) chains[name] = chain;
    for (const [name, set] of fragment.sets) sets[name] = set;
    skipped.push(...fragment.skipped);
    if (fragment.clusterIp !== undefined) clusterIps.add(fragment.clusterIp);
    for (const pair of fragment.hairpin) hairpin.add(pair);
    for (const entry of fragment.entries) {
      const taken = takenBy(entry);
      if (taken !== undefined) {
        skipped.push(`${entry.label}: ${taken} is already taken by another service port`);
        continue;
      }
      keys[entry.map]!.add(entry.key);
      groups[entry.map]!.push(entry.element);
      const spread = entry.spread;
      if (!spread) continue;
      spreads.add(spread.n);
      for (const k of spread.keys) spreadKeys[spread.map]!.add(k);
      if (spread.endpoints.length > 0) groups[spread.map]!.push(spread.endpoints);
    }
  }
  sets[CLUSTER_IPS] = { type: 'ipv4_addr', comment: 'ClusterIPs, told from NodePort and external addresses', elements: [...clusterIps] };
  sets[HAIRPIN] = { type: 'ipv4_addr . ipv4_addr', comment: 'endpoint . itself, for hairpin traffic', elements: [...hairpin] };

  // One chain per number of endpoints, shared by every service address with that many: the
  // table's chains stay few however many Services and endpoints there are (nft reads them all
  // back for any change), and an endpoint that comes or goes changes map elements only.
  for (const n of [...spreads].sort((a, b) => a - b)) {
    chains[spreadChain(n)] = {
      rules: [
        // Off-cluster traffic to a ClusterIP (the host, a routed client) may be sent to another
        // node's pod, whose reply must come back here to be un-DNATed.
        ...(clusterCidr ? [`ip saddr != ${clusterCidr} jump ${MARK_MASQ}`] : []),
        // NodePorts and external addresses under externalTrafficPolicy Cluster: the endpoint may
        // be on another node, and its reply must come back through this one.
        `ip daddr != @${CLUSTER_IPS} jump ${MARK_MASQ}`,
        // One rule per protocol (`tcp dport` also matches the protocol, which a DNAT to a port needs).
        ...(['tcp', 'udp'] as const).map((p) => `dnat ip addr . port to ip daddr . ${p} dport . numgen random mod ${n} map @${SERVICE_ENDPOINTS[p]}`),
      ],
    };
  }
  return { chains, sets, maps, skipped };
}

const keyOf = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name ?? ''}`;
const validPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535;

interface PlanContext {
  nodeName: string;
  clusterCidr: string | undefined;
  /** Valid, in address order; NodePort elements of service-endpoints are per node address. */
  nodeIps: readonly string[];
  nodeIpsKey: string;
}

/**
 * An element of service-ips, service-nodeports or a no-endpoint map. Those that go to a spread
 * chain bring the service-endpoints elements the chain reads for them: they are added only when
 * the element is (a service port that lost its address to another has none).
 */
interface Entry {
  map: string;
  key: string;
  /** [[key, value]]: the map's element group. */
  element: ElementGroup;
  /** The service port, for messages. */
  label: string;
  /** When the value is a spread chain: what it reads. */
  spread?: {
    /** The number of endpoints. */
    n: number;
    /** service-endpoints-tcp or -udp. */
    map: string;
    /** The "address . port" its endpoints' keys start with there (a NodePort: one per node address). */
    keys: readonly string[];
    /** The map's elements: [address . port . n, endpoint address . port]. */
    endpoints: ElementGroup;
  };
}

/** What one Service puts in the table. When remembered, frozen: it is shared by successive rulesets. */
interface ServiceFragment {
  chains: ReadonlyArray<readonly [string, NftChain]>;
  sets: ReadonlyArray<readonly [string, NftSet]>;
  entries: readonly Entry[];
  clusterIp: string | undefined;
  /** Elements of hairpin-endpoints, "ip . ip", for the endpoints it may DNAT to. */
  hairpin: readonly string[];
  skipped: readonly string[];
}

interface Remembered {
  slices: readonly EndpointSlice[];
  nodeName: string;
  clusterCidr: string | undefined;
  nodeIpsKey: string;
  fragment: ServiceFragment;
}

/** Fragments by Service object; an entry goes when its Service object is dropped. */
const remembered = new WeakMap<Service, Remembered>();

function fragmentOf(service: Service, key: string, slices: EndpointSlice[], context: PlanContext): ServiceFragment {
  // Only frozen objects are promised not to change behind the cache's back.
  const cacheable = Object.isFrozen(service) && slices.every((s) => Object.isFrozen(s));
  if (cacheable) {
    const hit = remembered.get(service);
    if (hit && hit.nodeName === context.nodeName && hit.clusterCidr === context.clusterCidr && hit.nodeIpsKey === context.nodeIpsKey
      && hit.slices.length === slices.length && hit.slices.every((s, i) => s === slices[i])) return hit.fragment;
  }
  const fragment = planService(service, key, slices, context);
  if (cacheable) {
    remembered.set(service, { slices, nodeName: context.nodeName, clusterCidr: context.clusterCidr, nodeIpsKey: context.nodeIpsKey, fragment: freeze(fragment) });
  }
  return fragment;
}

function planService(service: Service, key: string, slices: EndpointSlice[], context: PlanContext): MutableFragment {
  const fragment: MutableFragment = { chains: [], sets: [], entries: [], clusterIp: undefined, hairpin: [], skipped: [] };
  const spec = service.spec;
  if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return fragment; // DNS only; headless: DNS names the pods
  const clusterIp = spec.clusterIP;
  if (clusterIp === undefined || clusterIp === '') {
    fragment.skipped.push(`${key}: no clusterIP allocated yet`);
    return fragment;
  }
  if (parseIPv4(clusterIp) === undefined) {
    fragment.skipped.push(`${key}: clusterIP ${JSON.stringify(clusterIp)} is not an IPv4 address`);
    return fragment;
  }
  fragment.clusterIp = clusterIp;
  const externalIps = [...(spec.externalIPs ?? []), ...(service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []))]
    .filter((ip) => {
      const n = parseIPv4(ip);
      if (n !== undefined && !isLoopback(n)) return true;
      fragment.skipped.push(`${key}: external address ${JSON.stringify(ip)} is not a usable IPv4 address`);
      return false;
    });
  let affinityTimeout: number | undefined;
  if (spec.sessionAffinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
    affinityTimeout = Number.isInteger(t) && t > 0 && t <= MAX_AFFINITY_TIMEOUT_SECONDS ? t : DEFAULT_AFFINITY_TIMEOUT_SECONDS;
    if (affinityTimeout !== t) fragment.skipped.push(`${key}: session affinity timeout ${t}s is not 1 to ${MAX_AFFINITY_TIMEOUT_SECONDS}: using ${DEFAULT_AFFINITY_TIMEOUT_SECONDS}s`);
  }
  const hairpin = new Set<string>();
  for (const port of spec.ports ?? []) {
    const protocol = port.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      fragment.skipped.push(`${key}: port ${port.port}: protocol ${String(protocol)} is not proxied (TCP and UDP only)`);
      continue;
    }
    if (!validPort(port.port)) {
      fragment.skipped.push(`${key}: port ${JSON.stringify(port.port)} is not 1 to 65535`);
      continue;
    }
    planServicePort({ service, key, clusterIp, externalIps, affinityTimeout, port, proto: protocol === 'TCP' ? 'tcp' : 'udp', slices, hairpin, ...context, fragment });
  }
  fragment.hairpin = [...hairpin];
  return fragment;
}

interface MutableFragment {
  chains: Array<[string, NftChain]>;
  sets: Array<[string, NftSet]>;
  entries: Entry[];
  clusterIp: string | undefined;
  hairpin: string[];
  skipped: string[];
}

/** Frozen only when shared: freezing every chain of a large cluster costs a plan several ms. */
function freeze(f: MutableFragment): ServiceFragment {
  for (const [, chain] of f.chains) Object.freeze(Object.freeze(chain).rules);
  for (const [, set] of f.sets) Object.freeze(Object.freeze(set).elements);
  for (const entry of f.entries) {
    if (entry.spread) {
      Object.freeze(entry.spread.keys);
      Object.freeze(entry.spread.endpoints);
      Object.freeze(entry.spread);
    }
    Object.freeze(entry.element);
    Object.freeze(entry);
  }
  return Object.freeze(f);
}

interface ServicePortContext extends PlanContext {
  service: Service;
  key: string;
  clusterIp: string;
  externalIps: string[];
  affinityTimeout: number | undefined;
  port: ServicePort;
  proto: 'tcp' | 'udp';
  slices: EndpointSlice[];
  /** The Service's hairpin-endpoints elements, all its ports together. */
  hairpin: Set<string>;
  fragment: MutableFragment;
}

/**
 * One service port. Each of its addresses (ClusterIP, external IPs, NodePort) goes to the spread
 * chain for its number of endpoints, with its endpoints as service-endpoints elements, when the
 * endpoint does not depend on the client. Where it does, the port keeps kube-proxy's chains of
 * its own: session affinity (per-endpoint chains and sets: an address seen before goes back to
 * its endpoint) and externalTrafficPolicy Local (outside clients reach this node's endpoints,
 * pods and the host any).
 */
function planServicePort(c: ServicePortContext): void {
  const { spec } = c.service;
  const { fragment } = c;
  const namespace = c.service.metadata.namespace ?? 'default';
  const name = c.service.metadata.name ?? '';
  const portName = c.port.name ?? '';
  const label = `${c.key}:${portName || c.port.port}/${c.proto}`;
  // Named only when used: most ports have no chains of their own, and the name is a hash.
  let nameBaseOf: string | undefined;
  const chain = (kind: 'service' | 'local' | 'external') => `${kind}-${(nameBaseOf ??= servicePortNameBase(namespace, name, c.proto, portName))}`;

  const all = endpointsOf(c);
  // kube-proxy's CategorizeEndpoints: ready endpoints; if none, those still serving while they
  // terminate, so that a rolling update's last old pod keeps its connections coming.
  const usable = (eps: ProxyEndpoint[]) => {
    const ready = eps.filter((e) => e.ready);
    return ready.length > 0 ? ready : eps.filter((e) => e.servingTerminating);
  };
  const clusterEndpoints = usable(all);
  const localEndpoints = usable(all.filter((e) => e.local));
  const internalLocal = spec.internalTrafficPolicy === 'Local';
  const externalLocal = spec.externalTrafficPolicy === 'Local';
  const nodePort = spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? c.port.nodePort : undefined;
  if (nodePort !== undefined && !validPort(nodePort)) fragment.skipped.push(`${label}: nodePort ${JSON.stringify(nodePort)} is not 1 to 65535`);
  const hasNodePort = nodePort !== undefined && validPort(nodePort);
  const externallyAccessible = hasNodePort || c.externalIps.length > 0;
  const affinity = c.affinityTimeout !== undefined;

  const internalEndpoints = internalLocal ? localEndpoints : clusterEndpoints;
  const hasEndpoints = clusterEndpoints.length > 0;
  const hasInternalEndpoints = internalEndpoints.length > 0;
  const hasExternalEndpoints = externalLocal ? localEndpoints.length > 0 : hasEndpoints;
  // Without any endpoint the client is told at once; with endpoints elsewhere only (a Local
  // policy) the packet is dropped, as kube-proxy does, since another node could have answered.
  const noEndpointsVerdict = hasEndpoints ? 'drop' : `goto ${REJECT_CHAIN}`;

  // Which addresses need chains of the port's own; the others go to a spread chain.
  const externalViaChains = affinity || externalLocal;
  const usesExternalChain = hasEndpoints && externallyAccessible && externalViaChains;
  // The cluster chain also serves the short-circuit of pod and host traffic under an external Local policy.
  const usesClusterChain = hasEndpoints && ((affinity && !internalLocal) || usesExternalChain);
  const usesLocalChain = localEndpoints.length > 0 && ((affinity && internalLocal) || (usesExternalChain && externalLocal));
  const internalChain = internalLocal ? 'local' : 'service';

  const put = (map: string, key: string, value: string) => fragment.entries.push({ map, key, element: [[key, value]], label });
  // An address to the spread chain for its endpoints; `entryIps` are the destination addresses
  // its packets have there (a NodePort's: every node address).
  const spread = (map: string, key: string, entryIps: readonly string[], port: number, endpoints: ProxyEndpoint[]) => {
    const keys = entryIps.map((ip) => `${ip} . ${port}`);
    const elements: Array<readonly [string, string]> = [];
    for (const k of keys) endpoints.forEach((e, i) => elements.push([`${k} . ${i}`, `${e.ip} . ${e.port}`]));
    const n = endpoints.length;
    fragment.entries.push({ map, key, element: [[key, `goto ${spreadChain(n)}`]], label, spread: { n, map: SERVICE_ENDPOINTS[c.proto], keys, endpoints: elements } });
  };
  const ipKey = (ip: string) => `${ip} . ${c.proto} . ${c.port.port}`;

  if (!hasInternalEndpoints) put(NO_ENDPOINT_SERVICES, ipKey(c.clusterIp), noEndpointsVerdict);
  else if (affinity) put(SERVICE_IPS, ipKey(c.clusterIp), `goto ${chain(internalChain)}`);
  else spread(SERVICE_IPS, ipKey(c.clusterIp), [c.clusterIp], c.port.port, internalEndpoints);
  for (const ip of c.externalIps) {
    if (usesExternalChain) put(SERVICE_IPS, ipKey(ip), `goto ${chain('external')}`);
    else if (hasEndpoints) spread(SERVICE_IPS, ipKey(ip), [ip], c.port.port, clusterEndpoints);
    if (!hasExternalEndpoints) put(NO_ENDPOINT_SERVICES, ipKey(ip), noEndpointsVerdict);
  }
  if (hasNodePort) {
    const key = `${c.proto} . ${nodePort}`;
    if (usesExternalChain) put(SERVICE_NODEPORTS, key, `goto ${chain('external')}`);
    else if (hasEndpoints) spread(SERVICE_NODEPORTS, key, c.nodeIps, nodePort, clusterEndpoints);
    if (!hasExternalEndpoints) put(NO_ENDPOINT_NODEPORTS, key, noEndpointsVerdict);
  }
  // Only this node's endpoints can hairpin here: another node's pod reaching its own Service is
  // DNATed on its own node. An endpoint with no node name may be anywhere, this node included.
  // (A superset does no harm: the rule also asks for DNAT.)
  for (const e of all) if (e.hairpinHere && (e.ready || e.servingTerminating)) c.hairpin.add(`${e.ip} . ${e.ip}`);

  if (usesExternalChain) {
    const rules: string[] = [];
    if (!externalLocal) {
      // The endpoint may be on another node: its reply must come back through this one.
      rules.push(`jump ${MARK_MASQ}`);
    } else {
      // Local keeps the client's address; pods and the host itself are not "external" and may
      // use any endpoint (they would have reached one through a load balancer anyway).
      if (c.clusterCidr) rules.push(`ip saddr ${c.clusterCidr} goto ${chain('service')}`);
      rules.push(`fib saddr type local jump ${MARK_MASQ}`, `fib saddr type local goto ${chain('service')}`);
    }
    if (hasExternalEndpoints) rules.push(`goto ${chain(externalLocal ? 'local' : 'service')}`);
    fragment.chains.push([chain('external'), { rules }]);
  }

  const internalRules: string[] = [];
  if (affinity && c.clusterCidr) {
    // As in the spread chains: off-cluster traffic to the ClusterIP is masqueraded.
    internalRules.push(`ip daddr ${c.clusterIp} ${c.proto} dport ${c.port.port} ip saddr != ${c.clusterCidr} jump ${MARK_MASQ}`);
  }
  // Per-endpoint chains only where affinity needs them; otherwise a DNAT through an inline map.
  const endpointBase = (e: ProxyEndpoint) => endpointNameBase(namespace, name, c.proto, portName, e.ip, e.port);
  const dispatch = (endpoints: ProxyEndpoint[]): string[] => {
    if (!affinity) {
      return [`meta l4proto ${c.proto} dnat ip addr . port to numgen random mod ${endpoints.length} map { ${endpoints.map((e, i) => `${i} : ${e.ip} . ${e.port}`).join(', ')} }`];
    }
    const bases = endpoints.map(endpointBase);
    return [
      // An address seen before (within the timeout) goes back to its endpoint, before any choice.
      ...bases.map((b) => `ip saddr @affinity-${b} goto endpoint-${b}`),
      `numgen random mod ${endpoints.length} vmap { ${bases.map((b, i) => `${i} : goto endpoint-${b}`).join(', ')} }`,
    ];
  };
  if (usesClusterChain) fragment.chains.push([chain('service'), { rules: [...(internalChain === 'service' ? internalRules : []), ...dispatch(clusterEndpoints)] }]);
  if (usesLocalChain) fragment.chains.push([chain('local'), { rules: [...(internalChain === 'local' ? internalRules : []), ...dispatch(localEndpoints)] }]);

  if (!affinity) return;
  const withChains = new Map<string, ProxyEndpoint>();
  if (usesClusterChain) for (const e of clusterEndpoints) withChains.set(`${e.ip}:${e.port}`, e);
  if (usesLocalChain) for (const e of localEndpoints) withChains.set(`${e.ip}:${e.port}`, e);
  for (const e of withChains.values()) {
    const b = endpointBase(e);
    fragment.sets.push([`affinity-${b}`, { type: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeoutSeconds: c.affinityTimeout, elements: [] }]);
    fragment.chains.push([`endpoint-${b}`, { rules: [`update @affinity-${b} { ip saddr }`, `meta l4proto ${c.proto} dnat to ${e.ip}:${e.port}`] }]);
  }
}

/** The endpoints of one service port across its slices: by address and port, once each, in address order. */
function endpointsOf(c: ServicePortContext): ProxyEndpoint[] {
  const found = new Map<string, ProxyEndpoint>();
  const portName = c.port.name ?? '';
  const protocol = c.proto.toUpperCase();
  for (const slice of c.slices) {
    // A Service port is matched by name (both may be unnamed) and protocol, as kube-proxy does:
    // the slice carries the resolved target port, named targetPorts included.
    const slicePort = slice.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (!slicePort) continue;
    if (!validPort(slicePort.port)) continue; // not resolved for these endpoints (a named port no pod has)
    for (const endpoint of slice.endpoints ?? []) {
      // Kubernetes: all addresses of an endpoint are fungible and consumers may use the first only.
      const ip = endpoint.addresses?.[0];
      const n = ip === undefined ? undefined : parseIPv4(ip);
      if (ip === undefined || n === undefined) continue;
      if (isLoopback(n)) {
        c.fragment.skipped.push(`${c.key}: endpoint ${ip} is a loopback address: not proxied`);
        continue;
      }
      const id = `${ip}:${slicePort.port}`;
      const local = endpoint.nodeName === c.nodeName;
      const hairpinHere = local || !endpoint.nodeName;
      const previous = found.get(id);
      const conditions = conditionsOf(endpoint);
      if (previous) {
        // The same endpoint in two slices (a move between slices): the more usable wins.
        previous.local ||= local;
        previous.hairpinHere ||= hairpinHere;
        previous.ready ||= conditions.ready;
        previous.servingTerminating ||= conditions.servingTerminating;
        continue;
      }
      found.set(id, { ip, n, port: slicePort.port, local, hairpinHere, ...conditions });
    }
  }
  return [...found.values()].sort((a, b) => a.n - b.n || a.port - b.port);
}

/** Absent conditions mean ready and serving, as the API says; terminating only when set. */
function conditionsOf(e: Endpoint): { ready: boolean; servingTerminating: boolean } {
  const ready = e.conditions?.ready !== false;
  return { ready, servingTerminating: !ready && e.conditions?.serving !== false && e.conditions?.terminating === true };
}
