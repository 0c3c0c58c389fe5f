// Persistent storage as the binder, the scheduler and the agents share it: the names berth gives
// its local-path provisioner and the annotations they pass each other, and whether a volume can
// serve a claim (Kubernetes' FindMatchingVolume rules). Pure.

import { matchesLabelSelector } from './labels';
import { nodeMatchesTerms } from './node-affinity';
import { parseMemory } from './quantity';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from './types';

/** berth's built-in provisioner: a directory on the node of the claim's first pod (k3s' local-path). */
export const LOCAL_PATH_PROVISIONER = 'berth.dev/local-path';
/** The class the controller makes at start, the default one. */
export const LOCAL_PATH_CLASS = 'local-path';
/** Where on a node local-path volumes go: each agent publishes its own on its Node. */
export const LOCAL_PATH_ROOT_ANNOTATION = 'berth.dev/local-path-root';
/** Set by the scheduler on a WaitForFirstConsumer claim: the node its pod goes to. */
export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/** The class a claim asks for ("" : only volumes without one). */
export const claimClass = (claim: PersistentVolumeClaim): string => claim.spec.storageClassName ?? '';
export const volumeClass = (pv: PersistentVolume): string => pv.spec.storageClassName ?? '';

export function isDefaultClass(sc: StorageClass): boolean {
  return sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
}

/** The bytes a claim asks for (0 if unreadable: schema validation has seen it). */
export function requestedBytes(claim: PersistentVolumeClaim): number {
  try {
    return parseMemory(claim.spec.resources?.requests?.storage ?? 0);
  } catch {
    return 0;
  }
}

export function capacityBytes(pv: PersistentVolume): number {
  try {
    return parseMemory(pv.spec.capacity?.storage ?? 0);
  } catch {
    return 0;
  }
}

/** A volume's claimRef names this claim (and, when it says, the same uid). */
export function isReservedFor(pv: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = pv.spec.claimRef;
  if (!ref) return false;
  return ref.name === claim.metadata.name && (ref.namespace ?? 'default') === (claim.metadata.namespace ?? 'default')
    && (!ref.uid || ref.uid === claim.metadata.uid);
}

/** Whether a node can reach the volume (no nodeAffinity: every node). */
export function volumeReachableFrom(pv: PersistentVolume, node: Node): boolean {
  const terms = pv.spec.nodeAffinity?.required?.nodeSelectorTerms;
  return !terms || nodeMatchesTerms(node, terms);
}

/**
 * Whether `pv` can serve `claim`: free (or reserved for it), the same class and volume mode, every
 * access mode asked, at least the size asked, the claim's selector and volumeName. `node`, when
 * given, must reach it (a WaitForFirstConsumer claim's selected node).
 */
export function volumeFits(pv: PersistentVolume, claim: PersistentVolumeClaim, node?: Node): boolean {
  if (pv.metadata.deletionTimestamp) return false;
  if (pv.spec.claimRef && !isReservedFor(pv, claim)) return false;
  if (!pv.spec.claimRef && pv.status?.phase !== undefined && pv.status.phase !== 'Available' && pv.status.phase !== 'Pending') return false;
  if (claim.spec.volumeName && claim.spec.volumeName !== pv.metadata.name) return false;
  if (volumeClass(pv) !== claimClass(claim)) return false;
  // The same attributes class, none with none (Kubernetes' binder).
  if ((pv.spec.volumeAttributesClassName ?? '') !== (claim.spec.volumeAttributesClassName ?? '')) return false;
  if ((pv.spec.volumeMode ?? 'Filesystem') !== (claim.spec.volumeMode ?? 'Filesystem')) return false;
  const modes = pv.spec.accessModes ?? [];
  if (!(claim.spec.accessModes ?? []).every((m) => modes.includes(m))) return false;
  if (capacityBytes(pv) < requestedBytes(claim)) return false;
  if (claim.spec.selector && !matchesLabelSelector(pv.metadata.labels ?? {}, claim.spec.selector)) return false;
  if (node && !volumeReachableFrom(pv, node)) return false;
  return true;
}

/** The volume to bind a claim to: one reserved for it first, else the smallest that fits, then by name. */
export function bestVolume(volumes: readonly PersistentVolume[], claim: PersistentVolumeClaim, node?: Node): PersistentVolume | undefined {
  const fitting = volumes.filter((pv) => volumeFits(pv, claim, node));
  const reserved = fitting.find((pv) => pv.spec.claimRef);
  if (reserved) return reserved;
  return fitting.sort((a, b) => capacityBytes(a) - capacityBytes(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))[0];
}
