// The disruption controller's pure decisions: budgets' status and the eviction verdict. Its loop
// (loop.ts) is started by ../index.ts; evict.ts is the eviction the API serves.

export { budgetPods, budgetStatus, evictionVerdict, DISRUPTED_POD_TIMEOUT_MS, VIOLATES_BUDGET, type EvictionVerdict, type ScaleOf } from './plan';
