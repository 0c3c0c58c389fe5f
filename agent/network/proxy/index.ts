// The service proxy: what the agent may use. planProxy decides (pure), ServiceProxy applies;
// diffRuleset and renderRuleset are exported for tests and the bench. See types.ts.

export type {
  BaseChainSpec, CompiledServiceProxyOptions, ElementGroup, NftChain, NftHook, NftMap, NftSet, ProxyInput, ProxyRuleset, ServiceProxyOptions, SyncResult,
} from './types';
export { nameBase } from './plan';
export { planProxy, servicePortNameBase, endpointNameBase, spreadChain, SPREAD_CHAINS_ALWAYS, MASQUERADE_MARK, DEFAULT_AFFINITY_TIMEOUT_SECONDS } from './plan';
export { diffRuleset, renderRuleset, TABLE_COMMENT } from './diff';
export { ServiceProxy, compileServiceProxyOptions } from './proxy-host';
