// Helpers the executors share: work-queue keys of namespaced objects, tolerate "already gone", and
// remember the revision of each write so the pass can wait for the caches to catch up with it.

import type { Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { Informer } from '../cache/informer';

/** The work-queue key of a namespaced object: `namespace/name`. */
export const queueKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? 'default'}/${name ?? ''}`;

export function splitKey(key: string): [string | undefined, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? [undefined, key] : [key.slice(0, slash) || undefined, key.slice(slash + 1)];
}

export function ignoreNotFound(err: unknown): undefined {
  if (err instanceof BerthError && err.code === 'not-found') return undefined;
  throw err;
}

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
