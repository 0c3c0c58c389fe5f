// How this host reaches the other nodes' pods, decided from the Nodes (flannel's two backends):
//
// - host-gw: a route per other node's pod CIDR via that node's InternalIP. The hosts must share
//   one L2 segment (the next hop must be on-link).
// - vxlan: one VXLAN device per host (VNI 1, UDP 8472, learning off); per other node a route to
//   its pod CIDR via its VTEP address (the CIDR's first address, on-link through the device), a
//   permanent neighbour entry giving that address the node's VTEP MAC, and a forwarding entry
//   sending that MAC to the node's InternalIP. Works wherever the hosts reach each other by IP.
//
// A VTEP's MAC is derived from its node's InternalIP (0a:58 and the address, as OVN-Kubernetes
// derives pod MACs), so it is known before the device exists and survives its re-creation; the
// agent also publishes it on its Node (VTEP_MAC_ANNOTATION), and a peer's annotation wins. Pure.

import type { Node } from '../../proto/resources';
import { addressAt, parseCidr, parseIPv4 } from '../../proto/network/cidr';

export type PodNetworkBackend = 'vxlan' | 'host-gw';

export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;
/** VXLAN's encapsulation (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14) below the host's 1500. */
export const VXLAN_MTU = 1450;
/** The routes this host's agent owns carry this protocol number, so that they are found again. */
export const ROUTE_PROTOCOL = 190;
export const VTEP_MAC_ANNOTATION = 'berth.dev/vtep-mac';

export interface Route {
  dst: string;
  via: string;
  /** Through the VXLAN device, on-link (vxlan); absent: the kernel picks the device (host-gw). */
  dev?: string;
}

export interface Neighbour {
  ip: string;
  mac: string;
}

export interface ForwardingEntry {
  mac: string;
  /** The peer host's InternalIP: where the encapsulated frame goes. */
  dst: string;
}

export interface PodRoutesPlan {
  routes: Route[];
  neighbours: Neighbour[];
  fdb: ForwardingEntry[];
  /** Nodes left out, and why (no pod CIDR yet, no address). */
  skipped: string[];
}

/** 0a:58:xx:xx:xx:xx from an IPv4 address: locally administered, unicast. */
export function vtepMac(ip: string): string {
  const n = parseIPv4(ip);
  if (n === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  const bytes = [24, 16, 8, 0].map((s) => (Math.floor(n / 2 ** s) % 256).toString(16).padStart(2, '0'));
  return ['0a', '58', ...bytes].join(':');
}

/** The VTEP address of a node: the first address of its pod CIDR (the bridge has the second). */
export function vtepAddress(podCidr: string): string {
  return addressAt(parseCidr(podCidr, 'pod CIDR'), 0);
}

export function internalIp(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

export function planPodRoutes(self: string, nodes: readonly Node[], backend: PodNetworkBackend, device: string): PodRoutesPlan {
  const plan: PodRoutesPlan = { routes: [], neighbours: [], fdb: [], skipped: [] };
  for (const node of [...nodes].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
    const name = node.metadata.name!;
    if (name === self || node.metadata.deletionTimestamp) continue;
    const podCidr = node.spec?.podCIDR;
    const ip = internalIp(node);
    if (!podCidr || !ip || parseIPv4(ip) === undefined) {
      plan.skipped.push(`${name}: ${!podCidr ? 'no pod CIDR yet' : 'no InternalIP address'}`);
      continue;
    }
    try {
      parseCidr(podCidr, 'pod CIDR');
    } catch {
      plan.skipped.push(`${name}: pod CIDR ${podCidr} is not an IPv4 CIDR`);
      continue;
    }
    if (backend === 'host-gw') {
      plan.routes.push({ dst: podCidr, via: ip });
      continue;
    }
    const vtep = vtepAddress(podCidr);
    const mac = node.metadata.annotations?.[VTEP_MAC_ANNOTATION] ?? vtepMac(ip);
    plan.routes.push({ dst: podCidr, via: vtep, dev: device });
    plan.neighbours.push({ ip: vtep, mac });
    plan.fdb.push({ mac, dst: ip });
  }
  return plan;
}
