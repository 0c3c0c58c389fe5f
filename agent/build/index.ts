// berth build: Dockerfiles made into images on this node (types.ts has the lifecycle). Owns
// <data root>/build/ (each build's scratch space) and <data root>/build-cache.json. Imports
// images/, snapshots/, diff/, runtime/ (one-shot containers for RUN), network/, native/, oci/ and proto/.

export { Builder, type BuilderOptions } from './builder';
export { readDockerfile, DockerfileError } from './dockerfile';
export type { BuildEvent, BuildRequest, BuildSink, StepStatus } from './types';
