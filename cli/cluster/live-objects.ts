// A local copy of the objects of a few kinds, kept current by watches, for verbs that wait for
// a state (rollout status, apply --wait): after every change, once every watch has its initial
// list, a pure `decide` looks at the copy and says whether the wait is over. Level-triggered: a
// watch that breaks is reopened from the last resource version it saw, and nothing is lost.

import type { Resource } from '../../proto/resources';
import { ServerError } from './errors';
import type { ClusterClient, Stream, WatchEvent } from './types';

export interface WatchSpec {
  kind: string;
  /** Absent: every namespace. */
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
}

/** How often a broken watch may be reopened in a row before the wait fails. */
const MAX_REOPENS = 5;
const REOPEN_DELAY_MS = 500;

export class LiveObjects {
  private readonly objects = new Map<string, Map<string, Resource>>();

  constructor(private readonly client: ClusterClient) {}

  /** The objects of a kind, as last seen. */
  list<T extends Resource>(kind: string): T[] {
    return [...(this.objects.get(kind)?.values() ?? [])] as T[];
  }

  /**
   * Watch `specs` until `decide` returns something; 'timeout' when `timeoutMs` (if any) passes first.
   * Fails with the watch's error when the controller cannot be reached for good.
   */
  until<T>(specs: WatchSpec[], decide: () => T | undefined, timeoutMs?: number, options: { recheckMs?: number } = {}): Promise<T | 'timeout'> {
    return new Promise<T | 'timeout'>((resolve, reject) => {
      const streams = new Set<Stream<WatchEvent>>();
      const synced = new Set<number>();
      let finished = false;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        clearInterval(recheck);
        for (const s of streams) s.cancel();
        fn();
      };
      const timer = timeoutMs !== undefined && timeoutMs > 0 ? setTimeout(() => finish(() => resolve('timeout')), timeoutMs) : undefined;
      const evaluate = () => {
        if (finished || synced.size < specs.length) return;
        let result: T | undefined;
        try {
          result = decide();
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (result !== undefined) finish(() => resolve(result as T));
      };
      // A verdict that also depends on time (how long a pod has stayed ready) is asked again without an event.
      const recheck = options.recheckMs ? setInterval(evaluate, options.recheckMs) : undefined;

      specs.forEach((spec, index) => {
        const map = this.objects.get(spec.kind) ?? new Map<string, Resource>();
        this.objects.set(spec.kind, map);
        let resourceVersion = '';
        let failures = 0;
        const open = async (): Promise<void> => {
          // Resumed from where it was, once it had its list; else listed again from scratch.
          if (!synced.has(index)) {
            map.clear();
            resourceVersion = '';
          }
          const stream = this.client.watch(spec.kind, { ...spec, resourceVersion });
          streams.add(stream);
          try {
            for await (const e of stream) {
              failures = 0;
              if (e.type === 'RESYNC') {
                map.clear();
                synced.delete(index);
                continue;
              }
              if (e.type === 'SYNCED') {
                synced.add(index);
              } else if (e.object) {
                const key = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name ?? ''}`;
                if (e.type === 'DELETED') map.delete(key);
                else map.set(key, e.object);
              }
              if (synced.has(index) && e.resourceVersion) resourceVersion = e.resourceVersion;
              evaluate();
            }
            if (finished) return;
            throw new ServerError('unavailable', `the controller ended the watch of ${spec.kind}`);
          } catch (err) {
            if (finished) return;
            streams.delete(stream);
            if (++failures > MAX_REOPENS || (err instanceof ServerError && err.code !== 'unavailable' && err.code !== 'internal')) {
              finish(() => reject(err));
              return;
            }
            await new Promise((r) => setTimeout(r, REOPEN_DELAY_MS));
            if (!finished) return open();
          }
        };
        void open();
      });
    });
  }
}
