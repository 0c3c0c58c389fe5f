// The ephemeral volume decision (Kubernetes' ephemeral-volume controller): every generic ephemeral
// volume of a pod that is not finished or going gets its claim, <pod>-<volume>, made from the
// volume's template, in the pod's namespace and owned by the pod (so it goes with the pod). A
// claim of that name the pod does not own is never taken over: the pod waits, and is told. Pure.

import { volumeClaimName, type PersistentVolumeClaim, type Pod } from '../../../proto/resources';
import { controllerReferenceTo } from '../meta';
import { isBeingDeleted, isTerminated } from '../pods';
import type { Plan } from '../types';

export type EphemeralAction =
  | { type: 'create'; claim: PersistentVolumeClaim }
  | { type: 'conflict'; claim: string };

export function plan(pod: Pod, claims: readonly PersistentVolumeClaim[]): Plan<EphemeralAction> {
  if (isBeingDeleted(pod) || isTerminated(pod)) return { actions: [] };
  const actions: EphemeralAction[] = [];
  const namespace = pod.metadata.namespace ?? 'default';
  for (const volume of pod.spec.volumes ?? []) {
    if (!volume.ephemeral) continue;
    const name = volumeClaimName(pod.metadata.name!, volume)!;
    const existing = claims.find((c) => c.metadata.name === name && (c.metadata.namespace ?? 'default') === namespace);
    if (existing) {
      if (!(existing.metadata.ownerReferences ?? []).some((r) => r.uid === pod.metadata.uid && r.controller)) actions.push({ type: 'conflict', claim: name });
      continue;
    }
    const template = volume.ephemeral.volumeClaimTemplate;
    actions.push({
      type: 'create',
      claim: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name,
          namespace,
          ...(template.metadata?.labels ? { labels: { ...template.metadata.labels } } : {}),
          ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
          ownerReferences: [controllerReferenceTo(pod)],
        },
        spec: structuredClone(template.spec),
      },
    });
  }
  return { actions };
}
