// Every Node of the cluster as the controller's watch tells them: what the pod network routes to.
// The watch's rules are the pod watch's (pod-watch.ts): without a resource version, a full list
// then SYNCED; RESYNC means a fresh list follows, and a Node not listed again is gone. Pure.

import type { Node } from '../../proto/resources';
import { WatchCursor, type RawWatchEvent } from './pod-watch';

export class NodeWatchState extends WatchCursor {
  private readonly nodes = new Map<string, Node>();
  private synced = false;

  /** Whether a full list has been received once: before that, routes would be removed by mistake. */
  isSynced(): boolean {
    return this.synced;
  }

  current(): Node[] {
    return [...this.nodes.values()];
  }

  /** Apply one event; true when the set of Nodes or one of them changed. */
  apply(event: RawWatchEvent): boolean {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const node = parseNode(event.json);
        if (!node) return false;
        const name = node.metadata.name!;
        if (event.resourceVersion) this.version = event.resourceVersion;
        if (event.type === 'DELETED') {
          this.listed?.delete(name);
          return this.nodes.delete(name);
        }
        this.nodes.set(name, Object.freeze(node));
        this.listed?.add(name);
        return true;
      }
      case 'RESYNC':
        this.listed = new Set();
        return false;
      case 'SYNCED': {
        if (event.resourceVersion) this.version = event.resourceVersion;
        let changed = !this.synced;
        if (this.listed) {
          for (const name of [...this.nodes.keys()]) {
            if (!this.listed.has(name)) changed = this.nodes.delete(name) || changed;
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
}

function parseNode(json: string | undefined): Node | undefined {
  if (!json) return undefined;
  try {
    const node = JSON.parse(json) as Node;
    return node?.kind === 'Node' && node.metadata?.name ? node : undefined;
  } catch {
    return undefined;
  }
}
