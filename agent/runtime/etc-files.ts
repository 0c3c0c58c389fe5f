// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written into its directory
// and bind-mounted by the runtime config, as docker does.

import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { DnsSettings } from './types';

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface EtcNames {
  hostname: string;
  /** The resolv.conf to write; absent: the host's. */
  dns?: DnsSettings;
  extraHosts?: string[];
}

export async function writeEtcFiles(dir: string, names: EtcNames, ip: string | undefined, hostNetwork: boolean): Promise<EtcFiles> {
  const files: EtcFiles = {
    hosts: path.join(dir, 'hosts'),
    hostname: path.join(dir, 'hostname'),
    resolvConf: path.join(dir, 'resolv.conf'),
  };
  const { hostname } = names;
  const hosts = hostNetwork
    ? readHost('/etc/hosts')
    : ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...(ip ? [`${ip}\t${hostname}`] : []), ...(names.extraHosts ?? [])].join('\n') + '\n';
  await fs.writeFile(files.hosts, hosts);
  await fs.writeFile(files.hostname, `${hostname}\n`);
  await fs.writeFile(files.resolvConf, names.dns ? formatResolvConf(names.dns) : resolvConf(readHost('/etc/resolv.conf'), hostNetwork));
  return files;
}

/** resolv.conf text: nameserver lines, one search line, one options line. */
export function formatResolvConf(dns: DnsSettings): string {
  return [
    ...dns.nameservers.map((n) => `nameserver ${n}`),
    ...(dns.searches.length ? [`search ${dns.searches.join(' ')}`] : []),
    ...(dns.options.length ? [`options ${dns.options.join(' ')}`] : []),
  ].join('\n') + '\n';
}

const readHost = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/**
 * The host's resolv.conf; in a container's own network namespace a loopback nameserver (a local
 * stub resolver) is unreachable, so those lines are dropped, as docker drops them.
 */
export function resolvConf(host: string, hostNetwork: boolean): string {
  if (hostNetwork) return host;
  return host
    .split('\n')
    .filter((line) => !/^\s*nameserver\s+(127\.|::1\s*$)/.test(line))
    .join('\n');
}
