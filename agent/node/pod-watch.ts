// The pods bound to this node as the controller's watch tells them, and what changed with each
// event. Pure bookkeeping: no I/O, no clock.
//
// WatchPods without a resource version sends every bound pod as ADDED, then SYNCED, then changes;
// from a resource version, every later change. RESYNC means a fresh list follows: whatever is not
// listed again by the next SYNCED is gone. A list cut short is started again from scratch, since
// the pods not yet listed would never come.

import type { Pod } from '../../proto/resources';
import { podKey, podRef } from './naming';
import type { PodRef } from './types';

export type PodChange =
  /** The pod as it should be now (newest wins). */
  | { type: 'desired'; pod: Pod }
  /** Deleted, no longer bound here, or not listed again: its containers must go. */
  | { type: 'gone'; ref: PodRef }
  /** A full list is complete: every pod bound here is known. */
  | { type: 'synced' };

export interface RawWatchEvent {
  type: string;
  /** The pod as JSON (absent for SYNCED and RESYNC). */
  json?: string;
  resourceVersion?: string;
}

/**
 * Where a list-then-watch stream resumes, shared by the pod and node watches: the last resource
 * version, or '' for a full list (at first, after a relist, or when a list was cut short, since
 * what was not listed yet would never come).
 */
export class WatchCursor {
  /** While a list is being received: the keys listed so far. */
  protected listed: Set<string> | undefined;
  protected version = '';

  /** Where the next stream starts. */
  resumeFrom(): string {
    return this.listed ? '' : this.version;
  }

  /** Forget the resource version: the next stream lists everything again (a new epoch). */
  relist(): void {
    this.version = '';
  }

  /** A stream opened from `resumeFrom()`. */
  begin(resourceVersion: string): void {
    if (resourceVersion === '') this.listed = new Set();
  }
}

export class PodWatchState extends WatchCursor {
  private readonly pods = new Map<string, Pod>();

  constructor(private readonly nodeName: string) {
    super();
  }

  /** Every pod known, by uid. Frozen documents: clone before changing. */
  current(): Pod[] {
    return [...this.pods.values()];
  }

  apply(event: RawWatchEvent): PodChange[] {
    const changes: PodChange[] = [];
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const pod = parsePod(event.json);
        if (!pod) break;
        const uid = pod.metadata.uid!;
        if (event.resourceVersion || pod.metadata.resourceVersion) this.version = event.resourceVersion || pod.metadata.resourceVersion!;
        if (event.type === 'DELETED' || (pod.spec.nodeName !== undefined && pod.spec.nodeName !== this.nodeName)) {
          // Reported also for a pod not known here: containers of it may still be on the host.
          this.pods.delete(uid);
          this.listed?.delete(uid);
          changes.push({ type: 'gone', ref: podRef(pod) });
          break;
        }
        // A new pod under a name an older pod had: the older one is gone (its delete was missed).
        for (const [other, p] of this.pods) {
          if (other !== uid && podKey(podRef(p)) === podKey(podRef(pod))) {
            this.pods.delete(other);
            changes.push({ type: 'gone', ref: podRef(p) });
          }
        }
        this.pods.set(uid, Object.freeze(pod));
        this.listed?.add(uid);
        changes.push({ type: 'desired', pod });
        break;
      }
      case 'RESYNC':
        this.listed = new Set();
        break;
      case 'SYNCED':
        if (event.resourceVersion) this.version = event.resourceVersion;
        if (this.listed) {
          for (const [uid, p] of this.pods) {
            if (this.listed.has(uid)) continue;
            this.pods.delete(uid);
            changes.push({ type: 'gone', ref: podRef(p) });
          }
          this.listed = undefined;
        }
        changes.push({ type: 'synced' });
        break;
      default:
        break;
    }
    return changes;
  }
}

function parsePod(json: string | undefined): Pod | undefined {
  if (!json) return undefined;
  try {
    const pod = JSON.parse(json) as Pod;
    if (pod?.kind !== 'Pod' || !pod.metadata?.uid || !pod.metadata.name || !Array.isArray(pod.spec?.containers)) return undefined;
    return pod;
  } catch {
    return undefined;
  }
}
