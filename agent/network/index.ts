// The agent's container networking: what others may import, and the factory behind it, which
// drives the CNI plugins (bridge with host-local IPAM; portmap) over namespaces of its own. Each
// namespace is made with its loopback up (agent/native), so the CNI loopback plugin is not run.
//
// Host settings: no sysctl is set here. The plugins set the two this needs themselves: bridge
// ("isGateway") sets net.ipv4.ip_forward=1, and portmap ("snat") sets
// net.ipv4.conf.<bridge>.route_localnet=1 so that 127.0.0.1:HOSTPORT can be DNATed onto the
// bridge. iptables (either backend) is needed by portmap and for the network's own two rules,
// added with its first bridge attachment and removed by destroy (see hostRules): the masquerade
// of what leaves the subnet, and the guard of the host's loopback that route_localnet opens.

import * as fs from 'node:fs/promises';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BerthError, withContext } from '../../proto/errors';
import { addressAt, containsAddress, parseCidr, parseIPv4 } from '../../proto/network/cidr';
import { CNI_VERSION, addNetworkList, delNetworkList, findPlugins, type CniInvoker, type CniNetworkList, type CniResult } from './cni';
import { createNetns, isNetns, prepareNetnsDir, releaseNetnsDir, removeNetns } from './netns';
import {
  portsOverlap, type AttachOptions, type CompiledNetworkOptions, type ContainerNetwork, type NetworkAttachment, type NetworkMode,
  type NetworkOptions, type PodNetworkConfig, type PortInUse, type PortMapping,
} from './types';

export type { CompiledNetworkOptions, ContainerNetwork, NetworkAttachment, NetworkMode, NetworkOptions, PodNetworkConfig, PortInUse, PortMapping } from './types';
export { joinedNetns, portsOverlap } from './types';
export { isNetns } from './netns';
export { planPodRoutes, vtepMac, VTEP_MAC_ANNOTATION, VXLAN_MTU, type PodNetworkBackend, type PodRoutesPlan } from './pod-routes';
export { PodRoutesHost } from './pod-routes-host';
export { ClusterDnsServer } from './dns';
export { planProxy, ServiceProxy, type ProxyInput } from './proxy';
export { ensureBridgeNetfilter, planNetworkPolicies, type PolicyInput } from './policy';
export { IngressServer, planRoutes } from './ingress';

/** The VXLAN device of the pod network: named after the bridge, so that agents of one host (tests) do not share one. */
export function vxlanDeviceFor(bridge: string): string {
  return `${bridge.slice(0, 12)}.vx`;
}

/** A private range seldom used by other tools (docker 172.17/16, podman 10.88/16, libvirt 192.168.122/24). */
/** The nftables table (family ip) of the service proxy of the agent whose bridge this is. */
export function proxyTableFor(bridge: string): string {
  return `berth-${bridge}`;
}

/** The nftables table (family ip) where the agent whose bridge this is enforces NetworkPolicies. */
export function policyTableFor(bridge: string): string {
  return `berth-np-${bridge}`;
}

export const DEFAULT_SUBNET = '10.222.0.0/16';
export const DEFAULT_BRIDGE = 'berth0';
export const DEFAULT_CNI_PATH = '/usr/lib/cni';

const CONTAINER_IFNAME = 'eth0';
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const exec = promisify(execFile);

export function createContainerNetwork(options: NetworkOptions): ContainerNetwork {
  return new CniContainerNetwork(compileNetworkOptions(options));
}

