// The ingress status controller's decision, pure: an Ingress berth's controller serves is reached
// at the addresses of the Ready nodes whose agents serve Ingresses (status.loadBalancer.ingress,
// the ADDRESS column of `get ingress`); others' Ingresses are left to their controllers.

import { INGRESS_PORTS_ANNOTATION, servedByBerth, type Ingress, type IngressClass, type Node } from '../../../proto/resources';

/** The InternalIPs of the Ready nodes serving Ingresses, in address order. */
export function ingressAddresses(nodes: readonly Node[]): string[] {
  const out = new Set<string>();
  for (const node of nodes) {
    if (!node.metadata.annotations?.[INGRESS_PORTS_ANNOTATION]) continue;
    if (!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const ip = node.status.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (ip) out.add(ip);
  }
  return [...out].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The status the Ingress should have; undefined: not berth's to write. */
export function desiredIngressStatus(ingress: Ingress, classes: readonly IngressClass[], addresses: readonly string[]): Ingress['status'] | undefined {
  if (!servedByBerth(ingress, classes)) return undefined;
  return { loadBalancer: addresses.length ? { ingress: addresses.map((ip) => ({ ip })) } : {} };
}
