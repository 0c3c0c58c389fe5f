// Every object of one kind as a controller watch tells them (the Nodes the pod network routes to,
// the Services and EndpointSlices the service proxy and DNS answer from). The watch's rules are
// the pod watch's (pod-watch.ts): without a resource version, a full list then SYNCED; RESYNC
// means a fresh list follows, and an object not listed again is gone. Pure.

import type { Node, Resource } from '../../proto/resources';
import type { WatchSink } from './controller-link';
import { WatchCursor, type RawWatchEvent } from './pod-watch';

export class ObjectWatchState<T extends Resource> extends WatchCursor {
  private readonly objects = new Map<string, T>();
  private synced = false;

  constructor(private readonly kind: T['kind']) {
    super();
  }

  /** This state as a controller-link watch sink, calling `changed` after each event that changed it. */
  sink(changed: () => void): WatchSink {
    return {
      resumeFrom: () => this.resumeFrom(),
      opened: (rv) => this.begin(rv),
      event: (e) => {
        if (this.apply(e)) changed();
      },
    };
  }

  /** Whether a full list has been received once: before that, acting on absences would be a mistake. */
  isSynced(): boolean {
    return this.synced;
  }

  /** The current objects; frozen (shared): never change one. */
  current(): T[] {
    return [...this.objects.values()];
  }

  /** Apply one event; true when the set of objects or one of them changed. */
  apply(event: RawWatchEvent): boolean {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const obj = this.parse(event.json);
        if (!obj) return false;
        const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
        if (event.resourceVersion) this.version = event.resourceVersion;
        if (event.type === 'DELETED') {
          this.listed?.delete(key);
          return this.objects.delete(key);
        }
        this.objects.set(key, Object.freeze(obj));
        this.listed?.add(key);
        return true;
      }
      case 'RESYNC':
        this.listed = new Set();
        return false;
      case 'SYNCED': {
        if (event.resourceVersion) this.version = event.resourceVersion;
        let changed = !this.synced;
        if (this.listed) {
          for (const key of [...this.objects.keys()]) {
            if (!this.listed.has(key)) changed = this.objects.delete(key) || changed;
          }
          this.listed = undefined;
        }
        this.synced = true;
        return changed;
      }
      default:
        return false;
    }
  }

  private parse(json: string | undefined): T | undefined {
    if (!json) return undefined;
    try {
      const obj = JSON.parse(json) as T;
      return obj?.kind === this.kind && obj.metadata?.name ? obj : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The Nodes, as the pod network watches them. */
export class NodeWatchState extends ObjectWatchState<Node> {
  constructor() {
    super('Node');
  }
}
