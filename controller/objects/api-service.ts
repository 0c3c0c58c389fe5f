// The `kubernetes` Service in `default`: how pods find the API (kubernetes.default.svc), on the
// service CIDR's first address, port 443 to the controller's port. Its endpoints are the
// controller's address when pods can reach it (not a loopback address); a controller started
// later on other addresses writes its own (several controllers: the last one started is named).

import * as os from 'node:os';
import { BerthError } from '../../proto/errors';
import { ENDPOINTSLICE_MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSlice, type Service } from '../../proto/resources';
import type { Registry } from './registry';

export const API_SERVICE_NAME = 'kubernetes';
const MANAGED_BY = 'berth-controller';

export async function ensureApiService(registry: Registry, clusterIP: string, listenHost: string, port: number): Promise<void> {
  const service: Service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: API_SERVICE_NAME, namespace: 'default', labels: { component: 'apiserver', provider: 'berth' } },
    spec: {
      type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster', ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: port }],
    },
  };
  const existing = await registry.tryGet<Service>('Service', 'default', API_SERVICE_NAME);
  if (!existing) await registry.create(service).catch(ignoreExists);
  else if (existing.spec.ports?.[0]?.targetPort !== port) {
    await registry.mutate<Service>('Service', 'default', API_SERVICE_NAME, (s) => ({ ...s, spec: { ...s.spec, ports: service.spec.ports! } }));
  }
  const addresses = reachableAddresses(listenHost);
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: API_SERVICE_NAME, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: API_SERVICE_NAME, [ENDPOINTSLICE_MANAGED_BY_LABEL]: MANAGED_BY } },
    addressType: 'IPv4',
    endpoints: addresses.slice(0, 1).map((address) => ({ addresses: [address], conditions: { ready: true, serving: true, terminating: false } })),
    ports: [{ name: 'https', protocol: 'TCP', port }],
  };
  const current = await registry.tryGet<EndpointSlice>('EndpointSlice', 'default', API_SERVICE_NAME);
  if (!current) await registry.create(slice).catch(ignoreExists);
  else await registry.mutate<EndpointSlice>('EndpointSlice', 'default', API_SERVICE_NAME, (s) => ({ ...s, endpoints: slice.endpoints, ports: slice.ports! }));
}

/** The controller's addresses pods can reach: the listen address, or for a wildcard the host's. */
function reachableAddresses(listenHost: string): string[] {
  if (listenHost === '0.0.0.0' || listenHost === '' || listenHost === '::') {
    return Object.values(os.networkInterfaces()).flatMap((list) => list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
  }
  return /^\d+\.\d+\.\d+\.\d+$/.test(listenHost) && !listenHost.startsWith('127.') ? [listenHost] : [];
}

function ignoreExists(err: unknown): undefined {
  if (err instanceof BerthError && err.code === 'already-exists') return undefined;
  throw err;
}
