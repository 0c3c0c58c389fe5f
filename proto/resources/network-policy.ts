// What a NetworkPolicy decides with, shared by the controller (which sends nodes pods cut down to
// this) and the agents (which enforce policies): the pod fields a policy can name, the types a
// policy has once defaulted, and a namespace's labels as selectors see them.

import type { Namespace, NetworkPolicy, Pod } from './types';

/** The label Kubernetes puts on every namespace, so that a namespaceSelector can name one by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * A pod with only what policy enforcement reads: its name, namespace and labels, node, phase and
 * address, whether it shares the node's network, and its containers' ports (named ports). A node
 * is sent every pod this way; environment, volumes and the rest stay on the controller.
 */
export function podAddressView(pod: Pod): Pod {
  const ports = (containers: Pod['spec']['containers'] | undefined) =>
    (containers ?? []).filter((c) => c.ports?.length).map((c) => ({ name: c.name, image: '', ports: c.ports }));
  const { name, namespace, uid, labels, resourceVersion } = pod.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), ...(uid ? { uid } : {}), ...(labels ? { labels } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      containers: ports(pod.spec.containers),
      ...(pod.spec.initContainers?.some((c) => c.ports?.length) ? { initContainers: ports(pod.spec.initContainers) } : {}),
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec.hostNetwork ? { hostNetwork: true } : {}),
    },
    status: {
      ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
      ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}),
    },
  };
}

/** The directions a policy isolates its pods in (Kubernetes' defaulting, for a policy stored before it). */
export function policyTypesOf(policy: NetworkPolicy): Array<'Ingress' | 'Egress'> {
  if (policy.spec.policyTypes?.length) return policy.spec.policyTypes;
  return policy.spec.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** A namespace's labels, with the name label Kubernetes always sets. */
export function namespaceLabels(namespace: Namespace): Record<string, string> {
  return { ...namespace.metadata.labels, [NAMESPACE_NAME_LABEL]: namespace.metadata.name ?? '' };
}
