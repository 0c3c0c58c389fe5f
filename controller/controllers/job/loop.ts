// The job loop: a Job's key -> plan (./plan.ts) over the caches -> pods created and deleted
// (../owned-pods.ts), status written, a finished Job past its TTL deleted (its pods follow through
// the garbage collector). Its pods' changes wake it too.

import { ignoreNotFound } from '../../objects';
import { podOwnerLoop } from '../owned-pods';
import { randomSuffix } from '../replicaset';
import { writeStatus } from '../run-controller';
import { createdMessage, plan } from './plan';
import { JOB_CONTROLLER, type JobAction } from './types';

export const jobLoop = podOwnerLoop({
  workers: 2,
  objects: (caches) => caches.jobs,
  component: JOB_CONTROLLER,
  createdMessage,
  plan: (ctx, job, pods) => plan(job, pods, ctx.clock(), randomSuffix),
  async other(ctx, job, action: Extract<JobAction, { type: 'update-job-status' | 'delete-job' }>, written) {
    if (action.type === 'update-job-status') await writeStatus(ctx, ctx.caches.jobs, written, job, action.status);
    else written.note(ctx.caches.jobs, await ctx.registry.delete('Job', action.job.namespace, action.job.name).catch(ignoreNotFound));
  },
});