export function compileNetworkOptions(options: NetworkOptions): CompiledNetworkOptions {
  const bridge = options.bridge ?? DEFAULT_BRIDGE;
  // IFNAMSIZ is 16 with the NUL; the name also names the CNI network, its IPAM dir and iptables comments.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(bridge)) throw new BerthError('invalid-argument', `network bridge name ${JSON.stringify(bridge)}: 1 to 15 letters, digits, '_', '.', '-'`);
  const subnet = options.subnetFromCluster ? undefined : options.subnet ?? DEFAULT_SUBNET;
  if (subnet !== undefined) checkSubnet(subnet);
  const timeout = options.pluginTimeoutMs ?? 60_000;
  if (!(timeout > 0)) throw new BerthError('invalid-argument', `network plugin timeout ${timeout}: must be positive`);
  const runDir = path.resolve(options.runDir);
  return {
    runDir,
    netnsDir: path.join(runDir, 'netns'),
    recordDir: path.join(runDir, 'attachments'),
    ipamDir: path.join(path.resolve(options.stateDir), 'ipam'),
    bridge,
    subnet,
    cniPath: (options.cniPath ?? DEFAULT_CNI_PATH).split(':').filter((d) => d !== ''),
    pluginTimeoutMs: timeout,
  };
}

function checkSubnet(subnet: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnet);
  const octets = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  const bad = (why: string) => new BerthError('invalid-argument', `network subnet ${JSON.stringify(subnet)}: ${why}`);
  if (!m || octets.some((o) => o > 255)) throw bad('not an IPv4 CIDR like 10.222.0.0/16');
  // Below /30 there is no room for the gateway and one container.
  if (prefix < 8 || prefix > 30) throw bad('prefix length must be 8 to 30');
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  if (addr % 2 ** (32 - prefix) !== 0) throw bad('host bits are set');
}

/** Refuses what portmap would mishandle silently (IPv6 host address on this IPv4 network, duplicates). */
function checkPorts(ports: PortMapping[]): void {
  const seen = new Set<string>();
  for (const p of ports) {
    const spec = `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}:${p.containerPort}/${p.protocol}`;
    const bad = (why: string) => new BerthError('invalid-argument', `port mapping ${spec}: ${why}`);
    for (const port of [p.hostPort, p.containerPort]) if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('ports are 1 to 65535');
    if (p.protocol !== 'tcp' && p.protocol !== 'udp') throw bad('protocol is tcp or udp');
    if (p.hostIp !== '' && !net.isIPv4(p.hostIp)) throw bad('host address must be IPv4');
    const key = `${p.hostIp || '0.0.0.0'}:${p.hostPort}/${p.protocol}`;
    if (seen.has(key)) throw bad('host port published twice');
    seen.add(key);
  }
}

/** What attach recorded for a container: enough for detach to DEL exactly what ADD made, after a restart too. */
interface AttachmentRecord {
  id: string;
  mode: 'bridge' | 'none';
  netns: string;
  ports: PortMapping[];
  /** Set once every ADD succeeded; a record without it is an attach that was interrupted. */
  complete: boolean;
  /** The network lists as they were ADDed (DEL must see the same configuration), and their results. */
  network?: CniNetworkList;
  /** Records of agents that still ran the CNI loopback plugin: DELed as ADDed. */
  loopback?: CniNetworkList;
  result?: CniResult;
}

class CniContainerNetwork implements ContainerNetwork {
  private readonly cni: CniInvoker;
  private readonly locks = new Map<string, Promise<unknown>>();
  private ready: Promise<void> | undefined;
  private hostRulesAdded: Promise<void> | undefined;
  /** The cluster's pod network, once usePodNetwork named it. */
  private podNetwork: PodNetworkConfig | undefined;
  private subnetKnown: Promise<void>;
  private subnetNamed: () => void = () => {};

  constructor(private readonly opts: CompiledNetworkOptions) {
    this.cni = { cniPath: opts.cniPath, timeoutMs: opts.pluginTimeoutMs };
    this.subnetKnown = opts.subnet !== undefined ? Promise.resolve() : new Promise((resolve) => (this.subnetNamed = resolve));
  }

