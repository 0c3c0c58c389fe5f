// The controller's public face: start one in this process. This is all the CLI
// (cli/controller-command.ts) may import; tests may reach inside.
//
// Inside, each folder imports only those before it; server.ts and this file sit above them all
// (checked in CI by .dependency-cruiser.cjs, which reads this line):
// Layers: trust | store | admission → services | metrics → objects → nodes → cache → controllers → leader → auth → api
// trust/ is the cluster CA; store/ keeps keys and
// revisions (SQLite, etcd); admission/ is Pod Security (pure: a pod and its namespace's level);
// services/ holds the Services' cluster IPs and node ports (one store key each); objects/ makes them Kubernetes objects (registry, apply, events, admission on pod create);
// nodes/ holds the agents' session rules (epochs, leases); cache/ the informers; controllers/
// each pure planner with its loop; leader/ runs the controllers on one controller only; auth/ says
// who calls and what they may do; api/ the thin gRPC handlers, over TLS; server.ts composes them. proto/ is below them all.

export { startController, ADMIN_USER, DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_CIDR_MASK_SIZE, DEFAULT_LEADER_LEASE_MS, DEFAULT_LISTEN, DEFAULT_NODE_GRACE_PERIOD_MS, DEFAULT_POD_EVICTION_TIMEOUT_MS } from './server';
export type { Controller, ControllerOptions } from './server';
export type { EtcdTransport } from './store';
export { DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR } from './services';
