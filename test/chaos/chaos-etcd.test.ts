// A short seeded chaos run in the suite, on a three-member etcd with two controllers (the leader
// among those killed), three agents on network-namespace hosts, three Deployments rolling while
// controllers and agents are killed, hosts cut off and the registry stopped (chaos.ts). Every
// invariant must hold.

import t from 'tap';
import { suiteChaosRun } from './chaos';

t.test('chaos on etcd with two controllers: nothing acknowledged lost, converged, nothing left on any host', (t) => suiteChaosRun(t, 'etcd', 20261205));
