// The container runtime: containers as instances of images, run by runc under conmon.
export { buildSpec, mergeEnv, processArgs, DEFAULT_CAPABILITIES, type SpecInput, type VolumeMount } from './spec';
export { resolveUser, type ResolvedUser } from './user';
export { ContainerService, type CreateRequest, type ContainerServiceOptions } from './service';
export { createOciRuntime, StartError, type OciRuntime } from './oci';
export type { ContainerRecord, ContainerConfig, ContainerState, ContainerStatus, RestartPolicy } from './types';
