// The service network's holds in the store: one key per cluster IP and per node port, created
// (compare-and-swap: it must not exist) before the Service that takes it is written. The store's
// create is the one arbiter, so two controllers on one etcd never give an address twice.

import { randomInt } from 'node:crypto';
import { addressAt, containsAddress, formatCidr, parseIPv4, size } from '../../proto/network/cidr';
import { BerthError } from '../../proto/errors';
import type { Service } from '../../proto/resources';
import { StoreError, type Store } from '../store';
import { carryAllocations, needsClusterIP, needsNodePorts, requestedClusterIP } from './rules';
import type { Allocated, Hold, ServiceAllocations, ServiceNetworkOptions } from './types';

export const CLUSTER_IP_PREFIX = '/berth/allocations/clusterips/';
export const NODE_PORT_PREFIX = '/berth/allocations/nodeports/';

/** Holds younger than this are left to the create or update that is taking them. */
export const REPAIR_GRACE_MS = 60_000;


export class ServiceAllocator implements ServiceAllocations {
  constructor(private readonly store: Store, readonly options: ServiceNetworkOptions, private readonly now: () => number = Date.now) {}

  /** The Service CIDR's first address: the `kubernetes` Service's, as Kubernetes reserves it. */
  apiServiceIP(): string {
    return addressAt(this.options.serviceCidr, 1);
  }

  async allocate(service: Service): Promise<Allocated> {
    const out = structuredClone(service);
    const taken: string[] = [];
    const undo = () => this.drop(taken);
    try {
      if (needsClusterIP(out)) {
        const ip = await this.holdClusterIP(out, requestedClusterIP(out));
        taken.push(CLUSTER_IP_PREFIX + ip);
        out.spec.clusterIP = ip;
        out.spec.clusterIPs = [ip];
      } else if (out.spec.clusterIP === 'None') {
        out.spec.clusterIPs = ['None'];
      }
      if (needsNodePorts(out)) taken.push(...await this.holdNodePorts(out, new Set()));
      return { service: out, undo };
    } catch (err) {
      await undo();
      throw err;
    }
  }

  async change(previous: Service, next: Service): Promise<Allocated & { done(): Promise<void> }> {
    const out = carryAllocations(previous, next);
    const taken: string[] = [];
    const undo = () => this.drop(taken);
    try {
      const hadIP = needsClusterIP(previous) && previous.spec.clusterIP && previous.spec.clusterIP !== 'None';
      if (needsClusterIP(out) && !hadIP) {
        // From ExternalName to a type with a virtual IP.
        const ip = await this.holdClusterIP(out, requestedClusterIP(out));
        taken.push(CLUSTER_IP_PREFIX + ip);
        out.spec.clusterIP = ip;
        out.spec.clusterIPs = [ip];
      }
      if (!needsClusterIP(out) && out.spec.clusterIP !== 'None') {
        delete out.spec.clusterIP;
        delete out.spec.clusterIPs;
      }
      const previousPorts = needsNodePorts(previous) ? new Set(nodePortsOf(previous)) : new Set<number>();
      if (needsNodePorts(out)) taken.push(...await this.holdNodePorts(out, previousPorts));
      else for (const p of out.spec.ports ?? []) delete p.nodePort;
    } catch (err) {
      await undo();
      throw err;
    }
    const done = async () => {
      const keep = new Set(heldKeys(out));
      await this.drop(heldKeys(previous).filter((k) => !keep.has(k)));
    };
    return { service: out, undo, done };
  }

  async release(service: Service): Promise<void> {
    await this.drop(heldKeys(service), service.metadata.uid);
  }

  /**
   * Give back holds no Service names any more (a controller died between the hold and the write),
   * leaving young ones to the writes taking them. Returns the keys given back.
   */
  async repair(services: readonly Service[]): Promise<string[]> {
    const named = new Set(services.flatMap(heldKeys));
    const released: string[] = [];
    for (const prefix of [CLUSTER_IP_PREFIX, NODE_PORT_PREFIX]) {
      const { items } = await this.store.list(prefix);
      for (const kv of items) {
        if (named.has(kv.key)) continue;
        const hold = parseHold(kv.value);
        if (hold && this.now() - hold.at < REPAIR_GRACE_MS) continue;
        await this.store.delete(kv.key, kv.modRevision).then(() => released.push(kv.key), ignoreGone);
      }
    }
    return released;
  }

