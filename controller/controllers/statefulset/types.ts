// The StatefulSet controller keeps replicas pods named <set>-<ordinal> (ordinals from
// spec.ordinals.start, default 0), each with its own claims <template>-<set>-<ordinal> made from
// volumeClaimTemplates before the pod and kept when the pod goes, so a pod made again under the
// same name finds its data (and, with local volumes, its node). Pods get a stable hostname (their
// name) under the set's headless Service (spec.serviceName).
//
// OrderedReady (the default): a pod is made only when every lower ordinal is running and ready,
// the highest ordinal goes first on a scale-down, and nothing moves while a pod is unhealthy.
// Parallel: pods are made and removed all at once. A changed template rolls out from the highest
// ordinal down to spec.updateStrategy.rollingUpdate.partition, one pod at a time, each deleted
// and made again once the others are ready; OnDelete waits for the user to delete them. Claims
// follow persistentVolumeClaimRetentionPolicy: Retain keeps them, whenScaled Delete removes the
// claims of ordinals a scale-down removed, whenDeleted Delete makes the set own them (they go
// with it). Pods carry controller-revision-hash (<set>-<template hash>), pod-name and pod-index
// labels as Kubernetes' do.

import type { PersistentVolumeClaim, Pod, StatefulSetStatus } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const STATEFULSET_CONTROLLER = 'statefulset-controller';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export type StatefulSetAction =
  | { type: 'create-claim'; claim: PersistentVolumeClaim }
  | { type: 'delete-claim'; claim: ObjectRef }
  | { type: 'create-pod'; pod: Pod }
  | { type: 'delete-pod'; pod: ObjectRef }
  | { type: 'update-statefulset-status'; statefulSet: ObjectRef; status: StatefulSetStatus }
  | EventAction;

export type StatefulSetPlan = Plan<StatefulSetAction>;
