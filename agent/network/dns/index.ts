// The node-local cluster DNS server: what the rest of the agent may import. The agent makes one
// ClusterDnsServer per host on its bridge's gateway address, feeds it the Services and
// EndpointSlices it watches through update(), and closes it on shutdown (lifecycle in types.ts).
// buildIndex() and answer() are the pure rules of the cluster's names, for tests and tools.

export { ClusterDnsServer, compileDnsServerOptions, startClusterDns } from './server';
export { answer, buildIndex, normalizeName, reverseName } from './records';
export { parseResolvConf, parseUpstream, readResolvConf } from './upstream';
export {
  CLUSTER_TTL, DEFAULT_CLUSTER_DOMAIN, DNS_SCHEMA_VERSION,
  type ClusterAnswer, type ClusterRcode, type CompiledDnsServerOptions, type DnsIndex, type DnsServerOptions,
  type DnsServerStats, type IndexOptions, type Resolution, type Upstream,
} from './types';
