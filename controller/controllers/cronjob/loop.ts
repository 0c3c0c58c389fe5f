// The cron job loop: a CronJob's key -> plan (./plan.ts) over the caches -> Jobs created and
// deleted, status written; looked at again at the schedule's next time. Its Jobs' changes wake it.

import { BerthError } from '../../../proto/errors';
import type { Job } from '../../../proto/resources';
import { ignoreNotFound } from '../../objects';
import { isControlledBy } from '../meta';
import type { HandlerResult } from '../queue';
import { objectLoop, requeueAfter, writeStatus } from '../run-controller';
import { plan } from './plan';

export const cronJobLoop = objectLoop({
  workers: 1,
  objects: (caches) => caches.cronJobs,
  owned: (caches) => caches.jobs,

  async reconcile(ctx, cj, written): Promise<HandlerResult | undefined> {
    const jobs = ctx.caches.jobs.list((j) => j.metadata.namespace === cj.metadata.namespace && isControlledBy(j, cj));
    const { actions, requeueAfterMs } = plan(cj, jobs, ctx.clock());
    for (const action of actions) {
      switch (action.type) {
        case 'create-job':
          written.note(ctx.caches.jobs, await ctx.registry.create<Job>(action.job).catch((err: unknown) => {
            // Made already for this time (a pass whose status write did not land).
            if (err instanceof BerthError && err.code === 'already-exists') return undefined;
            throw err;
          }));
          break;
        case 'delete-job':
          written.note(ctx.caches.jobs, await ctx.registry.delete('Job', action.job.namespace, action.job.name).catch(ignoreNotFound));
          break;
        case 'update-cronjob-status':
          await writeStatus(ctx, ctx.caches.cronJobs, written, cj, action.status);
          break;
        case 'event':
          ctx.record(action.event);
          break;
      }
    }
    return requeueAfter(requeueAfterMs);
  },
});
