// The container runtime's vocabulary.
//
// A container is an instance of an image: the image's layer snapshots as overlay lower dirs, a
// writable upper dir of its own, and runtime settings. It can be created without running,
// started, stopped (its writable layer stays), started again, committed, and removed (the
// writable layer goes; the image stays). Each running container has a monitor process (conmon)
// that outlives the agent, keeps its logs and records its exit code; an agent that restarts
// adopts the containers it finds.

import type { Digest } from '../oci';
import type { NetworkMode, PortMapping } from '../network';
import type { SecurityConfig } from './seccomp';
import type { VolumeMount } from './spec';

export type ContainerStatus =
  /** Made (rootfs prepared) and never started, or started and not yet running. */
  | 'created'
  /** Its process runs. */
  | 'running'
  /** Exited and waiting out its restart back-off. */
  | 'restarting'
  /** Its process ended (or it was stopped); the writable layer is kept. */
  | 'exited';

export type RestartPolicyName = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface RestartPolicy {
  name: RestartPolicyName;
  /** on-failure only: give up after this many restarts (0: no limit). */
  maximumRetryCount: number;
  /** How long to wait before each restart; absent: docker's (restart.ts). */
  backoff?: RestartBackoff;
}

/**
 * The wait before an automatic restart: `initialMs` after the first failure, doubled after each
 * further one up to `maxMs`; a run that lasted `resetAfterMs` starts it over (restart.ts).
 */
export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

/** What `create`/`run` was asked for; fixed for the container's life. */
export interface ContainerConfig {
  /** The user's word for the image, as given (for ps and inspect). */
  image: string;
  imageId: Digest;
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workdir?: string;
  user?: string;
  /** Supplementary groups beyond the user's own (docker's --group-add; a pod's fsGroup and supplementalGroups). */
  groupAdd?: number[];
  /** Only the user's own group and groupAdd: none from the image's /etc/group (supplementalGroupsPolicy: Strict). */
  strictGroups?: boolean;
  /** The root filesystem mounted read-only (docker's --read-only; readOnlyRootFilesystem). */
  readonlyRootfs?: boolean;
  /** The command that runs, after Entrypoint/Cmd resolution. */
  args: string[];
  stopSignal: string;
  /** Grace period of stop before SIGKILL, seconds. */
  stopTimeout: number;
  labels: Record<string, string>;
  ports: PortMapping[];
  volumes: VolumeMount[];
  network: NetworkMode;
  /** docker's --pid host / a pod's hostPID: the host's PID namespace; absent: one of its own. */
  pidMode?: 'host';
  /** docker's --ipc host / a pod's hostIPC: the host's IPC namespace and /dev/shm; absent: its own. */
  ipcMode?: 'host';
  limits: { memoryBytes?: number; cpus?: number; pids?: number };
  restart: RestartPolicy;
  /** --rm: remove once it exits (and is not restarted). */
  autoRemove: boolean;
  /** The container's hostname; default: the first 12 digits of its ID (a pod's containers: the pod's name). */
  hostname?: string;
  /** Absent in records made before it existed: those run with the defaults (DEFAULT_SECURITY). */
  security?: SecurityConfig;
  /** docker's --security-opt values as given (the CLI puts a profile file's JSON in place of its path), for inspect. */
  securityOpt?: string[];
  /** A cgroup under the agent's cgroup parent that holds this container's (a pod's, with the pod's limits). */
  cgroup?: string;
  /** Its resolv.conf as given; absent: the host's (loopback nameservers dropped). */
  dns?: DnsSettings;
  /** More /etc/hosts lines. */
  extraHosts?: string[];
  /** docker's -t: the process runs on a pseudo-terminal the monitor holds (attach to it). */
  tty?: boolean;
  /** docker's -i: stdin stays open for whoever attaches (with -t it outlives each attach). */
  openStdin?: boolean;
  /**
   * With openStdin: stdin closes when the first attached client leaves (a pod's stdinOnce).
   * Absent: docker's rule, once unless there is a terminal (which outlives each attach).
   */
  stdinOnce?: boolean;
  /** How its log rotates (docker's json-file --log-opt); absent in older records: DEFAULT_LOG. */
  log?: LogConfig;
}

/** docker's json-file max-size, max-file and compress. */
export interface LogConfig {
  /** Rotate once the current file reaches this size; absent: it grows without bound. */
  maxBytes?: number;
  /** Files kept, the current one included (1: the current file starts over). */
  maxFiles: number;
  /** Rotated files are gzipped. */
  compress?: boolean;
}

/** A container's log when none is asked for: one file, started over at 16 MiB (disks are finite). */
export const DEFAULT_LOG: LogConfig = { maxBytes: 16 * 1024 * 1024, maxFiles: 1 };

/** A resolv.conf: docker's --dns, --dns-search and --dns-option, Kubernetes' pod DNS. */
export interface DnsSettings {
  nameservers: string[];
  searches: string[];
  /** "ndots:5", "edns0". */
  options: string[];
}

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Set when the runtime could not start the process at all ("exec: not found" → 127). */
  error?: string;
  restartCount: number;
  /** When the next automatic restart is due (status 'restarting'). */
  nextRestartAt?: string;
  /** The back-off the latest automatic restart waited: the next one doubles it (restart.ts). */
  restartDelayMs?: number;
  /** The user stopped it: `unless-stopped` and `always` do not bring it back until started. */
  stoppedByUser: boolean;
  /**
   * When `berth pause` froze its processes (docker pause); cleared by unpause, and once its
   * process is signalled to end or has ended. The status stays 'running' meanwhile: its processes
   * exist, as docker's State.Running says of a paused container.
   */
  pausedAt?: string;
  /**
   * When a commit froze the container to read its writable layer (service.ts); cleared once it is
   * thawed. Found at adoption, it says the agent died before the thaw: the supervisor thaws it.
   */
  frozenAt?: string;
  /** How the run before the current one ended (kept across a restart, for a pod's lastState). */
  lastExit?: { exitCode: number; startedAt?: string; finishedAt?: string; error?: string };
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  config: ContainerConfig;
  state: ContainerState;
  network?: { ip?: string; gateway?: string; mac?: string; netns?: string };
}
