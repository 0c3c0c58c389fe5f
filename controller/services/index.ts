// The service network (see types.ts): what the registry and the controllers may use.

import { parseCidr } from '../../proto/network/cidr';
import { BerthError } from '../../proto/errors';
import type { ServiceNetworkOptions } from './types';

export { ServiceAllocator, heldKeys, REPAIR_GRACE_MS } from './allocator';
export { carryAllocations, needsClusterIP, needsNodePorts } from './rules';
export { DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, type ServiceAllocations, type ServiceNetworkOptions } from './types';

/** --service-cidr and --service-node-port-range, checked once: errors name the flag. */
export function serviceNetworkOptions(serviceCidr: string, nodePortRange: string): ServiceNetworkOptions {
  // At least 8 addresses and at most a /12, as Kubernetes' bitmap allocator allows.
  const cidr = parseCidr(serviceCidr, '--service-cidr', 12, 29);
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(nodePortRange);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) {
    throw new BerthError('invalid-argument', `--service-node-port-range ${JSON.stringify(nodePortRange)}: not a port range like 30000-32767`);
  }
  return { serviceCidr: cidr, nodePorts: { min, max } };
}
