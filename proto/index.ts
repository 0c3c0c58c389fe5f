// proto/: the contract every process shares, and the bottom of every import graph (it imports
// none of agent/, controller/ or cli/). What a resource *is* and how failures are named live here
// once, so the CLI, the controller and the agent cannot read the same document differently.
//
//   errors.ts    the one error vocabulary: codes, BerthError, the one map onto gRPC statuses
//   resources/   the documents' types and kinds, defaults, exact quantities, label selectors (pure)
//   trust/       node identities, join tokens and the CA pin they carry, X.509 keys and requests
//   manifests/   YAML/JSON manifests parsed with positions and validated against
//                manifests/schemas (loads yaml and ajv: import it where it is needed, lazily in the CLI)
//   grpc.ts      gRPC services (agent.proto, cluster.proto) and failures as statuses (loads grpc-js)
//   definition.ts, descriptor.ts, gen/   the descriptors compiled at build time (npm run gen)
//
// This file re-exports the pure, light part; the others are imported by their own path.

export * from './errors';
export * from './resources';
