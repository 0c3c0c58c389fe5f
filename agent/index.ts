// The agent: one per host, the node's container engine (images, snapshots, containers, network)
// and, when it joins a cluster, the controller's hands on this host. This is its public entry:
// what cli/ (the `berth agent` command) may import. Everything else under agent/ is internal.
//
// Imports point one way. Each folder imports only folders to its left (and proto/, the shared
// contract), bottom to top; agent.ts and this file sit above them all (checked in CI by
// .dependency-cruiser.cjs, which reads this line):
//
// Layers: native → oci → content → diff → snapshots → images → network → runtime → build → node → server
//
//   native     the berth_fs addon: confined filesystem, mount, namespace and xattr calls
//   oci        digests, media types, descriptors, image configs, references, platforms, schemas
//   content    the content store: blobs by digest, verified before they are visible
//   diff       layer diffs: tar reader and writer, decompress, apply (confined), compare
//   snapshots  layer snapshots by chain ID; each container's writable layer and its overlay mount
//   images     image records, registry client, pull, push, save, load, commit's layer import
//   network    CNI networks, namespaces, published ports
//   runtime    containers over narrow ImageStore and ContainerSnapshotter interfaces; runc, conmon
//   build      Dockerfiles into images: stages, steps (RUN as one-shot runc containers), the cache
//   node       the cluster side: pod workers over a narrow PodRuntime
//   server     gRPC handlers for local clients
//   agent.ts   the composition root: opens each subsystem once and wires them together

export {
  DEFAULT_CGROUP_PARENT, DEFAULT_DATA_ROOT, DEFAULT_RUN_DIR, DEFAULT_SOCKET, startAgent, type AgentOptions, type RunningAgent,
} from './agent';
export { parseExtendedResource, parseIngressPort, parseLabels, parsePodPidsLimit, parseRestartBackoff, type NodeOptions } from './node';
