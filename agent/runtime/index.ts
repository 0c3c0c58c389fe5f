// The container runtime: containers as instances of images, run by runc under a per-container
// monitor (conmon), with their records, logs, exits and restart policies; confined by default
// (seccomp.ts: Docker's default profile; apparmor.ts: the host's container profile, if loaded) and
// grouped in cgroups that carry shared limits (cgroups.ts: a pod's).
//
// Owns <data root>/containers/ (one directory per container: record, bundle, writable layer,
// log) through the container store, which the composition root opens first, and runc's state
// under the run dir. Opened once with narrow interfaces: an ImageStore (images/), a
// ContainerSnapshotter (snapshots/), the OCI runtime and the container network; on open it adopts
// what an earlier agent left (containers outlive the agent). Imports native/, oci/, diff/,
// snapshots/, images/ (types), network/ and proto/; never node/ or server/.

export { buildSpec, mergeEnv, processArgs, DEFAULT_CAPABILITIES, DEFAULT_SECURITY, type SpecInput, type VolumeMount } from './spec';
export {
  compileProfile, defaultProfile, parseProfile, seccompFor, type LinuxSeccomp, type SeccompHost, type SeccompProfile, type SeccompSetting,
  type SecurityConfig,
} from './seccomp';
export { CgroupGroups, checkGroupName, effectivePidsLimit, type GroupLimits } from './cgroups';
export { appArmorProfileFor, chooseAppArmorProfile, hostAppArmorEnabled, hostAppArmorProfile, type AppArmorRequest } from './apparmor';
export { resolveUser, type ResolvedUser } from './user';
export { ContainerService, imageFiles, type CommitOptions, type CreateRequest, type ContainerServiceOptions } from './service';
export { clearOneShots, runOnce, type OneShot, type OneShotRuntime } from './run-once';
export { ContainerStore } from './store';
export type { ContainerSize } from './inspection';
export { createOciRuntime, StartError, type ExitInfo, type OciRuntime } from './oci';
export type { LogLine, LogOptions } from './logs';
export type { AttachSession } from './attach';
export type { PathStat } from './archive';
export { parseCpus, parseLogOptions, parseMemory, parsePidsLimit, parsePort, parseSecurityOpts, parseVolume } from './options';
export { DEFAULT_LOG } from './types';
export { ClientTerminal } from './runc';
export {
  DOCKER_RESTART_BACKOFF, KUBELET_RESTART_BACKOFF, nextRestartDelay, parseRestartPolicy, restartDelay,
} from './restart';
export type {
  ContainerRecord, ContainerConfig, ContainerState, ContainerStatus, DnsSettings, LogConfig, RestartBackoff, RestartPolicy,
} from './types';
