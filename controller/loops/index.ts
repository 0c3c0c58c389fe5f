// Start every control loop over shared informers. See types.ts.

import type { Deployment, Lease, Node, Pod, ReplicaSet } from '../../proto/resources';
import { eventRecorder } from '../objects';
import { Informer } from '../cache/informer';
import { WorkQueue } from '../controllers/queue';
import { reconcileDeployment, watchDeployments } from './deployments';
import { collectGarbage, expireEvents, watchGarbage, EVENTS_KEY, GC_KEY } from './garbage';
import { NODES_KEY, reconcileNodes, watchNodes } from './nodes';
import { reconcileReplicaSet, watchReplicaSets } from './replicasets';
import { schedule, SCHEDULE_KEY, watchScheduling } from './scheduler';
import type { Caches, ControlLoopOptions, ControlLoops, LoopContext } from './types';

export type { ControlLoopOptions, ControlLoops } from './types';

export async function startControlLoops(options: ControlLoopOptions): Promise<ControlLoops> {
  const { registry, clock } = options;
  const caches: Caches = {
    pods: new Informer<Pod>(registry, 'Pod'),
    replicaSets: new Informer<ReplicaSet>(registry, 'ReplicaSet'),
    deployments: new Informer<Deployment>(registry, 'Deployment'),
    nodes: new Informer<Node>(registry, 'Node'),
    leases: new Informer<Lease>(registry, 'Lease'),
  };
  const ctx: LoopContext = { registry, clock, caches, record: eventRecorder(registry, clock) };
  const queues = {
    deployments: new WorkQueue(),
    replicaSets: new WorkQueue(),
    scheduler: new WorkQueue(),
    nodes: new WorkQueue(),
    gc: new WorkQueue(),
  };
  watchDeployments(ctx, queues.deployments);
  watchReplicaSets(ctx, queues.replicaSets);
  watchScheduling(ctx, queues.scheduler);
  watchNodes(ctx, queues.nodes);
  watchGarbage(ctx, queues.gc);
  const all = Object.values(caches) as Informer[];
  try {
    await Promise.all(all.map((c) => c.start()));
  } catch (err) {
    for (const c of all) c.stop();
    throw err;
  }

  const lifecycle = { gracePeriodMs: options.nodeGracePeriodMs, evictionTimeoutMs: options.podEvictionTimeoutMs };
  void queues.deployments.run(2, (key) => reconcileDeployment(ctx, key));
  void queues.replicaSets.run(2, (key) => reconcileReplicaSet(ctx, key));
  void queues.scheduler.run(1, () => schedule(ctx));
  void queues.nodes.run(1, () => reconcileNodes(ctx, lifecycle));
  void queues.gc.run(1, (key) => (key === EVENTS_KEY ? expireEvents(ctx) : collectGarbage(ctx)));
  // Level-triggered from the start: look at everything once (the informers' initial ADDED events
  // already queued most of it; these are the cluster-wide keys).
  queues.scheduler.add(SCHEDULE_KEY);
  queues.nodes.add(NODES_KEY);
  queues.gc.add(GC_KEY);
  queues.gc.add(EVENTS_KEY);

  return {
    stop() {
      for (const q of Object.values(queues)) q.shutdown();
      for (const c of all) c.stop();
    },
  };
}
