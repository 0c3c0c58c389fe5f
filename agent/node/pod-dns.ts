// A pod's /etc/resolv.conf and its Service environment variables, as the kubelet makes them. Pure.
//
// dnsPolicy ClusterFirst (the default): the node's cluster DNS first, the pod's namespace's
// search path, then the host's searches, ndots:5; Default: the host's resolvers; None: only the
// pod's dnsConfig. dnsConfig's nameservers and searches are added after, its options override.
// Without cluster DNS (a node outside a pod network) ClusterFirst is Default, as the kubelet does
// without --cluster-dns.

import type { Pod, Service } from '../../proto/resources';
import type { DnsSettings } from '../runtime';

export const CLUSTER_DOMAIN = 'cluster.local';
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** The host's resolv.conf as settings; loopback nameservers (a local stub) are useless in a pod. */
export function parseResolvConf(text: string): DnsSettings {
  const out: DnsSettings = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const [word, ...rest] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (word === 'nameserver' && rest[0] && !/^(127\.|::1$)/.test(rest[0])) out.nameservers.push(rest[0]);
    else if (word === 'search' || word === 'domain') out.searches = rest.filter(Boolean);
    else if (word === 'options') out.options.push(...rest.filter(Boolean));
  }
  return out;
}

export function podDnsSettings(pod: Pod, clusterDns: string | undefined, host: DnsSettings, domain = CLUSTER_DOMAIN): DnsSettings {
  // A pod on the host's network resolves as the host does unless it asks for the cluster's with
  // ClusterFirstWithHostNet (the kubelet's rule).
  const asked = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const policy = pod.spec.hostNetwork && asked === 'ClusterFirst' ? 'Default' : asked;
  const namespace = pod.metadata.namespace ?? 'default';
  let base: DnsSettings;
  if (policy === 'None') base = { nameservers: [], searches: [], options: [] };
  else if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && clusterDns) {
    base = { nameservers: [clusterDns], searches: [`${namespace}.svc.${domain}`, `svc.${domain}`, domain, ...host.searches], options: ['ndots:5'] };
  } else base = { nameservers: host.nameservers, searches: host.searches, options: host.options };
  const config = pod.spec.dnsConfig ?? {};
  const options = new Map(base.options.map((o) => [o.split(':')[0]!, o]));
  for (const o of config.options ?? []) options.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return {
    nameservers: unique([...base.nameservers, ...config.nameservers ?? []]).slice(0, MAX_NAMESERVERS),
    searches: unique([...base.searches, ...config.searches ?? []]).slice(0, MAX_SEARCHES),
    options: [...options.values()],
  };
}

/** The /etc/hosts line of a pod with hostname and subdomain: its FQDN under the headless Service. */
export function podHostsEntry(pod: Pod, ip: string | undefined, domain = CLUSTER_DOMAIN): string[] {
  const { hostname, subdomain } = pod.spec;
  const own = ip && hostname && subdomain ? [`${ip}\t${hostname}.${subdomain}.${pod.metadata.namespace ?? 'default'}.svc.${domain}\t${hostname}`] : [];
  // hostAliases follow, as the kubelet appends them.
  const aliases = (pod.spec.hostAliases ?? []).filter((a) => (a.hostnames ?? []).length > 0).map((a) => `${a.ip}\t${a.hostnames!.join('\t')}`);
  return aliases.length > 0 ? [...own, '# Entries added by HostAliases.', ...aliases] : own;
}

/**
 * The Services' environment variables a container gets (Kubernetes' and docker links' forms):
 * every Service of the pod's namespace with a cluster IP unless enableServiceLinks is false, and
 * the API's `kubernetes` Service always. The container's own variables win (they come after).
 */
export function serviceEnv(pod: Pod, services: readonly Service[]): string[] {
  const namespace = pod.metadata.namespace ?? 'default';
  const links = pod.spec.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name!;
    // The API's Service, unless the pod's namespace has its own of that name (as the kubelet).
    if (ns === 'default' && name === 'kubernetes') {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (links && ns === namespace) chosen.set(name, svc);
  }
  const env: string[] = [];
  for (const svc of [...chosen.values()].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
    const ip = svc.spec.clusterIP;
    const ports = svc.spec.ports ?? [];
    if (!ip || ip === 'None' || svc.spec.type === 'ExternalName' || ports.length === 0) continue;
    const name = svc.metadata.name!.toUpperCase().replace(/-/g, '_');
    env.push(`${name}_SERVICE_HOST=${ip}`, `${name}_SERVICE_PORT=${ports[0]!.port}`);
    for (const p of ports) if (p.name) env.push(`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}=${p.port}`);
    const first = ports[0]!;
    env.push(`${name}_PORT=${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`);
    for (const p of ports) {
      const protocol = (p.protocol ?? 'TCP');
      const prefix = `${name}_PORT_${p.port}_${protocol}`;
      env.push(`${prefix}=${protocol.toLowerCase()}://${ip}:${p.port}`, `${prefix}_PROTO=${protocol.toLowerCase()}`, `${prefix}_PORT=${p.port}`, `${prefix}_ADDR=${ip}`);
    }
  }
  return env;
}

const unique = (values: string[]) => [...new Set(values)];
