// What a pod's claims ask of its node (Kubernetes' VolumeBinding and VolumeRestrictions filters):
// a bound claim's volume must be reachable from the node (a local-path volume lives on one); an
// unbound claim of a WaitForFirstConsumer class needs a node where a volume fits it or where its
// class can make one, and is given that node (volume.kubernetes.io/selected-node) before the pod
// is bound; an unbound claim of any other class keeps the pod pending until the binder binds it.

import {
  bestVolume, claimClass, volumeClaimName, LOCAL_PATH_PROVISIONER, SELECTED_NODE_ANNOTATION, volumeReachableFrom,
  type Node, type PersistentVolume, type PersistentVolumeClaim, type Pod, type StorageClass,
} from '../../../proto/resources';
import { FitReason } from './types';

export interface Storage {
  claims: readonly PersistentVolumeClaim[];
  volumes: readonly PersistentVolume[];
  classes: readonly StorageClass[];
}

export interface PodVolumes {
  /** Why no node can take the pod now, whatever the node (a claim missing, unbound and not waiting for it). */
  problem?: string;
  /** Why this node cannot serve the pod's claims; undefined when it can. */
  nodeProblem(node: Node): string | undefined;
  /** Claims that wait for the pod's node: they get it before the pod is bound. */
  unbound: PersistentVolumeClaim[];
}

const NONE: PodVolumes = { nodeProblem: () => undefined, unbound: [] };

export function podVolumes(pod: Pod, storage: Storage | undefined): PodVolumes {
  const claimNames = (pod.spec.volumes ?? []).flatMap((v) => volumeClaimName(pod.metadata.name ?? '', v) ?? []);
  const ephemeral = new Set((pod.spec.volumes ?? []).filter((v) => v.ephemeral).map((v) => volumeClaimName(pod.metadata.name ?? '', v)));
  if (claimNames.length === 0 || !storage) return NONE;
  const namespace = pod.metadata.namespace ?? 'default';
  const bound: PersistentVolume[] = [];
  const unbound: PersistentVolumeClaim[] = [];
  for (const name of claimNames) {
    const claim = storage.claims.find((c) => c.metadata.name === name && (c.metadata.namespace ?? 'default') === namespace);
    if (!claim) return { ...NONE, problem: `persistentvolumeclaim "${name}" not found` };
    if (ephemeral.has(name) && !(claim.metadata.ownerReferences ?? []).some((r) => r.uid === pod.metadata.uid && r.controller)) {
      return { ...NONE, problem: `PVC ${namespace}/${name} was not created for pod ${namespace}/${pod.metadata.name} (pod is not owner)` };
    }
    if (claim.metadata.deletionTimestamp) return { ...NONE, problem: `persistentvolumeclaim "${name}" is being deleted` };
    if (claim.spec.volumeName && claim.status?.phase === 'Bound') {
      const pv = storage.volumes.find((v) => v.metadata.name === claim.spec.volumeName);
      if (!pv) return { ...NONE, problem: `persistentvolume "${claim.spec.volumeName}" not found` };
      bound.push(pv);
      continue;
    }
    const sc = storage.classes.find((c) => c.metadata.name === claimClass(claim));
    if (sc?.volumeBindingMode !== 'WaitForFirstConsumer') return { ...NONE, problem: 'pod has unbound immediate PersistentVolumeClaims' };
    unbound.push(claim);
  }
  const classes = new Map(storage.classes.map((c) => [c.metadata.name!, c]));
  return {
    unbound,
    nodeProblem(node) {
      if (bound.some((pv) => !volumeReachableFrom(pv, node))) return FitReason.VolumeNodeAffinity;
      for (const claim of unbound) {
        const selected = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
        // A claim already given a node keeps it: its volume may be being made there.
        if (selected !== undefined) {
          if (selected !== node.metadata.name) return FitReason.VolumeNodeAffinity;
          continue;
        }
        const canProvision = classes.get(claimClass(claim))?.provisioner === LOCAL_PATH_PROVISIONER;
        if (!canProvision && !bestVolume(storage.volumes, claim, node)) return FitReason.NoVolumeToBind;
      }
      return undefined;
    },
  };
}
