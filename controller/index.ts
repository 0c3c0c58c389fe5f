// The controller's public face: start one in this process.
export { startController, DEFAULT_LISTEN, DEFAULT_NODE_GRACE_PERIOD_MS, DEFAULT_POD_EVICTION_TIMEOUT_MS } from './server';
export type { Controller, ControllerOptions } from './server';
