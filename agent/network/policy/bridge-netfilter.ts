// Traffic between two pods of one node crosses the pods' bridge without being routed; only with
// br_netfilter (and bridge-nf-call-iptables on, per network namespace) do the IP hooks, and so the
// policy chains, see it. Kubernetes' network plugins ask the same of the host.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const SYSCTL = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/** Make bridged IPv4 traffic pass the IP hooks; a line for the log when it cannot be done, else undefined. */
export function ensureBridgeNetfilter(): string | undefined {
  if (!fs.existsSync(SYSCTL)) spawnSync('modprobe', ['br_netfilter'], { stdio: 'ignore' });
  try {
    if (fs.readFileSync(SYSCTL, 'utf8').trim() !== '1') fs.writeFileSync(SYSCTL, '1');
    return undefined;
  } catch (err) {
    return `network policies: traffic between two pods of this node is not filtered: cannot turn on ${SYSCTL} (${(err as Error).message}; is the br_netfilter module available?)`;
  }
}
