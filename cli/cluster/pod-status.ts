// A pod's STATUS, READY and RESTARTS columns, computed as kubectl's printPod computes them: the
// most telling container reason wins over the phase (ImagePullBackOff, CrashLoopBackOff,
// ContainerCreating, Completed, Error), a pod being deleted reads Terminating.

import type { Condition, ContainerStatus, Pod } from '../../proto/resources';
import { humanDuration } from './age';

export interface PodColumns {
  /** "1/2": ready containers of all containers. */
  ready: string;
  status: string;
  /** "3" or "3 (2m ago)" when a container last terminated at a known time. */
  restarts: string;
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

export function podColumns(pod: Pod, now: Date): PodColumns {
  const statuses = pod.status?.containerStatuses ?? [];
  let reason: string = pod.status?.reason || pod.status?.phase || 'Pending';
  // kubectl shows a pod held by its scheduling gates as such.
  if (!pod.spec.nodeName && pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';
  let restarts = 0;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let hasRunning = false;
  const countRestarts = (c: ContainerStatus) => {
    restarts += c.restartCount ?? 0;
    const finished = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
    if (!Number.isNaN(finished) && (lastRestart === undefined || finished > lastRestart)) lastRestart = finished;
  };
  // Init containers as kubectl's printPod reads them: the first not yet done names the state
  // (Init:0/2, Init:Error, Init:CrashLoopBackOff); started sidecars count as containers.
  const inits = pod.spec?.initContainers ?? [];
  const sidecars = new Set(inits.filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  let initializing = false;
  for (const [i, c] of (pod.status?.initContainerStatuses ?? []).entries()) {
    countRestarts(c);
    const state = c.state ?? {};
    if (state.terminated && state.terminated.exitCode === 0) continue;
    if (sidecars.has(c.name) && c.started) {
      if (c.ready) readyContainers++;
      continue;
    }
    initializing = true;
    if (state.terminated) {
      reason = state.terminated.reason ? `Init:${state.terminated.reason}` : state.terminated.signal ? `Init:Signal:${state.terminated.signal}` : `Init:ExitCode:${state.terminated.exitCode}`;
    } else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${inits.length}`;
    }
    break;
  }
  // Last container first, so that the first container's reason is the one left standing.
  for (let i = initializing && !conditionTrue(pod.status?.conditions, 'Initialized') ? -1 : statuses.length - 1; i >= 0; i--) {
    const c = statuses[i]!;
    countRestarts(c);
    const state = c.state ?? {};
    if (state.waiting?.reason) {
      reason = state.waiting.reason;
    } else if (state.terminated?.reason) {
      reason = state.terminated.reason;
    } else if (state.terminated) {
      reason = state.terminated.signal ? `Signal:${state.terminated.signal}` : `ExitCode:${state.terminated.exitCode}`;
    } else if (c.ready && state.running) {
      hasRunning = true;
      readyContainers++;
    }
  }
  // A container that finished while another still runs: the pod is still running.
  if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod.status?.conditions, 'Ready') ? 'Running' : 'NotReady';
  if (pod.metadata.deletionTimestamp && pod.status?.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && !TERMINAL.has(pod.status?.phase ?? '')) reason = 'Terminating';
  const total = (pod.spec?.containers?.length ?? statuses.length) + sidecars.size;
  return {
    ready: `${readyContainers}/${total}`,
    status: reason,
    restarts: lastRestart !== undefined && restarts > 0 ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts),
  };
}

export function conditionOf(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function conditionTrue(conditions: Condition[] | undefined, type: string): boolean {
  return conditionOf(conditions, type)?.status === 'True';
}

/** Why a pod cannot make progress on its own, worth failing a wait for; undefined when none. */
export function podFailure(pod: Pod): { reason: string; message: string } | undefined {
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) return { reason: waiting.reason, message: waiting.message ?? '' };
  }
  const scheduled = conditionOf(pod.status?.conditions, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') return { reason: 'Unschedulable', message: scheduled.message ?? '' };
  return undefined;
}

/** Container waiting reasons that mean "this will not start without a change": failing fast beats the progress deadline. */
export const STUCK_REASONS: ReadonlySet<string> = new Set(['ImagePullBackOff', 'ErrImagePull', 'CrashLoopBackOff', 'InvalidImageName', 'CreateContainerError', 'CreateContainerConfigError']);

/** Running, not being deleted, and Ready (or, without a Ready condition, every container ready). */
export function podReady(pod: Pod): boolean {
  if (pod.status?.phase !== 'Running' || pod.metadata.deletionTimestamp) return false;
  const ready = conditionOf(pod.status.conditions, 'Ready');
  if (ready) return ready.status === 'True';
  const statuses = pod.status.containerStatuses ?? [];
  return statuses.length === pod.spec.containers.length && statuses.every((c) => c.ready);
}