  async usePodNetwork(config: PodNetworkConfig): Promise<void> {
    checkSubnet(config.podCidr);
    const podCidr = parseCidr(config.podCidr, 'pod CIDR');
    // The bridge keeps the address of the subnet it was made for (an earlier agent's --subnet):
    // then it is made again, unless containers hold addresses on it.
    const stale = (await bridgeAddresses(this.opts.bridge)).filter((a) => !containsAddress(podCidr, parseIPv4(a) ?? -1));
    if (stale.length > 0 || (this.opts.subnet !== undefined && this.opts.subnet !== config.podCidr)) {
      const attached = (await Promise.all((await this.list()).map((id) => this.readRecord(id).catch(() => undefined)))).filter((r) => r?.mode === 'bridge');
      if (attached.length > 0) {
        throw new BerthError('failed-precondition', `network ${this.opts.bridge}: ${attached.length} container(s) have addresses on ${this.opts.subnet ?? stale.join(', ')}, not on the node's pod CIDR ${config.podCidr}: remove them, then restart the agent`);
      }
      if (this.opts.subnet !== undefined) for (const rule of this.hostRules()) while (await this.hostRule(rule, '-D').then(() => true, () => false)) { /* until none */ }
      this.hostRulesAdded = undefined;
      await exec('ip', ['link', 'del', 'dev', this.opts.bridge]).catch(() => undefined);
    }
    this.opts.subnet = config.podCidr;
    this.podNetwork = config;
    // The bridge is made now, with the pods' gateway address, rather than by the first pod's
    // attach: the node's cluster DNS listens on that address before any pod asks it.
    if (!(await bridgeAddresses(this.opts.bridge)).includes(addressAt(podCidr, 1))) {
      await exec('ip', ['link', 'add', 'name', this.opts.bridge, 'type', 'bridge']).catch(() => undefined);
      await exec('ip', ['addr', 'add', `${addressAt(podCidr, 1)}/${podCidr.prefix}`, 'dev', this.opts.bridge]);
    }
    await exec('ip', ['link', 'set', 'dev', this.opts.bridge, 'up']);
    this.subnetNamed();
  }

  async attach(id: string, mode: NetworkMode, ports: PortMapping[], options: AttachOptions = {}): Promise<NetworkAttachment | undefined> {
    checkId(id);
    if (mode !== 'bridge' && mode !== 'none' && mode !== 'host') throw new BerthError('invalid-argument', `network mode ${JSON.stringify(mode)}: bridge, none or host`);
    if (mode === 'host') return undefined;
    if (mode === 'none' && ports.length > 0) throw new BerthError('invalid-argument', `container ${id}: ports cannot be published with network mode none`);
    checkPorts(ports);
    return this.serialized(id, () => this.attachLocked(id, mode, ports, options));
  }

  async detach(id: string): Promise<void> {
    checkId(id);
    return this.serialized(id, async () => {
      const record = await this.readRecord(id);
      // No record: at most a namespace file made by hand or by a crash between the two.
      if (record === undefined) await removeNetns(this.netnsOf(id));
      else await this.teardown(record);
    });
  }

  async list(): Promise<string[]> {
    const names = async (dir: string) => (await fs.readdir(dir).catch(() => [] as string[]));
    const ids = new Set<string>();
    for (const f of await names(this.opts.recordDir)) if (f.endsWith('.json')) ids.add(f.slice(0, -'.json'.length));
    for (const f of await names(this.opts.netnsDir)) ids.add(f);
    return [...ids].filter((id) => ID_PATTERN.test(id)).sort();
  }

  async has(id: string): Promise<boolean> {
    if (!ID_PATTERN.test(id)) return false;
    const exists = (p: string) => fs.access(p).then(() => true, () => false);
    return (await exists(this.recordOf(id))) || (await exists(this.netnsOf(id)));
  }

  async portsInUse(ports: PortMapping[], except?: string): Promise<PortInUse[]> {
    const found: PortInUse[] = [];
    const records = (await this.list()).filter((id) => id !== except);
    const published = await Promise.all(records.map(async (id) => ({ id, ports: (await this.readRecord(id).catch(() => undefined))?.ports ?? [] })));
    for (const port of ports) {
      const attachment = published.find((a) => a.ports.some((p) => portsOverlap(p, port)));
      if (attachment) found.push({ port, holder: { attachment: attachment.id } });
      else if (await boundOnHost(port)) found.push({ port, holder: 'host' });
    }
    return found;
  }

