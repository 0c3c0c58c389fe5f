// The node side of the agent: its vocabulary and lifecycle.
//
// An agent started with a controller address registers its Node (capacity, addresses, labels)
// and receives an epoch; it renews the node's lease with that epoch and watches the pods bound to
// it. A stale epoch (the controller declared the node lost meanwhile) means: register again, relist
// every pod, and stop whatever is no longer bound here. A lost connection means nothing for the
// containers: they keep running, and the watch resumes from the last resource version seen.
//
// A pod new to the node is admitted first, as the kubelet re-checks the scheduler (admission.ts:
// cordon, resources, node selector, host ports); a refused pod is Failed and never started.
//
// Each pod has one serialized worker (kubelet's pod_workers): the newest desired state wins, and
// its phases run in order, each retried until it succeeds:
//   syncing     -> make the host match the pod: network, cgroup (the pod's limits), images,
//                  containers, probes, status
//   terminating -> the pod was deleted or is no longer bound here: stop its containers within the
//                  grace period, remove them, the pod's network and its cgroup
//   terminated  -> the controller is told (terminated=true) and the worker is forgotten
// A worker decides with a pure `plan(desired, observed, now) -> actions` and carries the actions
// out; it observes the host again after every pass (level-triggered: a missed event, a restart or
// a duplicate is harmless). After an agent restart, containers are found by their labels and
// adopted into their pods, never recreated; nothing is stopped before the first full pod list.

import type { Pod } from '../../proto/resources';
import type { ContainerRecord, ContainerState, CreateRequest, GroupLimits, LogLine, OciRuntime, RestartBackoff } from '../runtime';

/** `berth agent --controller ...`: what the user may set. */
export interface NodeOptions {
  /** HOST:PORT of the controller's gRPC server. */
  controller: string;
  /** Default: the host name. */
  nodeName?: string;
  /** Extra node labels. */
  labels?: Record<string, string>;
  /** The address pods' published ports and probes use; default: the host's first non-loopback IPv4. */
  nodeIp?: string;
  /** A join token (berth token create): needed on the first start only, before the node has a certificate. */
  token?: string;
  /** --pod-pids-limit: the most processes and threads one pod may have; -1: unlimited; default 4096. */
  podPidsLimit?: number;
  /** --pod-restart-backoff: the crash back-off of pods' containers; default the kubelet's, 10 s to 5 min. */
  podRestartBackoff?: { initialMs: number; maxMs: number };
  /** Where Localhost seccomp profiles live (the composition root passes <data root>/seccomp). */
  seccompRoot?: string;
  /** --extended-resource NAME=COUNT: extended resources the node offers (a GPU, a dongle), advertised on its Node. */
  extendedResources?: Record<string, number>;
  /** --ingress-http-port / --ingress-https-port: serve berth's Ingresses on these ports of the node; absent: not served here. */
  ingressPorts?: IngressPorts;
  /** --metric-resolution: how often the node's and its pods' usage is measured and reported; default 15 s (metrics-server's). */
  metricsResolutionMs?: number;
}

export interface IngressPorts {
  http?: number;
  https?: number;
}

/** NodeOptions validated and defaulted once. */
export interface NodeConfig {
  controller: string;
  nodeName: string;
  labels: Record<string, string>;
  nodeIp: string;
  hostname: string;
  /** undefined: no limit of the pod's own. Within the host's ceiling once the node agent starts. */
  podPidsLimit: number | undefined;
  restartBackoff: RestartBackoff;
  seccompRoot: string;
  extendedResources: Record<string, number>;
  /** Undefined: this node serves no Ingresses. */
  ingressPorts: IngressPorts | undefined;
  metricsResolutionMs: number;
}

/** Time, injected: decisions take `now` as an argument, workers read it from here. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * What the node's pod workers need of the container runtime: the host's containers and the verbs
 * a plan's actions use. The container service implements it; nothing here reaches its records,
 * images or mounts.
 */
export interface PodRuntime {
  /** Every container on the host, running or not. */
  list(options: { all: true }): ContainerRecord[];
  /** The container with this full ID, or undefined. */
  find(id: string): ContainerRecord | undefined;
  create(request: CreateRequest): Promise<ContainerRecord>;
  /** With countAsRestart, a start of a container that ran before counts as a restart. */
  start(id: string, options: { countAsRestart?: boolean }): Promise<ContainerRecord>;
  restart(id: string, timeoutSeconds: number | undefined, options: { countAsRestart?: boolean }): Promise<ContainerRecord>;
  stop(id: string, timeoutSeconds?: number): Promise<ContainerRecord>;
  remove(id: string, options: { force?: boolean }): Promise<void>;
  exec(id: string, args: string[], options: { env?: string[] }, io: Parameters<OciRuntime['exec']>[2]): Promise<number>;
  /** A container's log lines (the tail a failed container's termination message may fall back to). */
  logs(id: string, options: { follow: false; tail?: number }, onLine: (line: LogLine) => void): Promise<void>;
}

/**
 * The pods' cgroups (one per pod, holding its containers and its limits): what the workers need of
 * the runtime's CgroupGroups.
 */
export interface PodCgroups {
  exists(name: string): boolean;
  /** Every cgroup directly under the agent's parent (pods' and containers' outside pods). */
  list(): string[];
  ensure(name: string, limits: GroupLimits): void;
  /** 'failed-precondition' while a container's cgroup is still inside. */
  remove(name: string): void;
  /** The most tasks the host could give a pod (kernel limits, the agent's parent cgroups). */
  pidsCeiling(): number;
  /** A container's CPU time so far (ns) and memory working set; undefined when it has no cgroup. */
  usage(group: string | undefined, id: string): { cpuNanos: number; memoryBytes: number } | undefined;
}

