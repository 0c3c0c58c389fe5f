// The persistent volume controller's decisions over every claim and volume. See types.ts.

import {
  bestVolume, claimClass, isReservedFor, LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT_ANNOTATION, PROVISIONED_BY_ANNOTATION,
  SELECTED_NODE_ANNOTATION,
  type Node, type PersistentVolume, type PersistentVolumeClaim, type StorageClass, type VolumeAttributesClass,
} from '../../../proto/resources';
import { eventFor, refOf, sameJson } from '../meta';
import { VOLUME_CONTROLLER, type VolumeAction, type VolumePlan } from './types';

export interface VolumeWorld {
  claims: readonly PersistentVolumeClaim[];
  volumes: readonly PersistentVolume[];
  classes: readonly StorageClass[];
  /** VolumeAttributesClasses; absent: none exist. */
  attributeClasses?: readonly VolumeAttributesClass[];
  nodes: readonly Node[];
}

export function plan(world: VolumeWorld): VolumePlan {
  const actions: VolumeAction[] = [];
  const classes = new Map(world.classes.map((c) => [c.metadata.name!, c]));
  const volumes = new Map(world.volumes.map((v) => [v.metadata.name!, v]));
  const claimsByUid = new Map(world.claims.map((c) => [c.metadata.uid ?? '', c]));
  const taken = new Set<string>();
  const event = (obj: PersistentVolumeClaim | PersistentVolume, type: 'Normal' | 'Warning', reason: string, message: string) =>
    actions.push({ type: 'event', event: eventFor(obj, VOLUME_CONTROLLER, type, reason, message) });

  for (const claim of [...world.claims].sort(byAge)) {
    if (claim.metadata.deletionTimestamp) continue;
    const ref = refOf(claim);
    const firstLook = claim.status?.phase === undefined;
    const pending = () => {
      if (firstLook) actions.push({ type: 'claim-status', claim: ref, status: { phase: 'Pending' } });
    };
    const bound = claim.spec.volumeName ? volumes.get(claim.spec.volumeName) : undefined;
    if (claim.spec.volumeName && bound && isReservedFor(bound, claim) && bound.spec.claimRef?.uid === claim.metadata.uid) {
      // Bound both ways: keep the claim's status true to its volume.
      taken.add(bound.metadata.name!);
      const status = boundStatus(claim, bound);
      if (!sameJson(claim.status ?? {}, status)) actions.push({ type: 'claim-status', claim: ref, status });
      continue;
    }
    if (claim.spec.volumeName && !bound && claim.status?.phase === 'Bound') {
      actions.push({ type: 'claim-status', claim: ref, status: { ...claim.status, phase: 'Lost' } });
      event(claim, 'Warning', 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      continue;
    }
    if (claim.status?.phase === 'Lost') continue;

    const className = claimClass(claim);
    const sc = className ? classes.get(className) : undefined;
    const waitsForConsumer = sc?.volumeBindingMode === 'WaitForFirstConsumer';
    const selectedNodeName = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
    const selectedNode = selectedNodeName ? world.nodes.find((n) => n.metadata.name === selectedNodeName) : undefined;
    if (waitsForConsumer && !selectedNodeName) {
      pending();
      if (firstLook) event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      continue;
    }
    const candidates = world.volumes.filter((v) => !taken.has(v.metadata.name!));
    const match = bestVolume(candidates, claim, waitsForConsumer ? selectedNode : undefined);
    if (match) {
      taken.add(match.metadata.name!);
      actions.push({ type: 'bind', claim: ref, volume: refOf(match) });
      continue;
    }
    pending();
    if (claim.spec.volumeName) {
      if (firstLook) event(claim, 'Warning', 'FailedBinding', `volume "${claim.spec.volumeName}" ${volumes.has(claim.spec.volumeName) ? 'is not available for this claim' : 'not found'}`);
      continue;
    }
    if (!className) {
      if (firstLook) event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      continue;
    }
    if (!sc) {
      if (firstLook) event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      continue;
    }
    if (sc.provisioner !== LOCAL_PATH_PROVISIONER) {
      if (firstLook) event(claim, 'Normal', 'ExternalProvisioning', `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`);
      continue;
    }
    if (!waitsForConsumer) {
      if (firstLook) event(claim, 'Warning', 'ProvisioningFailed', `storageclass "${className}": ${LOCAL_PATH_PROVISIONER} makes a volume on the node of the claim's first pod; give the class volumeBindingMode WaitForFirstConsumer`);
      continue;
    }
    // Attributes are the driver's to apply: berth's local-path takes a class of its own driver (with no parameters to apply).
    const vacName = claim.spec.volumeAttributesClassName;
    if (vacName !== undefined) {
      const vac = (world.attributeClasses ?? []).find((c) => c.metadata.name === vacName);
      const why = !vac ? `volumeattributesclass.storage.k8s.io "${vacName}" not found`
        : vac.driverName !== sc.provisioner ? `VolumeAttributesClass "${vacName}" is for driver ${vac.driverName}, not ${sc.provisioner}` : undefined;
      if (why) {
        if (firstLook) event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${className}": ${why}`);
        continue;
      }
    }
    const made = provisioned(claim, sc, selectedNodeName!, selectedNode);
    if (typeof made === 'string') {
      event(claim, 'Warning', 'ProvisioningFailed', made);
      continue;
    }
    taken.add(made.metadata.name!);
    actions.push({ type: 'provision', claim: ref, volume: made });
    event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${made.metadata.name}`);
  }

  for (const pv of world.volumes) {
    if (pv.metadata.deletionTimestamp) continue;
    const ref = refOf(pv);
    const claimRef = pv.spec.claimRef;
    const phase = pv.status?.phase;
    if (!claimRef) {
      if (phase !== 'Available' && !taken.has(pv.metadata.name!)) actions.push({ type: 'volume-phase', volume: ref, phase: 'Available' });
      continue;
    }
    const claim = claimRef.uid
      ? claimsByUid.get(claimRef.uid)
      : world.claims.find((c) => c.metadata.name === claimRef.name && (c.metadata.namespace ?? 'default') === (claimRef.namespace ?? 'default'));
    if (claim) {
      if (claim.spec.volumeName === pv.metadata.name && phase !== 'Bound') actions.push({ type: 'volume-phase', volume: ref, phase: 'Bound' });
      else if (claim.spec.volumeName !== pv.metadata.name && phase === undefined) actions.push({ type: 'volume-phase', volume: ref, phase: 'Available' });
      continue;
    }
    // Reserved for a claim not made yet (no uid): it waits, as a volume an administrator pre-binds does.
    if (!claimRef.uid) {
      if (phase !== 'Available') actions.push({ type: 'volume-phase', volume: ref, phase: 'Available' });
      continue;
    }
    const policy = pv.spec.persistentVolumeReclaimPolicy ?? 'Retain';
    const claimGone = { namespace: claimRef.namespace ?? 'default', name: claimRef.name, uid: claimRef.uid };
    if (policy === 'Delete' && pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] === LOCAL_PATH_PROVISIONER) {
      actions.push({ type: 'delete-volume', volume: ref, claim: claimGone });
    } else if (policy === 'Delete' || policy === 'Recycle') {
      const message = `error getting ${policy === 'Delete' ? 'deleter' : 'recycler'} volume plugin for volume "${pv.metadata.name}": no ${policy === 'Delete' ? 'deletable' : 'recyclable'} volume plugin matched`;
      if (phase !== 'Failed') {
        actions.push({ type: 'volume-phase', volume: ref, phase: 'Failed', message });
        event(pv, 'Warning', policy === 'Delete' ? 'VolumeFailedDelete' : 'VolumeFailedRecycle', message);
      }
    } else if (phase !== 'Released') {
      actions.push({ type: 'volume-phase', volume: ref, phase: 'Released' });
    }
  }
  return { actions };
}

function boundStatus(claim: PersistentVolumeClaim, pv: PersistentVolume): NonNullable<PersistentVolumeClaim['status']> {
  return {
    ...claim.status,
    phase: 'Bound',
    accessModes: pv.spec.accessModes ?? [],
    capacity: { storage: String(pv.spec.capacity?.storage ?? '0') },
    ...(pv.spec.volumeAttributesClassName !== undefined ? { currentVolumeAttributesClassName: pv.spec.volumeAttributesClassName } : {}),
  };
}

/** The local-path volume for a claim on its node, or why there can be none. */
function provisioned(claim: PersistentVolumeClaim, sc: StorageClass, nodeName: string, node: Node | undefined): PersistentVolume | string {
  if (!node) return `failed to provision volume with StorageClass "${sc.metadata.name}": node "${nodeName}" not found`;
  const root = sc.parameters?.nodePath ?? node.metadata.annotations?.[LOCAL_PATH_ROOT_ANNOTATION];
  if (!root) return `failed to provision volume with StorageClass "${sc.metadata.name}": node "${nodeName}" does not publish ${LOCAL_PATH_ROOT_ANNOTATION} (its agent predates local-path volumes)`;
  const namespace = claim.metadata.namespace ?? 'default';
  const name = `pvc-${claim.metadata.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER } },
    spec: {
      capacity: { storage: String(claim.spec.resources?.requests?.storage ?? '0') },
      accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
      storageClassName: sc.metadata.name!,
      ...(claim.spec.volumeAttributesClassName !== undefined ? { volumeAttributesClassName: claim.spec.volumeAttributesClassName } : {}),
      volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: claim.metadata.name!, uid: claim.metadata.uid! },
      hostPath: { path: `${root.replace(/\/+$/, '')}/${name}_${namespace}_${claim.metadata.name}`, type: 'DirectoryOrCreate' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } },
    },
    status: { phase: 'Bound' },
  };
}

/** Oldest first, so that an older claim gets the volume two could take. */
function byAge(a: PersistentVolumeClaim, b: PersistentVolumeClaim): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}