  async destroy(): Promise<void> {
    const left = await this.list();
    if (left.length > 0) throw new BerthError('failed-precondition', `network ${this.opts.bridge}: ${left.length} attachment(s) remain (${left.slice(0, 5).join(', ')})`);
    try {
      await exec('ip', ['link', 'del', 'dev', this.opts.bridge]);
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? '');
      if (!/Cannot find device|does not exist/.test(stderr)) throw new BerthError('internal', `remove bridge ${this.opts.bridge}: ${stderr.trim()}`, { cause: err });
    }
    // -D removes one copy; two agents racing on -C/-A could have added two. No subnet yet (a
    // cluster node that never got its pod CIDR): no rule was added.
    for (const rule of this.opts.subnet === undefined ? [] : this.hostRules()) {
      while (await this.hostRule(rule, '-D').then(() => true, () => false)) { /* until none is left */ }
    }
    this.hostRulesAdded = undefined;
    await releaseNetnsDir(this.opts.netnsDir);
    this.ready = undefined;
    // host-local keeps a lock and its last reservation there; leases (files named by address) would mean a leak, so keep those.
    const ipamNet = path.join(this.opts.ipamDir, this.opts.bridge);
    const entries = await fs.readdir(ipamNet).catch(() => [] as string[]);
    if (!entries.some((e) => net.isIPv4(e))) await fs.rm(ipamNet, { recursive: true, force: true });
  }

  private async attachLocked(id: string, mode: 'bridge' | 'none', ports: PortMapping[], options: AttachOptions): Promise<NetworkAttachment> {
    const existing = await this.readRecord(id);
    if (existing?.complete && (await isNetns(existing.netns))) {
      await options.whileConnecting?.(existing.netns);
      return attachmentOf(existing);
    }
    // An interrupted attach, or a namespace lost (reboot): start over from nothing.
    if (existing) await this.teardown(existing);
    this.ready ??= this.prepare();
    await this.ready;
    if (mode === 'bridge') {
      // On a cluster node the subnet is the node's pod CIDR, which the controller names.
      await this.subnetKnown;
      this.hostRulesAdded ??= Promise.all(this.hostRules().map((r) => this.hostRule(r, '-C').catch(() => this.hostRule(r, r.add)))).then(() => undefined);
      await this.hostRulesAdded.catch((err: unknown) => {
        this.hostRulesAdded = undefined;
        throw withContext(`container ${id} network`, err);
      });
    }
    const record: AttachmentRecord = {
      id, mode, netns: this.netnsOf(id), ports, complete: false,
      network: mode === 'bridge' ? this.bridgeList(ports) : undefined,
    };
    // A missing plugin fails here, with nothing made, rather than in a rollback that needs it too.
    try {
      if (record.network) await findPlugins(this.cni, record.network);
    } catch (err) {
      throw withContext(`container ${id} network`, err);
    }
    // Written before anything is made, so that whatever a crash leaves is found by list() and detach().
    await this.writeRecord(record);
    let callerFailed = false;
    try {
      await createNetns(record.netns);
      const connecting = (async () => {
        if (record.network) {
          record.result = await addNetworkList(this.cni, record.network, {
            containerId: id, netns: record.netns, ifName: CONTAINER_IFNAME, capabilityArgs: capabilityArgs(ports),
          });
        }
      })();
      // The caller's work on the namespace (a runtime creating the container in it) overlaps the
      // plugins; its failure is its own and is passed on as it is.
      const [added, own] = await Promise.allSettled([
        connecting,
        Promise.resolve(options.whileConnecting?.(record.netns)).catch((err: unknown) => {
          callerFailed = true;
          throw err;
        }),
      ]);
      if (own.status === 'rejected') throw own.reason;
      if (added.status === 'rejected') throw added.reason;
      record.complete = true;
      await this.writeRecord(record);
      return attachmentOf(record);
    } catch (err) {
      // A failed cleanup keeps the record and the namespace: list() shows them and detach retries.
      const cleaned = await this.teardown(record).then(() => true, () => false);
      if (callerFailed) throw err;
      throw withContext(`container ${id} network`, cleaned ? err : new BerthError(codeOfAny(err), `${(err as Error).message} (cleanup incomplete: detach to retry)`, { cause: err }));
    }
  }

  /**
   * DEL everything a record says was (or may have been) ADDed, then the namespace, then the record.
   * CNI DEL is idempotent, so a partial attach is torn down the same way as a complete one. On a
   * DEL failure the namespace and the record stay, so a retry can still DEL inside it.
   */
  private async teardown(record: AttachmentRecord): Promise<void> {
    const live = await isNetns(record.netns);
    // Plugins accept an empty CNI_NETNS on DEL (the namespace is gone: only host-side state is left to release).
    const netns = live ? record.netns : '';
    if (record.network) {
      await delNetworkList(this.cni, record.network, {
        containerId: record.id, netns, ifName: CONTAINER_IFNAME, capabilityArgs: capabilityArgs(record.ports),
      }, record.result);
    }
    if (live && record.loopback) await delNetworkList(this.cni, record.loopback, { containerId: record.id, netns, ifName: 'lo' }, undefined);
    await removeNetns(record.netns);
    await fs.rm(this.recordOf(record.id), { force: true });
  }

  private bridgeList(ports: PortMapping[]): CniNetworkList {
    const { bridge, subnet, ipamDir } = this.opts;
    const mtu = this.podNetwork?.mtu;
    const plugins: CniNetworkList['plugins'] = [{
      type: 'bridge',
      bridge,
      isGateway: true,
      ...(mtu ? { mtu } : {}),
      // Outbound masquerading is one rule per network (hostRules), not bridge's ipMasq:
      // its per-container rules can only be removed by a DEL that still finds the namespace.
      ipMasq: false,
      // A container reaching its own published port comes back through the same veth.
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
    }];
    // Without ports portmap has nothing to do; leaving it out saves two execs per container.
    if (ports.length > 0) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
    return { cniVersion: CNI_VERSION, name: bridge, plugins };
  }

  /**
   * The network's own rules in the host's tables, each marked "berth <bridge> ..." so that it is
   * found again (after an agent restart too) and removed by destroy:
   *
   * - masquerade: what leaves the subnet for anywhere but the bridge goes out with the host's
   *   address, as docker's default bridge does; on a cluster node, except to the cluster's pod
   *   CIDR (pods see each other's own addresses, Kubernetes' network model).
   * - the loopback guard (CVE-2020-8558): portmap's route_localnet=1 on the bridge, needed to
   *   DNAT 127.0.0.1:HOSTPORT, also makes the host accept packets a pod sends to 127.0.0.0/8, so
   *   a pod could reach whatever the host serves on its loopback only. Kubernetes' rule drops
   *   them unless they belong to a connection the host made or DNATed (a published port); here it
   *   is scoped to this bridge, the only interface route_localnet is set on. Inserted first in
   *   INPUT, so that no earlier ACCEPT lets them by.
   */
  private hostRules(): HostRule[] {
    const { bridge } = this.opts;
    const subnet = this.opts.subnet!;
    const cluster = this.podNetwork ? ['!', '-d', this.podNetwork.clusterCidr] : [];
    return [
      {
        what: `masquerade for ${subnet}`, table: 'nat', chain: 'POSTROUTING', add: '-A',
        spec: ['-s', subnet, '!', '-o', bridge, ...cluster, '-m', 'comment', '--comment', `berth ${bridge} masquerade`, '-j', 'MASQUERADE'],
      },
      {
        what: `loopback guard for ${bridge}`, table: 'filter', chain: 'INPUT', add: '-I',
        spec: ['-i', bridge, '-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'comment', '--comment', `berth ${bridge} block incoming localnet connections`,
          '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'],
      },
    ];
  }

  /** Check (-C), add (-A / -I) or delete (-D) one of the network's host rules. */
  private async hostRule(rule: HostRule, op: '-C' | '-A' | '-I' | '-D'): Promise<void> {
    try {
      await exec('iptables', ['-w', '-t', rule.table, op, rule.chain, ...rule.spec]);
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).replace(/\s+/g, ' ').trim();
      throw new BerthError('internal', `iptables ${op} ${rule.what}: ${stderr}`, { cause: err });
    }
  }

  private async prepare(): Promise<void> {
    await fs.mkdir(this.opts.recordDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.opts.ipamDir, { recursive: true, mode: 0o700 });
    await prepareNetnsDir(this.opts.netnsDir);
  }

  private netnsOf(id: string): string {
    return path.join(this.opts.netnsDir, id);
  }

  private recordOf(id: string): string {
    return path.join(this.opts.recordDir, `${id}.json`);
  }

  private async readRecord(id: string): Promise<AttachmentRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.recordOf(id), 'utf8')) as AttachmentRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw withContext(`container ${id} network record`, err);
    }
  }

  private async writeRecord(record: AttachmentRecord): Promise<void> {
    // Renamed into place: a crash leaves the old record or the new one, never half of one.
    const file = this.recordOf(record.id);
    await fs.mkdir(this.opts.recordDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(`${file}.tmp`, JSON.stringify(record));
    await fs.rename(`${file}.tmp`, file);
  }

  /** One operation per id at a time; the next waits for the previous whatever its outcome. */
  private serialized<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }
}

