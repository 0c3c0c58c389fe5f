// The control loops, wired to informers and the work queue. (Filled in as the planners land.)

import type { Clock, Registry } from './api/registry';

export interface ControlLoopOptions {
  registry: Registry;
  clock: Clock;
  nodeGracePeriodMs: number;
  podEvictionTimeoutMs: number;
}

export interface ControlLoops {
  stop(): void;
}

export async function startControlLoops(_options: ControlLoopOptions): Promise<ControlLoops> {
  return { stop() {} };
}
