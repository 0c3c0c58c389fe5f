// The network policy decision: from the cluster's NetworkPolicies, Namespaces and pods to the
// nftables table that isolates this node's selected pods (types.ts has the layout). Pure: the same
// input gives the same ruleset, names included, so that the proxy's diff changes only what moved
// (a pod's address joining a peer set is one element).
//
// Kubernetes' semantics, as the API documents them: a pod is isolated in a direction when any
// policy of its namespace selects it with that policy type; then a connection is allowed when one
// rule of one of those policies allows it: a peer (a pod its selectors pick, or an address in an
// ipBlock outside its excepts; no peers: anyone) and a port (a number, a range, a named port of
// the destination pod's containers; no ports: any). Replies are allowed, and a pod may always
// reach itself. Not done: IPv6 blocks (the pod network is IPv4 only; listed in `skipped`).

import { parseBlock, parseIPv4, formatCidr, type Cidr } from '../../../proto/network/cidr';
import { matchesLabelSelector, namespaceLabels, policyTypesOf, type NetworkPolicy, type NetworkPolicyEgressRule, type NetworkPolicyIngressRule, type NetworkPolicyPeer, type NetworkPolicyPort, type Pod } from '../../../proto/resources';
import { nameBase } from '../proxy';
import type { ElementGroup, NftChain, NftMap, NftSet, ProxyRuleset } from '../proxy';
import type { PolicyInput } from './types';

type Direction = 'ingress' | 'egress';

const EGRESS_PODS = 'egress-pods';
const INGRESS_PODS = 'ingress-pods';
/** Just after the service proxy's filter chains (-110) and its DNAT (-100): the address a packet really goes to. */
const EGRESS_PRIORITY = 0;
const INGRESS_PRIORITY = 1;
/** nft keeps names of up to 255 bytes; the longest suffix added is "-ingress-NNNN-port-NNNN". */
const NAME_MAX = 200;

/** A policy's or a pod's part of chain and set names: a hash, then the readable namespace/name. */
function shortName(readable: string): string {
  const name = nameBase(readable);
  return name.length > NAME_MAX ? `${name.slice(0, NAME_MAX - 3)}...` : name;
}

export const podChain = (direction: Direction, namespace: string, name: string) => `pod-${direction}-${shortName(`${namespace}/${name}`)}`;
export const policyChain = (direction: Direction, namespace: string, name: string) => `policy-${shortName(`${namespace}/${name}`)}-${direction}`;

/** A pod that has an address of its own on the pod network and may still use it. */
function onPodNetwork(pod: Pod): boolean {
  return !!pod.status?.podIP && !pod.spec.hostNetwork && pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed' && parseIPv4(pod.status.podIP) !== undefined;
}

const keyOf = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const byKey = <T extends { metadata: { namespace?: string; name?: string } }>(a: T, b: T) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