interface HostRule {
  /** For messages: "masquerade for 10.222.0.0/16". */
  what: string;
  table: 'nat' | 'filter';
  chain: string;
  /** Appended, or inserted first. */
  add: '-A' | '-I';
  spec: string[];
}

/** The IPv4 addresses on a device; none when it does not exist. */
async function bridgeAddresses(device: string): Promise<string[]> {
  try {
    const { stdout } = await exec('ip', ['-j', 'addr', 'show', 'dev', device]);
    const links = JSON.parse(stdout) as Array<{ addr_info?: Array<{ family?: string; local?: string }> }>;
    return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => a.local!);
  } catch {
    return [];
  }
}

/**
 * Whether a socket of the host holds the port: binding it (and letting go at once) fails with
 * EADDRINUSE. A wildcard bind also meets a process listening on one address (127.0.0.1 too).
 * Any other failure (an address not on this host) is not "in use": the plugins will say more.
 */
async function boundOnHost(p: PortMapping): Promise<boolean> {
  const address = p.hostIp && p.hostIp !== '0.0.0.0' ? p.hostIp : '0.0.0.0';
  const inUse = (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE';
  if (p.protocol === 'udp') {
    const socket = dgram.createSocket({ type: 'udp4' });
    return new Promise((resolve) => {
      socket.once('error', (err) => {
        socket.close();
        resolve(inUse(err));
      });
      socket.bind({ port: p.hostPort, address, exclusive: true }, () => socket.close(() => resolve(false)));
    });
  }
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(inUse(err)));
    server.listen({ port: p.hostPort, host: address, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

function checkId(id: string): void {
  // The CNI spec's container ID alphabet, which also makes it a safe file name.
  if (!ID_PATTERN.test(id)) throw new BerthError('invalid-argument', `container id ${JSON.stringify(id)}: letters, digits, '_', '.', '-' only`);
}

function capabilityArgs(ports: PortMapping[]): Record<string, unknown> {
  return {
    portMappings: ports.map((p) => ({
      hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol,
      ...(p.hostIp && p.hostIp !== '0.0.0.0' ? { hostIP: p.hostIp } : {}),
    })),
  };
}

/** The container side of a bridge result: the address on eth0 inside our namespace. */
function attachmentOf(record: AttachmentRecord): NetworkAttachment {
  const attachment: NetworkAttachment = { netns: record.netns, ports: record.ports };
  const result = record.result;
  if (!result) return attachment;
  const index = result.interfaces?.findIndex((i) => i.name === CONTAINER_IFNAME && i.sandbox !== undefined) ?? -1;
  const ip = result.ips?.find((i) => i.interface === index) ?? result.ips?.[0];
  if (index >= 0) attachment.mac = result.interfaces![index].mac;
  if (ip) {
    const [address, prefix] = ip.address.split('/');
    attachment.ip = address;
    attachment.prefixLength = Number(prefix);
    if (ip.gateway) attachment.gateway = ip.gateway;
  }
  return attachment;
}

const codeOfAny = (err: unknown) => (err instanceof BerthError ? err.code : 'internal');
