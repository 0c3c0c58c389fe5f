// The usage the agents report (metrics-server's job): the latest report of each node, kept in the
// store under /berth/metrics/nodes/<node> so that every controller (the leader's autoscaler, any
// API server's `top`) reads the same, whichever controller the agent reports to. A report older
// than a few resolutions is stale (its node stopped reporting) and is not used.

import { BerthError } from '../../proto/errors';
import type { NodeMetricsReport } from '../../proto/resources';
import type { Store } from '../store';

export const METRICS_PREFIX = '/berth/metrics/nodes/';
/** Reports older than this are ignored: metrics-server keeps a node's for about as long. */
export const METRICS_STALE_MS = 90_000;

export interface MetricsReader {
  /** The fresh reports, one per node. */
  reports(): Promise<NodeMetricsReport[]>;
}

export class MetricsStore implements MetricsReader {
  constructor(private readonly store: Store, private readonly now: () => number) {}

  /** Keep a node's latest report (replacing its previous one). */
  async put(report: NodeMetricsReport): Promise<void> {
    const key = `${METRICS_PREFIX}${report.node}`;
    const value = Buffer.from(JSON.stringify(report));
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.store.get(key);
      try {
        if (existing) await this.store.update(key, value, existing.modRevision);
        else await this.store.create(key, value);
        return;
      } catch (err) {
        const code = (err as BerthError).code;
        if (code !== 'conflict' && code !== 'already-exists' && code !== 'not-found') throw err;
      }
    }
  }

  async reports(): Promise<NodeMetricsReport[]> {
    const { items } = await this.store.list(METRICS_PREFIX);
    const fresh: NodeMetricsReport[] = [];
    for (const kv of items) {
      try {
        const report = JSON.parse(kv.value.toString()) as NodeMetricsReport;
        if (this.now() - Date.parse(report.timestamp) <= METRICS_STALE_MS) fresh.push(report);
      } catch {
        // A report that does not parse is no report.
      }
    }
    return fresh;
  }
}
