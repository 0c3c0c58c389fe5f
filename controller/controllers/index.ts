// The controllers: one work queue, and per controller a pure planner (deployment, replicaset,
// node lifecycle, garbage collector). Executors and wiring (informers, store writes) live apart
// and import from here. See types.ts for the plan/execute split.

export { WorkQueue, type WorkQueueOptions, type Handler, type HandlerResult } from './queue';
export { systemTimers, ManualTimers, type Timers, type TimerHandle } from './timers';
export type { Plan, ObjectRef, EventSpec, EventAction } from './types';
export { getCondition, setCondition, newCondition, replaceCondition, removeCondition } from './conditions';
export { controllerRef, isControlledBy, controllerReferenceTo, timeOf, canonicalJson, sameJson } from './objects';
export { isActive, isReady, isAvailable, isTerminated, isBeingDeleted } from './pods';
export * as deployment from './deployment';
export * as replicaset from './replicaset';
export * as node from './node';
export * as gc from './gc';
