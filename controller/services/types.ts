// The service network: which virtual IPs and node ports Services hold. A Service of type
// ClusterIP, NodePort or LoadBalancer gets one address of --service-cidr (unless headless), and a
// NodePort or LoadBalancer Service one port of --service-node-port-range per port; each is held by
// exactly one Service, cluster-wide, also with several controllers on one etcd.
//
// Lifecycle of a hold: taken when the Service is created (or changed to need it) *before* the
// Service is written, and given back when the write fails or after the Service is deleted or stops
// needing it. A controller that dies between the two leaves a hold no Service names; the repair
// loop gives such holds back after a grace period (as Kubernetes' repair controllers do).

import type { Cidr } from '../../proto/network/cidr';
import type { Service } from '../../proto/resources';

export interface ServiceNetworkOptions {
  serviceCidr: Cidr;
  nodePorts: { min: number; max: number };
}

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const DEFAULT_NODE_PORT_RANGE = '30000-32767';

/** What the registry asks of the service network around each write of a Service. */
export interface ServiceAllocations {
  /** A new Service: its clusterIP and nodePorts filled in and held; undo() gives them back. */
  allocate(service: Service): Promise<Allocated>;
  /** A changed Service: what it keeps is carried over, what it newly needs held. */
  change(previous: Service, next: Service): Promise<Allocated & { /** After the write: give back what only the previous one held. */ done(): Promise<void> }>;
  /** After a delete: give back everything it held. */
  release(service: Service): Promise<void>;
  /** Give back holds none of these (all the) Services names, older than the grace period; returns their keys. */
  repair(services: readonly Service[]): Promise<string[]>;
}

export interface Allocated {
  service: Service;
  /** The write failed: give back what this call took. */
  undo(): Promise<void>;
}

/** Who holds an address or a port, as the store records it. */
export interface Hold {
  namespace: string;
  name: string;
  uid: string;
  /** When it was taken (ms since the epoch): the repair loop leaves young holds alone. */
  at: number;
}
