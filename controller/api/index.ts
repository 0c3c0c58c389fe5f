// The controller's gRPC services: Cluster (cluster-api.ts, what the CLI calls) and Node
// (node-api.ts, what agents call). Handlers are thin: convert the wire to objects, call the object
// layer or the node sessions, map errors to statuses (grpc.ts). Beside them, what only exists as
// streams: the watch as clients see it (watch-stream.ts) and the relay of requests to agents over
// the tunnel each keeps open (tunnels.ts).
//
// Lifecycle: the composition root (server.ts) makes the handlers and one Tunnels and adds them to
// its gRPC server; closeAll() on stop ends the agents' tunnels.
//
// Imports: objects/, nodes/, store/ (its error codes) and proto/ (wire types, toServiceError).
// Nothing below imports this folder.

export { clusterHandlers, type ClusterApiDeps } from './cluster-api';
export { nodeHandlers, type NodeApiDeps } from './node-api';
export { Tunnels } from './tunnels';
export { serverCredentials } from './tls';
