// The node's part in the cluster's pod network. The controller names the cluster CIDR and the
// backend at registration and this node's pod CIDR on its Node; from then on the bridge takes its
// addresses from that CIDR, and every change to the Nodes (watched) brings the routes to the
// other nodes' pods up to date: one sync at a time, the latest state winning.

import { addressAt, parseCidr } from '../../proto/network/cidr';
import type { Node } from '../../proto/resources';
import { PodRoutesHost, planPodRoutes, vtepMac, VTEP_MAC_ANNOTATION, VXLAN_MTU, type ContainerNetwork, type PodNetworkBackend } from '../network';
import { NodeWatchState } from './object-watch';
import type { RawWatchEvent } from './pod-watch';
import type { NodeConfig } from './types';

/** The node's document with its VTEP MAC, which peers use for their forwarding entries (vxlan). */
export function withVtepMac(node: Node, nodeIp: string): Node {
  return { ...node, metadata: { ...node.metadata, annotations: { ...node.metadata.annotations, [VTEP_MAC_ANNOTATION]: vtepMac(nodeIp) } } };
}

export class PodNetwork {
  readonly nodes = new NodeWatchState();
  private cluster: { clusterCidr: string; backend: PodNetworkBackend } | undefined;
  private host: PodRoutesHost | undefined;
  private podCidr: string | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private pending = false;
  private lastProblem = '';

  constructor(
    private readonly config: NodeConfig,
    private readonly network: ContainerNetwork,
    private readonly device: string,
    private readonly log: (line: string) => void,
    /** Told once the node's pod CIDR is in use: the cluster CIDR and the pods' gateway (the bridge's address). */
    private readonly onReady?: (network: { clusterCidr: string; gateway: string }) => void,
  ) {}

  clusterNetwork(network: { clusterCidr: string; backend: string }): void {
    // A controller from before the pod network names neither: the node keeps its own subnet.
    if (!network.clusterCidr || (network.backend !== 'vxlan' && network.backend !== 'host-gw')) return;
    this.cluster = { clusterCidr: network.clusterCidr, backend: network.backend };
    this.schedule();
  }

  relist(): void {
    this.nodes.relist();
  }

  nodeEvent(event: RawWatchEvent): void {
    if (this.nodes.apply(event) && this.nodes.isSynced()) this.schedule();
  }

  /** One sync at a time; changes during a sync make one more. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    this.syncing = this.syncing.then(async () => {
      this.pending = false;
      try {
        await this.sync();
        this.problem('');
      } catch (err) {
        this.problem(`pod network: ${(err as Error).message}`);
      }
    });
  }

  private async sync(): Promise<void> {
    if (!this.cluster || !this.nodes.isSynced()) return;
    const own = this.nodes.current().find((n) => n.metadata.name === this.config.nodeName);
    const podCidr = own?.spec?.podCIDR;
    if (!podCidr) return;
    if (podCidr !== this.podCidr) {
      await this.network.usePodNetwork({
        podCidr, clusterCidr: this.cluster.clusterCidr, ...(this.cluster.backend === 'vxlan' ? { mtu: VXLAN_MTU } : {}),
      });
      this.podCidr = podCidr;
      this.host = new PodRoutesHost({ backend: this.cluster.backend, device: this.device, nodeIp: this.config.nodeIp, podCidr });
      this.log(`pod network: pod CIDR ${podCidr} of ${this.cluster.clusterCidr} (${this.cluster.backend})`);
      this.onReady?.({ clusterCidr: this.cluster.clusterCidr, gateway: addressAt(parseCidr(podCidr, `node ${this.config.nodeName}'s podCIDR`), 1) });
    }
    const plan = planPodRoutes(this.config.nodeName, this.nodes.current(), this.cluster.backend, this.device);
    await this.host!.sync(plan);
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    if (message) this.log(message);
  }
}
