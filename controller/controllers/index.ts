// What others may import from the controllers: start them all (see types.ts). The planners and
// their helpers are internal; tests import them by path.

import type { Clock, Registry } from '../objects';
import { cronJobLoop } from './cronjob/loop';
import { daemonSetLoop } from './daemonset/loop';
import { statefulSetLoop } from './statefulset/loop';
import { volumeLoop } from './volume/loop';
import { ephemeralVolumeLoop } from './ephemeral/loop';
import { deploymentLoop } from './deployment/loop';
import { disruptionLoop } from './disruption/loop';
import { endpointSliceLoop } from './endpointslice/loop';
import { garbageCollectorLoop } from './gc/loop';
import { ingressStatusLoop } from './ingress/loop';
import { autoscalerLoop } from './hpa/loop';
import { csrSigningLoop, type ClientSigner } from './csr/loop';
import type { MetricsReader } from '../metrics';
import { jobLoop } from './job/loop';
import { nodeLifecycleLoop } from './node/loop';
import { nodeIpamLoop } from './nodeipam/loop';
import type { PodNetworkOptions } from './nodeipam/plan';
import { replicaSetLoop } from './replicaset/loop';
import { replicationControllerLoop } from './replicaset/replication-controller-loop';
import { resourceQuotaLoop } from './resourcequota/loop';
import { runControllers, type RunningControllers } from './run-controller';
import { schedulerLoop } from './scheduler/loop';
import { serviceAccountLoop } from './serviceaccount/loop';
import { serviceAllocationRepairLoop } from './service-repair/loop';

export interface ControllersOptions {
  registry: Registry;
  clock: Clock;
  nodeGracePeriodMs: number;
  podEvictionTimeoutMs: number;
  podNetwork: PodNetworkOptions;
  /** The agents' usage reports, for the autoscaler. */
  metrics: MetricsReader;
  /** The cluster CA signing approved client certificate requests. */
  signClient: ClientSigner;
}

export type { RunningControllers } from './run-controller';
export { evictPod } from './disruption/evict';
export { caSigner } from './csr/loop';
export { POD_NETWORK_BACKENDS, type PodNetworkBackend, type PodNetworkOptions } from './nodeipam/plan';

export function startControllers(options: ControllersOptions): Promise<RunningControllers> {
  return runControllers(options.registry, options.clock, [
    deploymentLoop,
    replicaSetLoop,
    replicationControllerLoop,
    jobLoop,
    daemonSetLoop,
    statefulSetLoop,
    volumeLoop,
    ephemeralVolumeLoop,
    cronJobLoop,
    schedulerLoop,
    nodeLifecycleLoop({ gracePeriodMs: options.nodeGracePeriodMs, evictionTimeoutMs: options.podEvictionTimeoutMs }),
    garbageCollectorLoop,
    serviceAccountLoop,
    nodeIpamLoop(options.podNetwork),
    endpointSliceLoop(),
    serviceAllocationRepairLoop,
    disruptionLoop,
    resourceQuotaLoop(),
    ingressStatusLoop,
    autoscalerLoop(options.metrics),
    csrSigningLoop(options.signClient),
  ]);
}
