// /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written into its directory
// and bind-mounted by the runtime config, as docker does.

import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export async function writeEtcFiles(dir: string, hostname: string, ip: string | undefined, hostNetwork: boolean): Promise<EtcFiles> {
  const files: EtcFiles = {
    hosts: path.join(dir, 'hosts'),
    hostname: path.join(dir, 'hostname'),
    resolvConf: path.join(dir, 'resolv.conf'),
  };
  const hosts = hostNetwork
    ? readHost('/etc/hosts')
    : ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...(ip ? [`${ip}\t${hostname}`] : [])].join('\n') + '\n';
  await fs.writeFile(files.hosts, hosts);
  await fs.writeFile(files.hostname, `${hostname}\n`);
  await fs.writeFile(files.resolvConf, resolvConf(readHost('/etc/resolv.conf'), hostNetwork));
  return files;
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
