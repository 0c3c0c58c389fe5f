// A pod's status as the controller shows it, from what the host has: a pure function of the
// desired pod, the observed containers, image and probe states, and the time. Phase and
// conditions follow the kubelet's rules (getPhase, generateAPIPodStatus).

import type { Condition, Container, ContainerState, ContainerStatus, Pod, PodPhase, PodStatus, RestartPolicy } from '../../proto/resources';
import { containerRestartPolicy } from './container-spec';
import { restartDueAt, restartPolicyOf, restartsAfter } from './plan';
import type { CreateFailure, ImageAvailability, ObservedContainer } from './types';

export interface StatusInput {
  pod: Pod;
  nodeIp: string;
  /** The pod network's address, once it has one. */
  podIp?: string;
  containers: ObservedContainer[];
  images: Record<string, ImageAvailability>;
  createFailures: Record<string, CreateFailure>;
  /** Running containers whose startup probe has not succeeded yet (not started, not ready). */
  notStarted?: ReadonlySet<string>;
  /** Readiness of each container's current run; absent: the container has no readiness probe. */
  readiness: Record<string, boolean>;
  /** When the agent took the pod on (RFC 3339). */
  startTime: string;
  /** The status sent before, for the conditions' lastTransitionTime. */
  previous?: PodStatus;
  /** Why the agent evicted the pod (local-storage.ts): it has failed, reason Evicted. */
  evicted?: string;
  /** The termination message of each ended container's latest run (termination-message.ts), by name. */
  terminationMessages?: Record<string, string>;
  now: number;
}

export interface StatusResult {
  status: PodStatus;
  /** When the status changes by itself (ErrImagePull turns into ImagePullBackOff); undefined: never. */
  changesAt?: number;
}

/** ErrImagePull stays this long at most after a failed pull before ImagePullBackOff (half the back-off when shorter). */
export const ERR_IMAGE_PULL_SHOWN_MS = 5000;

export const CONTAINER_ID_SCHEME = 'berth://';

