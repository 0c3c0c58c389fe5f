// The job loop: a Job's key -> plan (./plan.ts) over the caches -> pods created and deleted
// (../owned-pods.ts), status written, a finished Job past its TTL deleted (its pods follow through
// the garbage collector). Its pods' changes wake it too.

import { ignoreNotFound } from '../../objects';
import { isControlledBy } from '../meta';
import { OwnedPods } from '../owned-pods';
import type { HandlerResult } from '../queue';
import { randomSuffix } from '../replicaset';
import { objectLoop, writeStatus } from '../run-controller';
import { createdMessage, plan } from './plan';
import { JOB_CONTROLLER } from './types';

export const jobLoop = objectLoop({
  workers: 2,
  objects: (caches) => caches.jobs,
  owned: (caches) => caches.pods,

  async reconcile(ctx, job, written): Promise<HandlerResult | undefined> {
    const { namespace } = job.metadata;
    const pods = ctx.caches.pods.list((p) => p.metadata.namespace === namespace && isControlledBy(p, job));
    const { actions, requeueAfterMs } = plan(job, pods, ctx.clock(), randomSuffix);
    const owned = new OwnedPods(ctx, job, JOB_CONTROLLER, written, createdMessage);
    for (const action of actions) {
      switch (action.type) {
        case 'create-pod':
          await owned.create(action.pod);
          break;
        case 'delete-pod':
          await owned.delete(action.pod);
          break;
        case 'update-job-status':
          await writeStatus(ctx, ctx.caches.jobs, written, job, action.status);
          break;
        case 'delete-job':
          written.note(ctx.caches.jobs, await ctx.registry.delete('Job', action.job.namespace, action.job.name).catch(ignoreNotFound));
          break;
        case 'event':
          owned.record(action.event);
          break;
      }
    }
    return owned.result(requeueAfterMs);
  },
});
