// The node's part in the cluster's Services: every Service and EndpointSlice (watched), turned
// into the host's service proxy rules and the answers of the node's cluster DNS, which listens on
// the bridge's address (the pods' gateway) once the node's pod CIDR is known. The proxy syncs one
// at a time, the latest state winning; DNS answers from a fresh index on every change.

import type { EndpointSlice, Service } from '../../proto/resources';
import { LatestSync } from './latest-sync';
import { ObjectWatchState } from './object-watch';
import type { WatchSink } from './controller-link';

/** What the proxy is given: the whole state, each time; it works out what changed. */
export interface ProxyState {
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  nodeName: string;
  nodeIps: string[];
  clusterCidr: string;
}

export interface ServiceNetworkDeps {
  nodeName: string;
  nodeIp: string;
  /** Program the host (the service proxy); undefined: this node runs no proxy. */
  syncProxy?(state: ProxyState): Promise<void>;
  /** Start the cluster DNS on this address (port 53), answering from update()'s state. */
  startDns?(address: string): Promise<{ update(services: readonly Service[], slices: readonly EndpointSlice[]): void; close(): Promise<void> }>;
  log(line: string): void;
}

export class ServiceNetwork {
  readonly services = new ObjectWatchState<Service>('Service');
  readonly slices = new ObjectWatchState<EndpointSlice>('EndpointSlice');
  private clusterCidr: string | undefined;
  private gateway: string | undefined;
  private dns: { update(services: readonly Service[], slices: readonly EndpointSlice[]): void; close(): Promise<void> } | undefined;
  private dnsStarting: Promise<void> | undefined;
  private stopped = false;
  /** Service proxy syncs: one at a time, the latest state winning. */
  private readonly proxy: LatestSync;
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly deps: ServiceNetworkDeps) {
    this.proxy = new LatestSync('service proxy', async () => {
      if (!deps.syncProxy || !this.clusterCidr || !this.services.isSynced() || !this.slices.isSynced()) return false;
      await deps.syncProxy({
        services: this.services.current(), slices: this.slices.current(),
        nodeName: deps.nodeName, nodeIps: [deps.nodeIp], clusterCidr: this.clusterCidr,
      });
      return true;
    }, deps.log);
  }

  watchSink(which: 'services' | 'slices'): WatchSink {
    return (which === 'services' ? this.services : this.slices).sink(() => this.changed());
  }

  relist(): void {
    this.services.relist();
    this.slices.relist();
  }

  /** The node's pod network is up: its gateway answers DNS, and traffic to Services is proxied. */
  podNetworkReady(network: { clusterCidr: string; gateway: string }): void {
    this.clusterCidr = network.clusterCidr;
    if (this.gateway !== network.gateway) {
      this.gateway = network.gateway;
      this.startDns(network.gateway);
    }
    this.changed();
  }

  /** The nameserver for the pods' resolv.conf; undefined until the pod network is up. */
  dnsAddress(): string | undefined {
    return this.deps.startDns ? this.gateway : undefined;
  }

  /** The Services and EndpointSlices once both have listed; undefined before. */
  currentState(): { services: Service[]; slices: EndpointSlice[] } | undefined {
    return this.services.isSynced() && this.slices.isSynced() ? { services: this.services.current(), slices: this.slices.current() } : undefined;
  }

  /** Call `listener` after every change of the Services or EndpointSlices. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** The Services now (for the pods' environment variables). */
  currentServices(): Service[] {
    return this.services.current();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.dnsStarting;
    await this.proxy.stop();
    await this.dns?.close();
    this.dns = undefined;
  }

  private startDns(address: string): void {
    if (!this.deps.startDns) return;
    const previous = this.dns;
    this.dns = undefined;
    this.dnsStarting = (async () => {
      await previous?.close();
      try {
        const dns = await this.deps.startDns!(address);
        if (this.stopped) return void (await dns.close());
        this.dns = dns;
        dns.update(this.services.current(), this.slices.current());
        this.deps.log(`cluster DNS: answering on ${address}:53`);
      } catch (err) {
        this.deps.log(`cluster DNS: cannot listen on ${address}:53: ${(err as Error).message}`);
      }
    })();
  }

  private changed(): void {
    if (this.stopped) return;
    if (this.services.isSynced() && this.slices.isSynced()) this.dns?.update(this.services.current(), this.slices.current());
    if (this.deps.syncProxy) this.proxy.schedule();
    for (const listener of this.listeners) listener();
  }
}
