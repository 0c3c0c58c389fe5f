// Carrying out ./history.ts's actions against the registry, for the DaemonSet and StatefulSet loops.

import type { ControllerRevision } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { ignoreNotFound } from '../objects';
import type { HistoryAction } from './history';
import type { ControllerContext } from './run-controller';
import type { WrittenRevisions } from './written';

export async function writeHistory(ctx: ControllerContext, namespace: string | undefined, action: HistoryAction, written: WrittenRevisions): Promise<void> {
  const cache = ctx.caches.controllerRevisions;
  switch (action.type) {
    case 'create-revision':
      written.note(cache, await ctx.registry.create<ControllerRevision>(action.revision).catch((err: unknown) => {
        // Made meanwhile (the cache had not seen it): the next pass renumbers it if need be.
        if (err instanceof BerthError && err.code === 'already-exists') return undefined;
        throw err;
      }));
      return;
    case 'renumber-revision':
      written.note(cache, await ctx.registry.mutate<ControllerRevision>('ControllerRevision', namespace, action.name, (r) => ({ ...r, revision: action.revision })));
      return;
    case 'delete-revision':
      written.note(cache, await ctx.registry.delete('ControllerRevision', namespace, action.name).catch(ignoreNotFound));
      return;
  }
}
