// The EndpointSlice decision (Kubernetes' endpointslice controller): a Service with a selector has
// its pods' addresses in EndpointSlices labelled with its name, at most `maxEndpointsPerSlice`
// (100) each, one set of slices per distinct port list (a named targetPort may resolve to
// different numbers on different pods). An endpoint is ready when its pod is Ready and not being
// deleted (only ready ones receive new connections), serving when Ready, terminating when being
// deleted. Endpoints stay in the slice they are in, so one pod's change rewrites one slice. Pure.

import { createHash } from 'node:crypto';
import {
  ENDPOINTSLICE_MANAGED_BY_LABEL, SERVICE_NAME_LABEL,
  type Endpoint, type EndpointPort, type EndpointSlice, type Pod, type Service,
} from '../../../proto/resources';
import { controllerReferenceTo, sameJson } from '../meta';
import { isBeingDeleted, isReady, isTerminated } from '../pods';
import type { Plan } from '../types';

/** The managed-by label's value on the slices this controller keeps (Kubernetes' own). */
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export type EndpointSliceAction =
  | { type: 'create'; slice: EndpointSlice }
  | { type: 'update'; slice: EndpointSlice }
  | { type: 'delete'; namespace: string; name: string; uid?: string };

/** Whether this controller keeps the slice (others' slices, a selectorless Service's, are left alone). */
export function isManaged(slice: EndpointSlice): boolean {
  return slice.metadata.labels?.[ENDPOINTSLICE_MANAGED_BY_LABEL] === MANAGED_BY;
}

/** The Service a slice belongs to, by its label. */
export function serviceNameOf(slice: EndpointSlice): string | undefined {
  return slice.metadata.labels?.[SERVICE_NAME_LABEL];
}

/** A Service whose endpoints this controller keeps: it has a non-empty selector and is not an ExternalName. */
export function selectsPods(service: Service): boolean {
  return service.spec.type !== 'ExternalName' && Object.keys(service.spec.selector ?? {}).length > 0;
}

export function selectedBy(service: Service, pod: Pod): boolean {
  if (!selectsPods(service) || pod.metadata.namespace !== service.metadata.namespace) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(service.spec.selector!).every(([k, v]) => labels[k] === v);
}

/**
 * What to create, update and delete so that `slices` (this Service's managed ones) hold `pods`'
 * endpoints. `service` undefined: the Service is gone, and so must its slices be.
 */
