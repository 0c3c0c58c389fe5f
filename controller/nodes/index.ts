// What others may import from node sessions (see types.ts for the rules and their lifecycle).
// rules.ts is pure: a pure planner (controllers/node) imports it directly, without the registry.

export { nodeSessions } from './sessions';
export { boundTo, epochOf, isDeclaredLost, requireValidNodeName, withEpochBumped } from './rules';
export type { NodeSessions, NodeSessionOptions, PodStatusReport, Registration, Renewal } from './types';
export { checkEventReport, checkPodStatus, MAX_EVENT_MESSAGE, MAX_STATUS_BYTES } from './reports';