export function planNetworkPolicies(input: PolicyInput): ProxyRuleset {
  const skipped: string[] = [];
  const pods = input.pods.filter(onPodNetwork).sort(byKey);
  const policies = [...input.policies].sort(byKey);
  const labelsOfNamespace = new Map(input.namespaces.map((ns) => [ns.metadata.name ?? '', namespaceLabels(ns)]));
  const nsLabels = (namespace: string) => labelsOfNamespace.get(namespace) ?? { 'kubernetes.io/metadata.name': namespace };
  const selectedBy = (policy: NetworkPolicy, pod: Pod) =>
    (pod.metadata.namespace ?? 'default') === (policy.metadata.namespace ?? 'default') && matchesLabelSelector(pod.metadata.labels ?? {}, policy.spec.podSelector);

  const chains: Record<string, NftChain> = {
    egress: { base: { type: 'filter', hook: 'forward', priority: EGRESS_PRIORITY }, rules: ['ct state established,related accept', `ip saddr vmap @${EGRESS_PODS}`] },
    ingress: { base: { type: 'filter', hook: 'forward', priority: INGRESS_PRIORITY }, rules: ['ct state established,related accept', `ip daddr vmap @${INGRESS_PODS}`] },
  };
  const sets: Record<string, NftSet> = {};
  const podMaps: Record<Direction, ElementGroup[]> = { egress: [], ingress: [] };

  // The pods of this node, each once per address (a finished pod's address may have been handed on).
  const localPods: Pod[] = [];
  const seen = new Set<string>();
  for (const pod of pods) {
    if (pod.spec.nodeName !== input.nodeName || seen.has(pod.status!.podIP!)) continue;
    seen.add(pod.status!.podIP!);
    localPods.push(pod);
  }

  for (const policy of policies) {
    const namespace = policy.metadata.namespace ?? 'default';
    const name = policy.metadata.name ?? '';
    const types = policyTypesOf(policy);
    const selectedHere = localPods.filter((pod) => selectedBy(policy, pod));
    if (selectedHere.length === 0) continue;
    for (const direction of ['ingress', 'egress'] as const) {
      if (!types.includes(direction === 'ingress' ? 'Ingress' : 'Egress')) continue;
      const chain = policyChain(direction, namespace, name);
      const rules: string[] = [];
      const list: ReadonlyArray<NetworkPolicyIngressRule | NetworkPolicyEgressRule> = direction === 'ingress' ? policy.spec.ingress ?? [] : policy.spec.egress ?? [];
      list.forEach((rule, i) => {
        const peers = ('from' in rule ? rule.from : 'to' in rule ? rule.to : undefined) ?? [];
        const setBase = `${chain}-${i}`;
        const peerMatches = peerMatchesOf(peers, direction, setBase, namespace, pods, nsLabels, sets, skipped, `${namespace}/${name}`);
        // A named port is a port of the destination pod: this node's selected pods for ingress, any pod for egress.
        const destinations = direction === 'ingress' ? selectedHere : pods;
        const portMatches = (rule.ports?.length ? rule.ports : [undefined]).map((port, j) => portMatch(port, `${setBase}-port-${j}`, destinations, sets));
        for (const peer of peerMatches) {
          for (const port of portMatches) {
            if (port === undefined) continue; // a named port no destination has: matches nothing
            rules.push([peer, port, 'accept'].filter(Boolean).join(' '));
          }
        }
      });
      chains[chain] = { rules };
    }
  }

  // Each isolated pod of this node: its own address, then each selecting policy, then drop.
  for (const pod of localPods) {
    const namespace = pod.metadata.namespace ?? 'default';
    const ip = pod.status!.podIP!;
    for (const direction of ['ingress', 'egress'] as const) {
      const type = direction === 'ingress' ? 'Ingress' : 'Egress';
      const selecting = policies.filter((p) => policyTypesOf(p).includes(type) && selectedBy(p, pod));
      if (selecting.length === 0) continue;
      const chain = podChain(direction, namespace, pod.metadata.name ?? '');
      chains[chain] = {
        rules: [
          `ip ${direction === 'ingress' ? 'saddr' : 'daddr'} ${ip} accept`,
          ...selecting.map((p) => `jump ${policyChain(direction, p.metadata.namespace ?? 'default', p.metadata.name ?? '')}`),
          'drop',
        ],
      };
      podMaps[direction].push([[ip, `jump ${chain}`]]);
    }
  }

  const maps: Record<string, NftMap> = {
    [EGRESS_PODS]: { type: 'ipv4_addr : verdict', comment: 'pods of this node isolated for egress', elements: podMaps.egress },
    [INGRESS_PODS]: { type: 'ipv4_addr : verdict', comment: 'pods of this node isolated for ingress', elements: podMaps.ingress },
  };
  return { chains, sets, maps, skipped };
}

