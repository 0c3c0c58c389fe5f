// The deployment controller: a Deployment's revisions are ReplicaSets, one per pod template
// (named <deployment>-<template hash>); a rollout moves replicas from the old ones to the new one
// by the strategy's rules (RollingUpdate: within maxSurge and maxUnavailable; Recreate: all old
// pods gone first). plan() decides one step from the Deployment, the ReplicaSets it controls and
// their pods; the executor writes the actions; the ReplicaSet controller makes the pods.
//
// Lifecycle of a rollout: template changes -> new ReplicaSet created (revision max+1,
// Progressing=NewReplicaSetCreated) -> scaled up / old ones scaled down step by step as pods turn
// available (ReplicaSetUpdated) -> complete (NewReplicaSetAvailable) -> old ReplicaSets with no
// replicas beyond revisionHistoryLimit deleted. A rollback is a template change back to an old
// revision: that ReplicaSet becomes the new one again and is re-annotated with revision max+1.

import type { DeploymentStatus, ReplicaSet } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

/** The label on a revision's pods and in its selector: the hash of the pod template. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** On a ReplicaSet and on its Deployment: the revision number, "1", "2"... */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** On a ReplicaSet: the revisions it had before a rollback made it new again ("1,3"). */
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
/** On a ReplicaSet: the Deployment's replicas when it was last scaled (tells a scaling event). */
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
/** On a ReplicaSet: replicas + maxSurge when it was last scaled (for proportional scaling). */
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

export const DEPLOYMENT_CONTROLLER = 'deployment-controller';

/** Progressing and Available reasons, as Kubernetes names them. */
export const Reason = {
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  FoundNewReplicaSet: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  DeploymentPaused: 'DeploymentPaused',
  DeploymentResumed: 'DeploymentResumed',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

export type DeploymentAction =
  /** Create the new revision (complete object, no uid/resourceVersion). */
  | { type: 'create-replicaset'; replicaSet: ReplicaSet }
  /** Replace a ReplicaSet (scaled and/or re-annotated), based on its resourceVersion. */
  | { type: 'update-replicaset'; replicaSet: ReplicaSet }
  /** Delete an old revision with no replicas left (history limit). */
  | { type: 'delete-replicaset'; replicaSet: ObjectRef }
  /** Merge these annotations into the Deployment's metadata (its current revision). */
  | { type: 'annotate-deployment'; deployment: ObjectRef; annotations: Record<string, string> }
  /** Write the Deployment's status (only when it changed). */
  | { type: 'update-deployment-status'; deployment: ObjectRef; status: DeploymentStatus }
  | EventAction;

export type DeploymentPlan = Plan<DeploymentAction>;
