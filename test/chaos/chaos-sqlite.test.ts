// A short seeded chaos run in the suite, on SQLite: one controller, three agents on
// network-namespace hosts, three Deployments rolling while the controller and agents are killed,
// hosts cut off and the registry stopped (chaos.ts). Every invariant must hold.

import t from 'tap';
import { suiteChaosRun } from './chaos';

t.test('chaos on SQLite: nothing acknowledged lost, converged, nothing left on any host', (t) => suiteChaosRun(t, 'sqlite', 20261204));