  private async holdClusterIP(service: Service, asked: string): Promise<string> {
    const cidr = this.options.serviceCidr;
    if (asked) {
      const fail = (why: string) => new BerthError('invalid-argument',
        `Service "${service.metadata.name}" is invalid: spec.clusterIPs: Invalid value: []string{${JSON.stringify(asked)}}: failed to allocate IP ${asked}: ${why}`);
      const address = parseIPv4(asked);
      const first = cidr.base + 1;
      const last = cidr.base + size(cidr) - 2;
      if (address === undefined || !containsAddress(cidr, address) || address < first || address > last) {
        throw fail(`the provided IP (${asked}) is not in the valid range. The range of valid IPs is ${formatCidr(cidr)}`);
      }
      if (!(await this.tryHold(CLUSTER_IP_PREFIX + asked, service))) throw fail('provided IP is already allocated');
      return asked;
    }
    // Random among the free ones, as Kubernetes' allocator picks: two controllers rarely race for one.
    const { items } = await this.store.list(CLUSTER_IP_PREFIX);
    const used = new Set(items.map((kv) => kv.key.slice(CLUSTER_IP_PREFIX.length)));
    // The first address is the API's Service; the network and broadcast addresses are no one's.
    const count = size(cidr) - 3;
    for (let attempt = 0; attempt < 64 && used.size < count; attempt++) {
      const ip = addressAt(cidr, 2 + randomInt(count));
      if (used.has(ip)) continue;
      if (await this.tryHold(CLUSTER_IP_PREFIX + ip, service)) return ip;
      used.add(ip);
    }
    for (let offset = 2; offset < size(cidr) - 1; offset++) {
      const ip = addressAt(cidr, offset);
      if (!used.has(ip) && (await this.tryHold(CLUSTER_IP_PREFIX + ip, service))) return ip;
    }
    throw new BerthError('resource-exhausted', `Internal error occurred: failed to allocate a serviceIP: range is full (${formatCidr(cidr)})`);
  }

  /** Hold every port's node port that `owned` does not hold already; returns the keys taken. */
  private async holdNodePorts(service: Service, owned: Set<number>): Promise<string[]> {
    const { min, max } = this.options.nodePorts;
    const taken: string[] = [];
    const mine = new Set(owned);
    const ports = service.spec.ports ?? [];
    for (const [i, port] of ports.entries()) {
      if (port.nodePort) {
        if (mine.has(port.nodePort)) continue;
        const fail = (why: string) => new BerthError('invalid-argument',
          `Service "${service.metadata.name}" is invalid: spec.ports[${i}].nodePort: Invalid value: ${port.nodePort}: ${why}`);
        if (port.nodePort < min || port.nodePort > max) throw fail(`provided port is not in the valid range. The range of valid ports is ${min}-${max}`);
        if (!(await this.tryHold(NODE_PORT_PREFIX + port.nodePort, service))) throw fail('provided port is already allocated');
        taken.push(NODE_PORT_PREFIX + port.nodePort);
        mine.add(port.nodePort);
      }
    }
    // Then the ports that name none; a port of another protocol on the same number may share one.
    for (const port of ports) {
      if (port.nodePort) continue;
      const twin = ports.find((p) => p !== port && p.port === port.port && p.nodePort && (p.protocol ?? 'TCP') !== (port.protocol ?? 'TCP'));
      if (twin) {
        port.nodePort = twin.nodePort;
        continue;
      }
      const chosen = await this.holdAnyPort(service, min, max);
      taken.push(NODE_PORT_PREFIX + chosen);
      port.nodePort = chosen;
    }
    return taken;
  }

  private async holdAnyPort(service: Service, min: number, max: number): Promise<number> {
    const { items } = await this.store.list(NODE_PORT_PREFIX);
    const used = new Set(items.map((kv) => Number(kv.key.slice(NODE_PORT_PREFIX.length))));
    const count = max - min + 1;
    for (let attempt = 0; attempt < 64 && used.size < count; attempt++) {
      const port = min + randomInt(count);
      if (used.has(port)) continue;
      if (await this.tryHold(NODE_PORT_PREFIX + port, service)) return port;
      used.add(port);
    }
    for (let port = min; port <= max; port++) {
      if (!used.has(port) && (await this.tryHold(NODE_PORT_PREFIX + port, service))) return port;
    }
    throw new BerthError('resource-exhausted', `Internal error occurred: failed to allocate a nodePort: range is full (${min}-${max})`);
  }

  private async tryHold(key: string, service: Service): Promise<boolean> {
    const hold: Hold = { namespace: service.metadata.namespace ?? 'default', name: service.metadata.name ?? '', uid: service.metadata.uid ?? '', at: this.now() };
    try {
      await this.store.create(key, Buffer.from(JSON.stringify(hold)));
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'already-exists') return false;
      throw err;
    }
  }

  /** Delete these holds (only those of `uid` when given: never another Service's). */
  private async drop(keys: readonly string[], uid?: string): Promise<void> {
    for (const key of keys) {
      const kv = await this.store.get(key);
      if (!kv) continue;
      if (uid && parseHold(kv.value)?.uid !== uid) continue;
      await this.store.delete(key, kv.modRevision).catch(ignoreGone);
    }
  }
}

/** The store keys of what a stored Service holds. */
export function heldKeys(service: Service): string[] {
  const keys: string[] = [];
  const ip = service.spec.clusterIP;
  if (ip && ip !== 'None' && needsClusterIP(service)) keys.push(CLUSTER_IP_PREFIX + ip);
  if (needsNodePorts(service)) for (const port of new Set(nodePortsOf(service))) keys.push(NODE_PORT_PREFIX + port);
  return keys;
}

function nodePortsOf(service: Service): number[] {
  return (service.spec.ports ?? []).map((p) => p.nodePort).filter((p): p is number => !!p);
}

function parseHold(value: Buffer): Hold | undefined {
  try {
    return JSON.parse(value.toString('utf8')) as Hold;
  } catch {
    return undefined;
  }
}

function ignoreGone(err: unknown): void {
  if (err instanceof StoreError && (err.code === 'not-found' || err.code === 'conflict')) return;
  throw err;
}

