// Resource metrics: what agents report is kept here and read by `berth top` and the
// HorizontalPodAutoscaler. See store.ts.

export { MetricsStore, METRICS_PREFIX, METRICS_STALE_MS, type MetricsReader } from './store';
