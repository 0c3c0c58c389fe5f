// The node IPAM planner's decisions (pure); the loop is ./loop.ts.
export { plan, NODE_IPAM_CONTROLLER, POD_NETWORK_BACKENDS, type PodNetworkBackend, type PodNetworkOptions, type AssignPodCidr, type NodeIpamAction } from './plan';
