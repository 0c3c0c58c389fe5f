// The EndpointSlice mirroring decision (Kubernetes' endpointslicemirroring controller): the v1
// Endpoints a user writes for a Service without a selector (a database outside the cluster) are
// copied into EndpointSlices, which are what the service proxy and the cluster DNS read. One slice
// per distinct port list of the subsets, named <endpoints>-<hash of the ports>, owned by the
// Endpoints; addresses ready, notReadyAddresses not. Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true, and those of a Service that selects pods (whose
// slices the EndpointSlice controller keeps), are not mirrored. Pure.

import { createHash } from 'node:crypto';
import { ENDPOINTSLICE_MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type Endpoint, type EndpointAddress, type EndpointPort, type EndpointSlice, type Endpoints, type Service } from '../../../proto/resources';
import { controllerReferenceTo, sameJson } from '../meta';
import type { Plan } from '../types';
import { selectsPods, type EndpointSliceAction } from './plan';

/** The managed-by label's value on mirrored slices (Kubernetes' own). */
export const MIRROR_MANAGED_BY = 'endpointslicemirroring-controller.k8s.io';
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

export function isMirrored(slice: EndpointSlice): boolean {
  return slice.metadata.labels?.[ENDPOINTSLICE_MANAGED_BY_LABEL] === MIRROR_MANAGED_BY;
}

/** What to create, update and delete so that the mirrored slices among `slices` copy `endpoints`. */
export function mirrorPlan(service: Service | undefined, endpoints: Endpoints | undefined, slices: readonly EndpointSlice[]): Plan<EndpointSliceAction> {
  const mirrored = slices.filter(isMirrored);
  const mirror = service !== undefined && endpoints !== undefined && !service.metadata.deletionTimestamp && !selectsPods(service)
    && service.spec.type !== 'ExternalName' && endpoints.metadata.labels?.[SKIP_MIRROR_LABEL] !== 'true';
  const desired = mirror ? desiredSlices(service, endpoints) : [];
  const actions: EndpointSliceAction[] = [];
  for (const slice of desired) {
    const current = mirrored.find((s) => s.metadata.name === slice.metadata.name);
    if (!current) actions.push({ type: 'create', slice });
    else {
      const next = { ...slice, metadata: { ...current.metadata, labels: slice.metadata.labels, ownerReferences: slice.metadata.ownerReferences } };
      if (!sameJson(next, current)) actions.push({ type: 'update', slice: next });
    }
  }
  for (const s of mirrored) {
    if (!desired.some((d) => d.metadata.name === s.metadata.name)) actions.push({ type: 'delete', namespace: s.metadata.namespace ?? 'default', name: s.metadata.name!, ...(s.metadata.uid ? { uid: s.metadata.uid } : {}) });
  }
  return { actions };
}

function desiredSlices(service: Service, endpoints: Endpoints): EndpointSlice[] {
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  for (const subset of endpoints.subsets ?? []) {
    const ports: EndpointPort[] = (subset.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
    const key = ports.map((p) => `${p.name}/${p.protocol}/${p.port}`).sort().join(',');
    const group = groups.get(key) ?? { ports, endpoints: [] };
    for (const a of subset.addresses ?? []) group.endpoints.push(endpointOf(a, true, endpoints.metadata.namespace ?? 'default'));
    for (const a of subset.notReadyAddresses ?? []) group.endpoints.push(endpointOf(a, false, endpoints.metadata.namespace ?? 'default'));
    groups.set(key, group);
  }
  const namespace = endpoints.metadata.namespace ?? 'default';
  return [...groups].map(([key, group]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${endpoints.metadata.name}-${createHash('sha256').update(key).digest('hex').slice(0, 5)}`,
      namespace,
      labels: { ...endpoints.metadata.labels, [SERVICE_NAME_LABEL]: service.metadata.name!, [ENDPOINTSLICE_MANAGED_BY_LABEL]: MIRROR_MANAGED_BY },
      ownerReferences: [controllerReferenceTo(endpoints)],
    },
    addressType: 'IPv4',
    endpoints: group.endpoints,
    ports: group.ports,
  }));
}

function endpointOf(a: EndpointAddress, ready: boolean, namespace: string): Endpoint {
  return {
    addresses: [a.ip],
    conditions: { ready, serving: ready, terminating: false },
    ...(a.hostname ? { hostname: a.hostname } : {}),
    ...(a.nodeName ? { nodeName: a.nodeName } : {}),
    ...(a.targetRef?.kind && a.targetRef.name ? { targetRef: { kind: a.targetRef.kind, namespace: a.targetRef.namespace ?? namespace, name: a.targetRef.name, ...(a.targetRef.uid ? { uid: a.targetRef.uid } : {}) } } : {}),
  };
}
