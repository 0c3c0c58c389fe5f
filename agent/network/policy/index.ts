// Network policy enforcement: what the agent may use. planNetworkPolicies decides (pure); the
// service proxy's executor (ServiceProxy, one nftables table per instance) applies. See types.ts.

export type { PolicyInput } from './types';
export { planNetworkPolicies, podChain, policyChain } from './plan';
export { ensureBridgeNetfilter } from './bridge-netfilter';
