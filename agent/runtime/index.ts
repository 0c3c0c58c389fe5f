// The container runtime (issue 3): for now the OCI runtime config a container runs with.
export { buildSpec, mergeEnv, processArgs, DEFAULT_CAPABILITIES, type SpecInput, type VolumeMount } from './spec';
export { resolveUser, type ResolvedUser } from './user';
