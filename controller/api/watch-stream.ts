// A watch as clients see it: it never fails for being too old. Without a resource version the
// client first gets every matching object (ADDED) and a SYNCED bookmark; from a resource version
// it gets every later change once, in order. When that resource version has been compacted away,
// the client gets RESYNC, a fresh list (ADDED...) and SYNCED, and the watch carries on from there.
//
// A client that stops reading costs bounded memory: once more than MAX_BACKLOG events wait to be
// sent to it, its watch ends with RESOURCE_EXHAUSTED (kube-apiserver closes slow watchers too);
// it can start again from the last resource version it got.

import type { Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { StoreError } from '../store';
import type { ListOptions, Registry } from '../objects';

export type WireEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNCED' | 'RESYNC';

export interface WireEvent {
  type: WireEventType;
  object?: Resource;
  resourceVersion: string;
}

export interface WatchStream {
  close(): void;
}

/** Events queued for one client before its watch is ended. */
export const MAX_BACKLOG = 4096;

export function serveWatch(
  registry: Registry,
  kind: string,
  options: ListOptions,
  resourceVersion: string,
  write: (event: WireEvent) => void,
  onEnd: (err: Error) => void,
  /** Events written and not yet taken by the client (the call's writableLength). */
  backlog: () => number = () => 0,
): WatchStream {
  let closed = false;
  let handle: { close(): void } | undefined;

  const send = (event: WireEvent) => {
    write(event);
    const waiting = backlog();
    if (waiting > MAX_BACKLOG) fail(new BerthError('resource-exhausted', `watch of ${kind}: the client is not reading (${waiting} events waiting): watch again from resource version ${event.resourceVersion}`));
  };

  const fail = (err: Error) => {
    if (closed) return;
    closed = true;
    handle?.close();
    onEnd(err);
  };

  const watchFrom = (revision: number) => {
    if (closed) return;
    handle = registry.watch(kind, options, revision, {
      onEvent: (e) => {
        if (!closed) send({ type: e.type, object: e.object, resourceVersion: String(e.revision) });
      },
      onError: (err) => {
        handle?.close();
        if (err instanceof StoreError && err.code === 'gone') void relist(true);
        else fail(err);
      },
    });
  };

  const relist = async (resync: boolean) => {
    try {
      const { items, resourceVersion: rv } = await registry.list(kind, options);
      if (closed) return;
      if (resync) send({ type: 'RESYNC', resourceVersion: rv });
      for (const object of items) send({ type: 'ADDED', object, resourceVersion: object.metadata.resourceVersion ?? rv });
      send({ type: 'SYNCED', resourceVersion: rv });
      watchFrom(Number(rv));
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
    }
  };

  if (resourceVersion && /^\d+$/.test(resourceVersion)) watchFrom(Number(resourceVersion));
  else void relist(false);

  return {
    close() {
      closed = true;
      handle?.close();
    },
  };
}