export function podStatus(input: StatusInput): StatusResult {
  const { pod, now } = input;
  let changesAt: number | undefined;
  const changeAt = (at: number) => {
    changesAt = changesAt === undefined ? at : Math.min(changesAt, at);
  };
  const observed = new Map<string, ObservedContainer>();
  for (const c of input.containers) {
    const seen = observed.get(c.name);
    if (!seen || (c.startedAt ?? '') > (seen.startedAt ?? '')) observed.set(c.name, c);
  }
  const policy = restartPolicyOf(pod);
  const statusOf = (spec: Container, restart: RestartPolicy, notCreated?: { reason: string }): ContainerStatus => {
    const c = observed.get(spec.name);
    if (!c) {
      const waiting = notCreated ?? waitingBeforeCreate(input.images[spec.name], input.createFailures[spec.name], spec.image, now, changeAt);
      return { name: spec.name, image: spec.image, ready: false, started: false, restartCount: 0, state: { waiting } };
    }
    const base = {
      name: spec.name,
      image: spec.image,
      imageID: c.imageId,
      containerID: `${CONTAINER_ID_SCHEME}${c.id}`,
      restartCount: c.restartCount,
    };
    const previousRun: ContainerState | undefined = c.lastExit ? { terminated: terminatedOf(c.lastExit, c.id) } : undefined;
    switch (c.status) {
      case 'created': {
        const failure = input.createFailures[spec.name];
        const waiting = failure ? { reason: 'RunContainerError', message: failure.message } : { reason: 'ContainerCreating' };
        return { ...base, ready: false, started: false, state: { waiting }, ...(previousRun ? { lastState: previousRun } : {}) };
      }
      case 'running':
        return {
          ...base,
          ready: input.readiness[spec.name] ?? true,
          started: !input.notStarted?.has(spec.name),
          state: { running: { ...(c.startedAt ? { startedAt: c.startedAt } : {}) } },
          ...(previousRun ? { lastState: previousRun } : {}),
        };
      case 'restarting':
      case 'exited': {
        const thisRun = { terminated: terminatedOf({ exitCode: c.exitCode ?? 0, startedAt: c.startedAt, finishedAt: c.finishedAt, error: c.error, message: input.terminationMessages?.[spec.name] }, c.id) };
        // An evicted pod's containers do not run again, whatever their policy.
        if (input.evicted === undefined && (c.status === 'restarting' || restartsAfter(restart, c.exitCode))) {
          // The whole back-off rather than what is left of it: the status must not change while waiting.
          const due = c.status === 'restarting' ? Date.parse(c.nextRestartAt ?? '') : restartDueAt(c);
          const finished = Date.parse(c.finishedAt ?? '');
          const wait = due > finished ? ` ${formatDuration(due - finished)}` : '';
          return {
            ...base,
            ready: false,
            started: false,
            state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off${wait} restarting failed container=${spec.name} pod=${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})` } },
            lastState: thisRun,
          };
        }
        return { ...base, ready: false, started: false, state: thisRun, ...(previousRun ? { lastState: previousRun } : {}) };
      }
    }
  };

  // Init containers first: the app containers wait (PodInitializing) until each has succeeded
  // and each sidecar has started; a pod whose app containers exist was initialized already.
  const inits = pod.spec.initContainers ?? [];
  const initStatuses = inits.map((spec) => statusOf(spec, containerRestartPolicy(pod, spec)));
  const initialized = pod.spec.containers.some((spec) => observed.has(spec.name)) || inits.every((spec, i) => {
    const s = initStatuses[i]!;
    return spec.restartPolicy === 'Always' ? s.state?.running !== undefined : s.state?.terminated?.exitCode === 0;
  });
  const statuses: ContainerStatus[] = pod.spec.containers.map((spec) => statusOf(spec, policy, initialized ? undefined : { reason: 'PodInitializing' }));
  const sidecarStatuses = initStatuses.filter((_, i) => inits[i]!.restartPolicy === 'Always');
  const incomplete = initStatuses.filter((st, i) => (inits[i]!.restartPolicy === 'Always' ? !st.started : st.state?.terminated?.exitCode !== 0)).map((st) => st.name);

  const unready = [...sidecarStatuses, ...statuses].filter((s) => !s.ready).map((s) => s.name);
  const previous = new Map([...(pod.status?.conditions ?? []), ...(input.previous?.conditions ?? [])].map((c) => [c.type, c]));
  const condition = (type: string, ok: boolean, reason?: string, message?: string): Condition => {
    const status = ok ? 'True' : 'False';
    const before = previous.get(type);
    const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : new Date(now).toISOString();
    return { type, status, lastTransitionTime, ...(!ok && reason ? { reason } : {}), ...(!ok && message ? { message } : {}) };
  };
  const notReady = `containers with unready status: [${unready.join(' ')}]`;
  const conditions = [
    condition('PodScheduled', true),
    condition('Initialized', initialized, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
    condition('ContainersReady', unready.length === 0, 'ContainersNotReady', notReady),
    condition('Ready', unready.length === 0, 'ContainersNotReady', notReady),
  ];
  const status: PodStatus = {
    phase: input.evicted !== undefined ? 'Failed' : initialized ? phaseOf(statuses, policy) : initPhase(initStatuses, policy),
    ...(input.evicted !== undefined ? { reason: 'Evicted', message: input.evicted } : {}),
    conditions,
    hostIP: input.nodeIp,
    ...(input.podIp ? { podIP: input.podIp } : {}),
    startTime: input.startTime,
    ...(inits.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
  };
  return { status, ...(changesAt !== undefined ? { changesAt } : {}) };
}

/** A pod still initializing: Failed once an init container failed for good (restartPolicy Never), else Pending. */
function initPhase(initStatuses: ContainerStatus[], policy: RestartPolicy): PodPhase {
  const failed = initStatuses.some((s) => s.state?.terminated && s.state.terminated.exitCode !== 0);
  return policy === 'Never' && failed ? 'Failed' : 'Pending';
}

/** The kubelet's getPhase: waiting after a run counts as running (it will run again). */
export function phaseOf(statuses: ContainerStatus[], policy: 'Always' | 'OnFailure' | 'Never'): PodPhase {
  let pending = 0;
  let running = 0;
  let succeeded = 0;
  let failed = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) (s.state.terminated.exitCode === 0 ? succeeded++ : failed++);
    else if (s.lastState?.terminated) running++;
    else pending++;
  }
  if (pending > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (statuses.length === 0) return 'Pending';
  // Every container ended for good (a restartable one would show as waiting, counted as running).
  if (policy === 'Always') return 'Running';
  return failed > 0 ? 'Failed' : 'Succeeded';
}

function waitingBeforeCreate(image: ImageAvailability | undefined, createFailure: CreateFailure | undefined, ref: string, now: number, changeAt: (at: number) => void): { reason: string; message?: string } {
  if (!image || image.state === 'missing') return { reason: 'ContainerCreating' };
  switch (image.state) {
    case 'present':
      return createFailure ? { reason: createFailure.reason ?? 'CreateContainerError', message: createFailure.message } : { reason: 'ContainerCreating' };
    case 'pulling':
      return image.previousFailure ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${ref}": ${image.previousFailure}` } : { reason: 'ContainerCreating' };
    case 'failed': {
      const shownUntil = image.failedAt + Math.min(ERR_IMAGE_PULL_SHOWN_MS, (image.retryAt - image.failedAt) / 2);
      if (now < shownUntil) {
        changeAt(shownUntil);
        return { reason: 'ErrImagePull', message: image.message };
      }
      return { reason: 'ImagePullBackOff', message: `Back-off pulling image "${ref}": ${image.message}` };
    }
    case 'never':
      return { reason: 'ErrImageNeverPull', message: image.message };
    case 'invalid':
      return { reason: 'InvalidImageName', message: image.message };
  }
}

function terminatedOf(run: { exitCode: number; startedAt?: string | undefined; finishedAt?: string | undefined; error?: string | undefined; message?: string | undefined }, id: string): NonNullable<ContainerState['terminated']> {
  const reason = run.error === 'OOMKilled' ? 'OOMKilled' : run.error ? 'StartError' : run.exitCode === 0 ? 'Completed' : 'Error';
  // What the container wrote wins; a start error's cause otherwise.
  const message = run.message || (run.error && run.error !== 'OOMKilled' ? run.error : undefined);
  return {
    exitCode: run.exitCode,
    ...(run.exitCode > 128 && run.exitCode < 160 && !run.error ? { signal: run.exitCode - 128 } : {}),
    reason,
    ...(message ? { message } : {}),
    ...(run.startedAt ? { startedAt: run.startedAt } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    containerID: `${CONTAINER_ID_SCHEME}${id}`,
  };
}

/** 1m4s, 3.2s, 800ms: as Go prints a duration, roughly. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s * 10) / 10}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}
