// The node's part in the cluster's NetworkPolicies: every policy, namespace and pod address
// (watched), handed whole to the enforcement (agent/network/policy) whenever one of them changes.
// One sync at a time, the latest state winning; a failed sync is retried with the state as it is
// then. Nothing is enforced until all three watches have listed once (acting on a partial list
// would isolate pods from peers not yet seen).

import type { Namespace, NetworkPolicy, Pod } from '../../proto/resources';
import type { PolicyWatch, WatchSink } from './controller-link';
import { LatestSync } from './latest-sync';
import { ObjectWatchState } from './object-watch';

/** What enforcement is given: the whole state, each time; it works out what changed. */
export interface PolicyState {
  policies: readonly NetworkPolicy[];
  namespaces: readonly Namespace[];
  pods: readonly Pod[];
  nodeName: string;
}

export interface NetworkPoliciesDeps {
  nodeName: string;
  sync(state: PolicyState): Promise<void>;
  log(line: string): void;
}

export class NetworkPolicies {
  private readonly states = {
    networkPolicies: new ObjectWatchState<NetworkPolicy>('NetworkPolicy'),
    namespaces: new ObjectWatchState<Namespace>('Namespace'),
    podAddresses: new ObjectWatchState<Pod>('Pod'),
  };
  private readonly sync: LatestSync;

  constructor(deps: NetworkPoliciesDeps) {
    this.sync = new LatestSync('network policies', async () => {
      const { networkPolicies, namespaces, podAddresses } = this.states;
      if (!networkPolicies.isSynced() || !namespaces.isSynced() || !podAddresses.isSynced()) return false;
      await deps.sync({ policies: networkPolicies.current(), namespaces: namespaces.current(), pods: podAddresses.current(), nodeName: deps.nodeName });
      return true;
    }, deps.log);
  }

  watchSinks(): Record<PolicyWatch, WatchSink> {
    const changed = () => this.sync.schedule();
    const { networkPolicies, namespaces, podAddresses } = this.states;
    return { networkPolicies: networkPolicies.sink(changed), namespaces: namespaces.sink(changed), podAddresses: podAddresses.sink(changed) };
  }

  relist(): void {
    for (const state of Object.values(this.states)) state.relist();
  }

  stop(): Promise<void> {
    return this.sync.stop();
  }
}
