// What a resource is, for every process: the documents' types and kinds (types.ts), exact
// quantities (quantity.ts), what pods request and nodes offer (requests.ts), and label and field
// selectors (labels.ts). Pure: nothing here does I/O or imports anything outside proto/.

export * from './types';
export * from './quantity';
export * from './requests';
export * from './labels';
export * from './defaults';
export * from './security';
export * from './references';
export * from './node-affinity';
export * from './storage';
export * from './taints';
export { scheduleProblem, scheduleTimes, nextScheduleTime } from './schedule';
export * from './network-policy';
export * from './ingress';
export * from './metrics';
export * from './custom-resources';
