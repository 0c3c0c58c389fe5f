// The working state of one planning pass over a Deployment: its revisions (ReplicaSets, as copies
// this pass may change), what each one's pods are doing, the status being built, and the events.
// The inputs are never changed; finish() turns the differences into actions.

import type { Deployment, DeploymentStatus, Pod, ReplicaSet } from '../../../proto/resources';
import { isActive, isAvailable, isReady } from '../pods';
import { eventFor, isControlledBy, refOf, sameJson, timeOf } from '../meta';
import type { EventSpec } from '../types';
import { maxSurge } from './fenceposts';
import {
  DEPLOYMENT_CONTROLLER, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION,
  type DeploymentAction, type DeploymentPlan,
} from './types';

/** One ReplicaSet of the Deployment, as this pass sees it. */
export interface Revision {
  /** The ReplicaSet as observed; undefined for the one this pass creates. */
  readonly original: ReplicaSet | undefined;
  /** The working copy: what the ReplicaSet should become. */
  rs: ReplicaSet;
  /** For ordering: creation time (ms), the newly created one last. */
  readonly createdAt: number;
  /** Every pod it controls, terminating and terminated ones included. */
  readonly pods: readonly Pod[];
  /** Pods that count as replicas (neither terminated nor being deleted). */
  readonly activePods: number;
  readonly readyPods: number;
  /** Active pods ready for longer than the Deployment's minReadySeconds. */
  readonly availablePods: number;
}

export class Rollout {
  readonly replicas: number;
  readonly minReadySeconds: number;
  readonly revisions: Revision[];
  newRevision: Revision | undefined;
  /** The Deployment's status as this pass updates it (conditions first, counts at the end). */
  status: DeploymentStatus;
  /** The revision annotation the Deployment should carry. */
  deploymentRevision: string | undefined;
  /** Revisions to delete (history limit). */
  readonly deleted: Revision[] = [];
  readonly events: EventSpec[] = [];
  private readonly touched: Revision[] = [];

  constructor(readonly deployment: Deployment, replicaSets: readonly ReplicaSet[], pods: readonly Pod[], readonly now: Date) {
    this.replicas = deployment.spec.replicas ?? 1;
    this.minReadySeconds = deployment.spec.minReadySeconds ?? 0;
    this.status = structuredClone(deployment.status ?? {});
    this.deploymentRevision = deployment.metadata.annotations?.[REVISION_ANNOTATION];
    this.revisions = replicaSets.map((rs) => this.revisionOf(rs, rs, pods.filter((p) => isControlledBy(p, rs))));
    this.revisions.sort(byCreation);
  }

  /** Every revision but the new one, oldest first. */
  get oldRevisions(): Revision[] {
    return this.revisions.filter((r) => r !== this.newRevision);
  }

  /** The revision's desired replicas (spec.replicas of the working copy). */
  spec(rev: Revision | undefined): number {
    return rev?.rs.spec.replicas ?? 0;
  }

  /**
   * Available replicas that will remain: at most spec.replicas, since the ReplicaSet controller
   * removes any surplus (unavailable pods first). Counting the surplus would let a scale-down
   * that has not happened yet pay for another one.
   */
  available(rev: Revision | undefined): number {
    return rev ? Math.min(this.spec(rev), rev.availablePods) : 0;
  }

  /** Add the revision this pass creates. */
  addCreated(rs: ReplicaSet): Revision {
    const rev = this.revisionOf(undefined, rs, []);
    this.revisions.push(rev);
    this.newRevision = rev;
    return rev;
  }

  /** Change the working copy of a revision (the ReplicaSet will be updated). */
  change(rev: Revision, edit: (rs: ReplicaSet) => void): void {
    edit(rev.rs);
    if (!this.touched.includes(rev)) this.touched.push(rev);
  }

  /**
   * Scale a revision and record the event; also stamps the replicas annotations that tell later
   * passes what the Deployment looked like at this scale. Returns whether the size changed.
   */
  scale(rev: Revision, replicas: number): boolean {
    const from = this.spec(rev);
    const annotationsStale = this.replicasAnnotationsNeedUpdate(rev);
    if (from === replicas && !annotationsStale) return false;
    this.change(rev, (rs) => {
      rs.spec.replicas = replicas;
      this.setReplicasAnnotations(rs);
    });
    if (from === replicas) return false;
    const direction = from < replicas ? 'up' : 'down';
    this.event('Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rev.rs.metadata.name} to ${replicas}`);
    return true;
  }

  setReplicasAnnotations(rs: ReplicaSet): void {
    rs.metadata.annotations = {
      ...rs.metadata.annotations,
      [DESIRED_REPLICAS_ANNOTATION]: String(this.replicas),
      [MAX_REPLICAS_ANNOTATION]: String(this.replicas + maxSurge(this.deployment)),
    };
  }

  private replicasAnnotationsNeedUpdate(rev: Revision): boolean {
    const a = rev.rs.metadata.annotations ?? {};
    return a[DESIRED_REPLICAS_ANNOTATION] !== String(this.replicas)
      || a[MAX_REPLICAS_ANNOTATION] !== String(this.replicas + maxSurge(this.deployment));
  }

  event(type: EventSpec['type'], reason: string, message: string): void {
    this.events.push(eventFor(this.deployment, DEPLOYMENT_CONTROLLER, type, reason, message));
  }

  /** The actions that turn the observed state into this pass's decisions. */
  finish(status: DeploymentStatus, requeueAfterMs?: number): DeploymentPlan {
    const actions: DeploymentAction[] = [];
    const created = this.revisions.find((r) => r.original === undefined);
    if (created) actions.push({ type: 'create-replicaset', replicaSet: created.rs });
    for (const rev of this.touched) {
      if (rev.original && !this.deleted.includes(rev) && !sameJson(rev.original, rev.rs)) {
        actions.push({ type: 'update-replicaset', replicaSet: rev.rs });
      }
    }
    for (const rev of this.deleted) actions.push({ type: 'delete-replicaset', replicaSet: refOf(rev.rs) });
    const d = this.deployment;
    if (this.deploymentRevision !== undefined && this.deploymentRevision !== d.metadata.annotations?.[REVISION_ANNOTATION]) {
      actions.push({ type: 'annotate-deployment', deployment: refOf(d), annotations: { [REVISION_ANNOTATION]: this.deploymentRevision } });
    }
    if (!sameJson(d.status ?? {}, status)) actions.push({ type: 'update-deployment-status', deployment: refOf(d), status });
    for (const event of this.events) actions.push({ type: 'event', event });
    const plan: DeploymentPlan = { actions };
    if (requeueAfterMs !== undefined) plan.requeueAfterMs = requeueAfterMs;
    return plan;
  }

  private revisionOf(original: ReplicaSet | undefined, rs: ReplicaSet, pods: readonly Pod[]): Revision {
    const active = pods.filter(isActive);
    return {
      original,
      rs: structuredClone(rs),
      createdAt: original ? timeOf(rs.metadata.creationTimestamp) ?? 0 : Number.MAX_SAFE_INTEGER,
      pods,
      activePods: active.length,
      readyPods: active.filter(isReady).length,
      availablePods: active.filter((p) => isAvailable(p, this.minReadySeconds, this.now)).length,
    };
  }
}

/** Oldest first; by name when created at the same time (ReplicaSetsByCreationTimestamp). */
export function byCreation(a: Revision, b: Revision): number {
  return a.createdAt - b.createdAt || compareNames(a.rs.metadata.name, b.rs.metadata.name);
}

function compareNames(a = '', b = ''): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