/**
 * The match expressions of a rule's peers, one per alternative: '' for anyone (no peers), a set of
 * the pods the selectors pick (all selector peers in one set), and each IPv4 ipBlock.
 */
function peerMatchesOf(
  peers: readonly NetworkPolicyPeer[], direction: Direction, setName: string, namespace: string, pods: readonly Pod[],
  nsLabels: (ns: string) => Record<string, string>, sets: Record<string, NftSet>, skipped: string[], policy: string,
): string[] {
  if (peers.length === 0) return [''];
  const field = direction === 'ingress' ? 'ip saddr' : 'ip daddr';
  const out: string[] = [];
  const selectorPeers = peers.filter((p) => !p.ipBlock);
  if (selectorPeers.length > 0) {
    const addresses = new Set<string>();
    for (const pod of pods) {
      const podNamespace = pod.metadata.namespace ?? 'default';
      if (selectorPeers.some((peer) => peerSelects(peer, namespace, podNamespace, pod, nsLabels))) addresses.add(pod.status!.podIP!);
    }
    sets[setName] = { type: 'ipv4_addr', comment: `${policy} ${direction} rule peers`, elements: [...addresses].sort(compareAddresses) };
    out.push(`${field} @${setName}`);
  }
  for (const peer of peers) {
    if (!peer.ipBlock) continue;
    const block = parseBlock(peer.ipBlock.cidr);
    if (block?.family !== 4) {
      skipped.push(`${policy}: ipBlock ${peer.ipBlock.cidr}: only IPv4 blocks are enforced`);
      continue;
    }
    const excepts = (peer.ipBlock.except ?? []).map(parseBlock).filter((b): b is { family: 4; cidr: Cidr } => b?.family === 4).map((b) => formatCidr(b.cidr));
    out.push(`${field} ${formatCidr(block.cidr)}${excepts.length ? ` ${field} != { ${excepts.join(', ')} }` : ''}`);
  }
  return out;
}

function peerSelects(peer: NetworkPolicyPeer, policyNamespace: string, podNamespace: string, pod: Pod, nsLabels: (ns: string) => Record<string, string>): boolean {
  if (peer.namespaceSelector) {
    if (!matchesLabelSelector(nsLabels(podNamespace), peer.namespaceSelector)) return false;
  } else if (podNamespace !== policyNamespace) return false;
  return peer.podSelector ? matchesLabelSelector(pod.metadata.labels ?? {}, peer.podSelector) : true;
}

/**
 * The match of one port entry: '' for any port, a protocol and port or range, or a set of the
 * destinations having that named port (undefined when none has it: the entry matches nothing).
 */
function portMatch(port: NetworkPolicyPort | undefined, setName: string, destinations: readonly Pod[], sets: Record<string, NftSet>): string | undefined {
  if (!port) return '';
  const protocol = (port.protocol ?? 'TCP').toLowerCase();
  if (port.port === undefined) return `meta l4proto ${protocol}`;
  if (typeof port.port === 'number') {
    const range = port.endPort !== undefined && port.endPort > port.port ? `${port.port}-${port.endPort}` : String(port.port);
    return `meta l4proto ${protocol} th dport ${range}`;
  }
  const elements = new Set<string>();
  for (const pod of destinations) {
    const number = namedPort(pod, port.port, port.protocol ?? 'TCP');
    if (number !== undefined) elements.add(`${pod.status!.podIP!} . ${protocol} . ${number}`);
  }
  if (elements.size === 0) return undefined;
  sets[setName] = { type: 'ipv4_addr . inet_proto . inet_service', comment: `named port ${port.port}`, elements: [...elements].sort() };
  return `ip daddr . meta l4proto . th dport @${setName}`;
}

/** The number of a pod's container port of that name and protocol. */
function namedPort(pod: Pod, name: string, protocol: string): number | undefined {
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

function compareAddresses(a: string, b: string): number {
  return parseIPv4(a)! - parseIPv4(b)!;
}