export function plan(service: Service | undefined, pods: readonly Pod[], slices: readonly EndpointSlice[], maxPerSlice = DEFAULT_MAX_ENDPOINTS_PER_SLICE): Plan<EndpointSliceAction> {
  const managed = slices.filter(isManaged);
  const remove = (s: EndpointSlice): EndpointSliceAction => ({ type: 'delete', namespace: s.metadata.namespace ?? 'default', name: s.metadata.name!, ...(s.metadata.uid ? { uid: s.metadata.uid } : {}) });
  if (!service || !selectsPods(service)) return { actions: managed.map(remove) };

  // The desired endpoints, grouped by their resolved port list.
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  for (const pod of [...pods].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
    if (!selectedBy(service, pod) || !pod.status?.podIP || isTerminated(pod)) continue;
    const ports = endpointPorts(service, pod);
    const key = portsKey(ports);
    const group = groups.get(key) ?? { ports, endpoints: [] };
    group.endpoints.push(endpointOf(service, pod));
    groups.set(key, group);
  }

  const actions: EndpointSliceAction[] = [];
  const usedNames = new Set(managed.map((s) => s.metadata.name!));
  const kept = new Set<EndpointSlice>();
  for (const [key, group] of groups) {
    const existing = managed.filter((s) => portsKey(s.ports ?? []) === key);
    const byAddress = new Map(group.endpoints.map((e) => [e.addresses[0]!, e]));
    const placed = new Set<string>();
    // Each existing slice keeps the endpoints it has that are still wanted, brought up to date.
    const contents = existing.map((slice) => {
      const endpoints: Endpoint[] = [];
      for (const e of slice.endpoints ?? []) {
        const address = e.addresses[0]!;
        const wanted = byAddress.get(address);
        if (wanted && !placed.has(address) && endpoints.length < maxPerSlice) {
          endpoints.push(wanted);
          placed.add(address);
        }
      }
      return { slice, endpoints };
    });
    // New endpoints fill the fullest slices with room first (fewer slices), then new slices.
    const waiting = group.endpoints.filter((e) => !placed.has(e.addresses[0]!));
    for (const target of [...contents].sort((a, b) => b.endpoints.length - a.endpoints.length)) {
      while (waiting.length > 0 && target.endpoints.length < maxPerSlice) target.endpoints.push(waiting.shift()!);
    }
    const made: { slice: EndpointSlice; endpoints: Endpoint[] }[] = [];
    while (waiting.length > 0) {
      made.push({ slice: newSlice(service, group.ports, nextName(service, key, usedNames)), endpoints: waiting.splice(0, maxPerSlice) });
    }
    for (const { slice, endpoints } of contents) {
      if (endpoints.length === 0) continue;
      kept.add(slice);
      const next = withEndpoints(slice, service, group.ports, endpoints);
      if (!sameJson(next, slice)) actions.push({ type: 'update', slice: next });
    }
    for (const { slice, endpoints } of made) actions.push({ type: 'create', slice: withEndpoints(slice, service, group.ports, endpoints) });
  }

  // No endpoints at all: one empty slice says so (Kubernetes' placeholder), the others go.
  if (groups.size === 0) {
    const placeholder = managed.find((s) => (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0) ?? managed[0];
    if (placeholder) {
      kept.add(placeholder);
      const next = withEndpoints(placeholder, service, [], []);
      if (!sameJson(next, placeholder)) actions.push({ type: 'update', slice: next });
    } else {
      actions.push({ type: 'create', slice: withEndpoints(newSlice(service, [], nextName(service, '', usedNames)), service, [], []) });
    }
  }
  for (const slice of managed) if (!kept.has(slice)) actions.push(remove(slice));
  return { actions };
}

/** The Service's ports as this pod serves them; a named targetPort the pod lacks is left out. */
function endpointPorts(service: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const port of service.spec.ports ?? []) {
    const protocol = port.protocol ?? 'TCP';
    const target = port.targetPort ?? port.port;
    const number = typeof target === 'number' ? target : findContainerPort(pod, target, protocol);
    if (number === undefined) continue;
    out.push({ name: port.name ?? '', protocol, port: number, ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}) });
  }
  return out;
}

function findContainerPort(pod: Pod, name: string, protocol: string): number | undefined {
  for (const c of pod.spec.containers) {
    const p = (c.ports ?? []).find((cp) => cp.name === name && (cp.protocol ?? 'TCP') === protocol);
    if (p) return p.containerPort;
  }
  return undefined;
}

function endpointOf(service: Service, pod: Pod): Endpoint {
  const terminating = isBeingDeleted(pod);
  const serving = service.spec.publishNotReadyAddresses === true || isReady(pod);
  const endpoint: Endpoint = {
    addresses: [pod.status!.podIP!],
    conditions: { ready: serving && (!terminating || service.spec.publishNotReadyAddresses === true), serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name!, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) },
  };
  // A pod with hostname and subdomain naming this Service gets a DNS name under it.
  if (pod.spec.hostname && pod.spec.subdomain === service.metadata.name) endpoint.hostname = pod.spec.hostname;
  if (pod.spec.nodeName) endpoint.nodeName = pod.spec.nodeName;
  return endpoint;
}

const portsKey = (ports: readonly EndpointPort[]) =>
  ports.map((p) => `${p.name ?? ''}/${p.protocol ?? 'TCP'}/${p.port ?? ''}`).sort().join(',');

function newSlice(service: Service, ports: EndpointPort[], name: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: service.metadata.namespace ?? 'default' },
    addressType: 'IPv4', endpoints: [], ports,
  };
}

/** The slice with these endpoints and ports, labelled and owned as this controller keeps them. */
function withEndpoints(slice: EndpointSlice, service: Service, ports: EndpointPort[], endpoints: Endpoint[]): EndpointSlice {
  return {
    ...slice,
    metadata: {
      ...slice.metadata,
      labels: { ...service.metadata.labels, [SERVICE_NAME_LABEL]: service.metadata.name!, [ENDPOINTSLICE_MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [controllerReferenceTo(service)],
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

/** `<service>-<hash of the port list>-<n>`: stable, so that two passes never make two for one. */
function nextName(service: Service, key: string, used: Set<string>): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 5);
  for (let n = 0; ; n++) {
    const name = `${service.metadata.name}-${hash}${n === 0 ? '' : `-${n}`}`;
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}
