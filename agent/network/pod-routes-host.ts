// Makes the host's routing match a PodRoutesPlan (pod-routes.ts) with ip(8) and bridge(8): adds
// what is missing, removes what the agent made before and the plan no longer has (a departed
// node), and leaves everything else alone. Its own routes are told apart by their protocol number,
// its neighbour and forwarding entries by the VXLAN device they are on, which is the agent's.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BerthError } from '../../proto/errors';
import {
  ROUTE_PROTOCOL, VXLAN_MTU, VXLAN_PORT, VXLAN_VNI, vtepAddress, vtepMac,
  type ForwardingEntry, type Neighbour, type PodNetworkBackend, type PodRoutesPlan, type Route,
} from './pod-routes';

const exec = promisify(execFile);

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    return (await exec(cmd, args)).stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    throw new BerthError('internal', `${cmd} ${args.join(' ')}: ${stderr}`, { cause: err });
  }
}

const json = async <T>(cmd: string, args: string[]): Promise<T[]> => JSON.parse((await run(cmd, args)) || '[]') as T[];

export interface PodRoutesHostOptions {
  backend: PodNetworkBackend;
  /** The VXLAN device's name (the agent's own). */
  device: string;
  /** This node's InternalIP (the VXLAN's local address) and pod CIDR (its VTEP address). */
  nodeIp: string;
  podCidr: string;
}

export class PodRoutesHost {
  private deviceReady = false;

  constructor(private readonly o: PodRoutesHostOptions) {}

  /** Bring the host to the plan. The VXLAN device is made with the first peer, not before. */
  async sync(plan: PodRoutesPlan): Promise<void> {
    if (this.o.backend === 'vxlan' && plan.routes.length > 0 && !this.deviceReady) await this.ensureDevice();
    const routeKey = (r: Route) => `${r.dst} ${r.via} ${r.dev ?? ''}`;
    const current = await this.ownRoutes();
    const wanted = new Set(plan.routes.map(routeKey));
    for (const r of current) if (!wanted.has(routeKey(r))) await run('ip', ['route', 'del', r.dst, 'proto', String(ROUTE_PROTOCOL)]).catch(() => undefined);
    if (this.deviceReady) {
      const neighbours = await this.neighbours();
      const wantedNeighbours = new Set(plan.neighbours.map((n) => `${n.ip} ${n.mac}`));
      for (const n of neighbours) if (!wantedNeighbours.has(`${n.ip} ${n.mac}`)) await run('ip', ['neigh', 'del', n.ip, 'dev', this.o.device]).catch(() => undefined);
      const fdb = await this.forwarding();
      const wantedFdb = new Set(plan.fdb.map((f) => `${f.mac} ${f.dst}`));
      for (const f of fdb) if (!wantedFdb.has(`${f.mac} ${f.dst}`)) await run('bridge', ['fdb', 'del', f.mac, 'dev', this.o.device, 'dst', f.dst]).catch(() => undefined);
      // Forwarding and neighbour entries before the route that needs them.
      for (const f of plan.fdb) if (!fdb.some((c) => c.mac === f.mac && c.dst === f.dst)) await run('bridge', ['fdb', 'append', f.mac, 'dev', this.o.device, 'dst', f.dst, 'self', 'permanent']);
      for (const n of plan.neighbours) if (!neighbours.some((c) => c.ip === n.ip && c.mac === n.mac)) await run('ip', ['neigh', 'replace', n.ip, 'lladdr', n.mac, 'dev', this.o.device, 'nud', 'permanent']);
    }
    const have = new Set(current.map(routeKey));
    for (const r of plan.routes) {
      if (have.has(routeKey(r))) continue;
      await run('ip', ['route', 'replace', r.dst, 'via', r.via, ...(r.dev ? ['dev', r.dev, 'onlink'] : []), 'proto', String(ROUTE_PROTOCOL)]);
    }
  }

  /** Everything the agent made: routes, and the VXLAN device with its entries. */
  async remove(): Promise<void> {
    for (const r of await this.ownRoutes()) await run('ip', ['route', 'del', r.dst, 'proto', String(ROUTE_PROTOCOL)]).catch(() => undefined);
    await run('ip', ['link', 'del', 'dev', this.o.device]).catch(() => undefined);
    this.deviceReady = false;
  }

  private async ensureDevice(): Promise<void> {
    const d = this.o.device;
    const exists = await run('ip', ['link', 'show', 'dev', d]).then(() => true, () => false);
    if (!exists) {
      await run('ip', ['link', 'add', d, 'type', 'vxlan', 'id', String(VXLAN_VNI), 'local', this.o.nodeIp, 'dstport', String(VXLAN_PORT), 'nolearning']);
    }
    await run('ip', ['link', 'set', d, 'address', vtepMac(this.o.nodeIp), 'mtu', String(VXLAN_MTU)]);
    await run('ip', ['addr', 'replace', `${vtepAddress(this.o.podCidr)}/32`, 'dev', d]);
    await run('ip', ['link', 'set', d, 'up']);
    this.deviceReady = true;
  }

  private async ownRoutes(): Promise<Route[]> {
    const routes = await json<{ dst: string; gateway?: string; dev?: string }>('ip', ['-j', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)]);
    return routes.filter((r) => r.gateway).map((r) => ({ dst: r.dst, via: r.gateway!, ...(r.dev === this.o.device ? { dev: r.dev } : {}) }));
  }

  private async neighbours(): Promise<Neighbour[]> {
    const entries = await json<{ dst: string; lladdr?: string; state?: string[] }>('ip', ['-j', 'neigh', 'show', 'dev', this.o.device]);
    return entries.filter((e) => e.lladdr && e.state?.includes('PERMANENT')).map((e) => ({ ip: e.dst, mac: e.lladdr! }));
  }

  private async forwarding(): Promise<ForwardingEntry[]> {
    const entries = await json<{ mac: string; dst?: string }>('bridge', ['-j', 'fdb', 'show', 'dev', this.o.device]);
    return entries.filter((e) => e.dst).map((e) => ({ mac: e.mac, dst: e.dst! }));
  }
}
