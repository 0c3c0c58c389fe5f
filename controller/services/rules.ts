// What a Service needs of the service network, and what carries over when it is changed. Pure.

import { BerthError } from '../../proto/errors';
import type { Service, ServicePort } from '../../proto/resources';

/** ClusterIP, NodePort and LoadBalancer Services have a virtual IP unless headless. */
export function needsClusterIP(service: Service): boolean {
  return service.spec.type !== 'ExternalName' && service.spec.clusterIP !== 'None';
}

/** NodePort Services, and LoadBalancer ones unless allocateLoadBalancerNodePorts is false. */
export function needsNodePorts(service: Service): boolean {
  const { type, allocateLoadBalancerNodePorts } = service.spec;
  return type === 'NodePort' || (type === 'LoadBalancer' && allocateLoadBalancerNodePorts !== false);
}

/** The virtual IP the Service asks for or holds: '' when it leaves the choice to the cluster. */
export function requestedClusterIP(service: Service): string {
  return service.spec.clusterIP || service.spec.clusterIPs?.[0] || '';
}

const samePort = (a: ServicePort, b: ServicePort) => a.port === b.port && (a.protocol ?? 'TCP') === (b.protocol ?? 'TCP');

/**
 * The changed Service with what the stored one holds and the change does not name: its cluster IP
 * and the node port of each port that stays (same port and protocol), as kubectl apply keeps
 * fields the server set. A cluster IP named differently is refused: it cannot change.
 */
export function carryAllocations(current: Service, next: Service): Service {
  const out = structuredClone(next);
  const held = current.spec.clusterIP;
  if (held === 'None' && out.spec.type !== 'ExternalName') {
    const asked = requestedClusterIP(out);
    if (asked && asked !== 'None') {
      throw new BerthError('invalid-argument',
        `Service "${current.metadata.name}" is invalid: spec.clusterIPs[0]: Invalid value: ${JSON.stringify(asked)}: field is immutable`);
    }
    out.spec.clusterIP = 'None';
    out.spec.clusterIPs = ['None'];
  } else if (held && needsClusterIP(out)) {
    const asked = requestedClusterIP(out);
    if (asked && asked !== held) {
      throw new BerthError('invalid-argument',
        `Service "${current.metadata.name}" is invalid: spec.clusterIPs[0]: Invalid value: ${JSON.stringify(asked)}: field is immutable`);
    }
    out.spec.clusterIP = held;
    out.spec.clusterIPs = [held];
  }
  if (needsNodePorts(out)) {
    for (const port of out.spec.ports ?? []) {
      if (port.nodePort) continue;
      const before = (current.spec.ports ?? []).find((p) => samePort(p, port) && p.nodePort);
      if (before) port.nodePort = before.nodePort;
    }
  }
  return out;
}
