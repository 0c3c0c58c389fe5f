// The revision of each write a pass made, per cache, so that the pass can wait for the caches to
// catch up with it (run-controller.ts does, after every pass).

import type { Resource } from '../../proto/resources';
import type { Informer } from '../cache';

/** The highest revision written per cache during one pass. */
export class WrittenRevisions {
  private readonly byCache = new Map<Informer<Resource>, number>();

  note<T extends Resource>(cache: Informer<T>, written: Resource | undefined): void {
    const revision = Number(written?.metadata.resourceVersion ?? 0);
    const c = cache as unknown as Informer<Resource>;
    if (revision > (this.byCache.get(c) ?? 0)) this.byCache.set(c, revision);
  }

  async caughtUp(): Promise<void> {
    await Promise.all([...this.byCache].map(([cache, revision]) => cache.waitFor(revision)));
  }
}
