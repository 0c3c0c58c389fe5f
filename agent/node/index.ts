// The node side of the agent: the cluster. Registers the node with the controller, renews its
// lease, watches the pods bound here, admits each new one (admission.ts) and runs one serialized
// worker per pod (lifecycle in types.ts). Started by the composition root when the agent joins a cluster, stopped before the
// runtime closes; pods' containers outlive it. Reaches the host only through narrow interfaces:
// PodRuntime (the container service), PodCgroups (the runtime's cgroup groups), an image puller
// over the image service, and the container network. Imports oci/, images/, network/, runtime/
// and proto/; never server/.
export { startNodeAgent, type NodeAgentDeps, type RunningNodeAgent } from './node-agent';
export { compileNodeOptions, parseExtendedResource, parseIngressPort, parseLabels, parsePodPidsLimit, parseRestartBackoff, defaultNodeIp } from './config';
export type { NodeOptions, NodeConfig, Clock } from './types';
