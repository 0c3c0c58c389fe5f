// The persistent volume controller binds claims to volumes and makes volumes for claims, as
// Kubernetes' PV controller and k3s' local-path provisioner together:
//
// - A claim binds to a volume that fits it (see proto/resources/storage.ts): one reserved for it
//   by claimRef first, else the smallest. Binding writes the volume's claimRef (phase Bound),
//   then the claim's volumeName (phase Bound, its capacity and access modes).
// - A claim of a WaitForFirstConsumer class waits until the scheduler has picked its pod's node
//   (annotation volume.kubernetes.io/selected-node); then a volume on that node is bound or, for
//   berth.dev/local-path, made: a hostPath volume pvc-<claim uid> at
//   <node's local-path root>/pvc-<uid>_<namespace>_<claim>, pinned to the node, reserved for
//   the claim, with the class's reclaimPolicy. The node's agent makes the directory on first use.
// - A volume whose claim is gone is Released: Retain keeps it (and its data) until an
//   administrator deletes it; Delete deletes a volume berth made (its node's agent then removes
//   the directory); Delete on a volume made by hand fails, as Kubernetes' does without a deleter.
// - A bound claim whose volume has gone is Lost.
//
// Conditions that hold a claim Pending are told by Kubernetes' events, once, when it is first seen.

import type { PersistentVolume, PersistentVolumeClaim } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const VOLUME_CONTROLLER = 'persistentvolume-controller';

export type VolumeAction =
  | { type: 'bind'; claim: ObjectRef; volume: ObjectRef }
  | { type: 'provision'; claim: ObjectRef; volume: PersistentVolume }
  | { type: 'claim-status'; claim: ObjectRef; status: NonNullable<PersistentVolumeClaim['status']> }
  | { type: 'volume-phase'; volume: ObjectRef; phase: NonNullable<PersistentVolume['status']>['phase']; message?: string }
  | { type: 'delete-volume'; volume: ObjectRef; claim: ObjectRef & { uid?: string } }
  | EventAction;

export type VolumePlan = Plan<VolumeAction>;
