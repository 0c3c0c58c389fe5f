// Node sessions: how an agent's node belongs to the cluster. The controller owns the rules; the
// agent dials in and follows them.
//
// Lifecycle of a session: an agent registers its Node (created, or its labels and status
// replaced, Ready=True) and gets a new epoch: the node's Lease (namespace berth-node-lease, named
// after the node) has spec.leaseTransitions moved on by one and renewTime = acquireTime = now. It
// then renews the lease with that epoch every renewIntervalMs, watches the pods bound to it, and
// reports their status and its events, each call carrying the epoch. When the lease is not
// renewed the node lifecycle controller (controllers/node) turns the node NotReady and, once it is
// lost, evicts its pods and bumps the epoch a single time (acquireTime stamped later than
// renewTime marks "declared lost"). From then on whatever the agent sends with its old epoch is
// refused (failed-precondition): it must register again, which gives it the new epoch, and resync
// (stop the pods that were replaced meanwhile) before it may report anything.
//
// rules.ts holds these decisions as pure functions over Nodes, Leases and Pods (the node
// lifecycle planner uses the same ones); sessions.ts carries them out against the registry.
//
// Imports: objects/ and proto/. No gRPC: api/node-api.ts converts the wire and calls in here.

import type { Event, Node, PodStatus } from '../../proto/resources';
import type { Clock, Registry } from '../objects';

export interface NodeSessionOptions {
  registry: Registry;
  clock: Clock;
  /** How long a lease lasts without renewal before the node is NotReady. */
  leaseDurationMs: number;
}

/** What a registering agent is told. */
export interface Registration {
  /** The session's epoch: every later call carries it. */
  epoch: number;
  leaseDurationSeconds: number;
  renewIntervalMs: number;
  /** The node is cordoned: the agent starts no new pod (it re-checks what the scheduler checked). */
  unschedulable: boolean;
}

/** What a renewing agent is told. */
export interface Renewal {
  unschedulable: boolean;
  /** The node was not Ready before this renewal: its agent should send its pods' status again. */
  resendPodStatus: boolean;
}

/** An agent's report on one of its pods. */
export interface PodStatusReport {
  nodeName: string;
  epoch: string | number;
  namespace: string;
  name: string;
  /** The pod this report is about: a later pod of the same name is another pod. */
  uid: string;
  /** The pod's containers are gone (after its deletion began): the pod may go. */
  terminated: boolean;
  /** Parsed lazily: a terminated report carries none, and a stale one need not be read. */
  status: () => PodStatus;
}

export interface NodeSessions {
  register(node: Node): Promise<Registration>;
  /** Refuses a stale epoch. */
  renew(nodeName: string, epoch: string | number): Promise<Renewal>;
  /** Resolves when `epoch` is the node's current one; refuses otherwise. */
  requireEpoch(nodeName: string, epoch: string | number): Promise<void>;
  reportPodStatus(report: PodStatusReport): Promise<void>;
  recordEvent(nodeName: string, event: Event): Promise<void>;
}