/** A pod's identity: what its containers' labels carry, enough to find and stop them without the pod. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * One container of a pod as the host has it (from the container runtime's record and labels): its
 * state fields are the runtime's own.
 */
export interface ObservedContainer
  extends Pick<ContainerState, 'status' | 'startedAt' | 'finishedAt' | 'exitCode' | 'error' | 'restartCount' | 'nextRestartAt' | 'restartDelayMs' | 'lastExit'> {
  /** The runtime's container ID. */
  id: string;
  /** The pod container it runs (spec.containers[].name). */
  name: string;
  /** Hash of the container's spec when it was created: a different hash means the spec changed. */
  hash: string;
  /** The image reference as the pod names it. */
  image: string;
  imageId: string;
  /** The crash back-off the runtime applies to it (its restart policy's): the planner's restarts keep to it too. */
  backoff: RestartBackoff;
}

/** Where the image of a container that is still to be created stands. */
export type ImageAvailability =
  /** On the host and usable now. */
  | { state: 'present'; imageId: string }
  /** To be pulled (absent, or pull policy Always and not yet pulled for this container). */
  | { state: 'missing' }
  /** A pull is under way; previousFailure: the error of the pull before it, which failed. */
  | { state: 'pulling'; previousFailure?: string }
  /** The last pull failed; the next may start at retryAt (exponential back-off). */
  | { state: 'failed'; message: string; failedAt: number; retryAt: number }
  /** Absent and pull policy Never: nothing will ever bring it. */
  | { state: 'never'; message: string }
  /** The reference cannot be parsed. */
  | { state: 'invalid'; message: string };

/**
 * A create that failed (CreateContainerError), or a start that failed for a reason of the host
 * rather than of the container's process (RunContainerError); retried from retryAt.
 */
export interface CreateFailure {
  message: string;
  retryAt: number;
  /**
   * CreateContainerConfigError: the pod's configuration cannot be resolved (a missing key);
   * ContainerCreating: a volume cannot be made yet (FailedMount); absent: CreateContainerError.
   */
  reason?: 'CreateContainerConfigError' | 'ContainerCreating';
}

export interface PlanInput {
  pod: Pod;
  /** Deleted, no longer bound here, or gone from the controller: the pod's containers must go. */
  terminating: boolean;
  /** exists: the pod's network attachment is on the host; ready: it is, and its address is known. */
  network: { exists: boolean; ready: boolean };
  /** The pod's cgroup (its containers' parent, with the pod's limits) is on the host. */
  cgroup: { exists: boolean };
  /** The pod's directory (its volumes, subPath mounts, token) is on the host; absent: none. */
  podDir?: { exists: boolean };
  containers: ObservedContainer[];
  /** Per container name, for containers that do not exist yet. */
  images: Record<string, ImageAvailability>;
  createFailures: Record<string, CreateFailure>;
  /** Names of containers whose liveness probe failed in their current run. */
  unhealthy: string[];
  /** The pod was evicted (an emptyDir over its sizeLimit): its containers stop and nothing runs again. */
  evicted?: boolean;
  now: number;
}

export type StopReason = 'pod-terminating' | 'liveness' | 'spec-changed' | 'pod-completed' | 'evicted';

export type Action =
  /** Make the pod's network namespace (bridge, address, published ports); idempotent. */
  | { type: 'attach-network' }
  /** Make the pod's cgroup with the pod's limits; idempotent. */
  | { type: 'create-pod-cgroup' }
  /** Remove the pod's cgroup, once no container is left in it. */
  | { type: 'remove-pod-cgroup' }
  /** Start a pull of the container's image in the background. */
  | { type: 'pull-image'; container: string; image: string }
  /** Create the container and start it. */
  | { type: 'create-container'; container: string }
  /** Start an existing container that was created but not started, or ran before (counts as a restart). */
  | { type: 'start-container'; container: string; id: string; restart: boolean }
  /** Stop (stop signal, then SIGKILL after the grace period) and start again, counting a restart. */
  | { type: 'restart-container'; container: string; id: string; reason: 'liveness' }
  /** graceSeconds undefined: the container's own (the pod's grace period when it was made). */
  | { type: 'stop-container'; container: string; id: string; graceSeconds?: number; reason: StopReason }
  | { type: 'remove-container'; container: string; id: string; reason: 'pod-terminating' | 'spec-changed' | 'not-in-spec' | 'duplicate' }
  | { type: 'detach-network' }
  /** Unmount the pod's volumes and remove its directory, once no container uses them. */
  | { type: 'remove-pod-dir' }
  /** Nothing of the pod is left on the host: tell the controller, forget the pod. */
  | { type: 'pod-terminated' };

export interface Plan {
  actions: Action[];
  /** The earliest time a decision changes without any event (a back-off ends); undefined: none. */
  wakeAt?: number;
}

/** Labels on every container of a pod: how it is found again after an agent restart. */
export const LABELS = {
  namespace: 'io.kubernetes.pod.namespace',
  name: 'io.kubernetes.pod.name',
  uid: 'io.kubernetes.pod.uid',
  container: 'io.kubernetes.container.name',
  hash: 'io.kubernetes.container.hash',
} as const;
