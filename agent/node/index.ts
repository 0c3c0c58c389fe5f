// The node side of the agent: what the rest of the agent may import.
export { startNodeAgent, type NodeAgentDeps, type RunningNodeAgent } from './node-agent';
export { compileNodeOptions, parseLabels, defaultNodeIp } from './config';
export type { NodeOptions, NodeConfig, Clock } from './types';
