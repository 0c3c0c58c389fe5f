// A container's lifecycle hooks, as the kubelet runs them: postStart right after the container
// starts (failing it kills the container, which then restarts by the pod's restartPolicy), preStop
// before it is stopped, within its grace period (what the hook took is taken from the grace the
// stop gets). A hook is an exec in the container, an HTTP GET or TCP connect to the pod (as probes
// are made: prober.ts), or a sleep.

import type { Container, LifecycleHandler, Probe } from '../../proto/resources';
import { probeTarget } from './probe';
import { runProbe, type ContainerExec, type ProbeOutcome } from './prober';

export type HookKind = 'PostStart' | 'PreStop';

/** Run one hook to its end or `timeoutMs`. */
export async function runHook(handler: LifecycleHandler, container: Container, podIp: string | undefined, exec: ContainerExec, timeoutMs: number): Promise<ProbeOutcome> {
  if (handler.sleep) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(handler.sleep!.seconds * 1000, timeoutMs)));
    return { ok: true };
  }
  try {
    return await runProbe(probeTarget(handler as Probe, container, podIp), timeoutMs, exec);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/** The kubelet's event for a failed hook: its reason and message. */
export function hookFailure(kind: HookKind, outcome: ProbeOutcome): { reason: string; message: string } {
  return { reason: `Failed${kind}Hook`, message: `${kind}Hook failed${outcome.message ? `: ${outcome.message}` : ''}` };
}
