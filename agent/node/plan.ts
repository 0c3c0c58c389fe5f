// What a pod worker does next: a pure function of the desired pod, what the host has, and the
// time. Every action it returns can run at once with the others (none depends on another of the
// same pass); the worker carries them out, observes the host again and plans again, until a plan
// is empty. Back-offs end at `wakeAt`, when the worker plans again without being asked.

import type { Container, Pod, RestartPolicy } from '../../proto/resources';
import { nextRestartDelay } from '../runtime';
import { containerHash } from './naming';
import type { Action, ObservedContainer, Plan, PlanInput } from './types';

export const DEFAULT_GRACE_SECONDS = 30;

export const restartPolicyOf = (pod: Pod): RestartPolicy => pod.spec.restartPolicy ?? 'Always';

export const graceSecondsOf = (pod: Pod): number => {
  const g = pod.spec.terminationGracePeriodSeconds;
  return typeof g === 'number' && g >= 0 ? g : DEFAULT_GRACE_SECONDS;
};

/** Does a container that exited with this code run again under the pod's policy? */
export function restartsAfter(policy: RestartPolicy, exitCode: number | undefined): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return (exitCode ?? 0) !== 0;
  return false;
}

/**
 * When an exited container that the runtime will not bring back itself (its start failed) may
 * start again: after the container's own crash back-off (for pods the kubelet's: 10 s doubling to
 * 5 min, reset by a run of 10 min), the one the runtime applies to its crashes, so both kinds of
 * restart look alike.
 */
export function restartDueAt(c: ObservedContainer): number {
  const finished = Date.parse(c.finishedAt ?? '') || 0;
  return finished + nextRestartDelay(c.backoff, c);
}

export function plan(input: PlanInput): Plan {
  return input.terminating ? planTermination(input) : planSync(input);
}

/** Stop what runs (within the grace period), remove every container, then the network, cgroup and volumes, then report. */
function planTermination(input: PlanInput): Plan {
  const actions: Action[] = [];
  // A pod known only from its containers' labels says nothing: each container keeps the grace
  // period it was made with.
  const graceSeconds = input.pod.spec.terminationGracePeriodSeconds;
  // Sidecars outlive the app containers: they are stopped once nothing else runs.
  const sidecars = new Set((input.pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const othersRunning = input.containers.some((c) => c.status === 'running' && !sidecars.has(c.name));
  for (const c of input.containers) {
    if (c.status === 'running' && sidecars.has(c.name) && othersRunning) continue;
    if (c.status === 'running') actions.push({ type: 'stop-container', container: c.name, id: c.id, ...(graceSeconds !== undefined ? { graceSeconds } : {}), reason: 'pod-terminating' });
    else actions.push({ type: 'remove-container', container: c.name, id: c.id, reason: 'pod-terminating' });
  }
  if (actions.length > 0) return { actions };
  // The sandbox goes once every container has: the network, the cgroup that held them, the volumes.
  if (input.network.exists) actions.push({ type: 'detach-network' });
  if (input.cgroup.exists) actions.push({ type: 'remove-pod-cgroup' });
  if (input.podDir?.exists) actions.push({ type: 'remove-pod-dir' });
  return { actions: actions.length > 0 ? actions : [{ type: 'pod-terminated' }] };
}

function planSync(input: PlanInput): Plan {
  const { pod } = input;
  const actions: Action[] = [];
  let wakeAt: number | undefined;
  const wake = (at: number) => {
    wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at);
  };
  const policy = restartPolicyOf(pod);
  const graceSeconds = graceSecondsOf(pod);
  const inits = pod.spec.initContainers ?? [];
  const specs = new Map([...inits, ...pod.spec.containers].map((c) => [c.name, c]));

  // One container per name; anything else of the pod's goes (the newest of a name is kept).
  const current = new Map<string, ObservedContainer>();
  const byAge = [...input.containers].sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  for (const c of byAge) {
    const extra = !specs.has(c.name) ? 'not-in-spec' : current.has(c.name) ? 'duplicate' : undefined;
    if (extra === undefined) {
      current.set(c.name, c);
      continue;
    }
    actions.push(c.status === 'running'
      ? { type: 'stop-container', container: c.name, id: c.id, graceSeconds, reason: 'spec-changed' }
      : { type: 'remove-container', container: c.name, id: c.id, reason: extra });
  }

  // An evicted pod's containers stop and stay stopped; its network goes as a finished pod's.
  if (actions.length === 0 && input.evicted) {
    for (const c of current.values()) {
      if (c.status === 'running' || c.status === 'restarting') actions.push({ type: 'stop-container', container: c.name, id: c.id, graceSeconds, reason: 'evicted' });
    }
    if (actions.length === 0 && input.network.exists && !pod.spec.hostNetwork) actions.push({ type: 'detach-network' });
    return done();
  }

  // A pod whose containers have all ended for good gives its sandbox's network back (its address
  // returns to the node's pool, as the kubelet tears a finished pod's sandbox down); its exited
  // containers stay for their logs until the pod is deleted. Sidecars still running are stopped.
  if (actions.length === 0 && hasFinished(pod, current, policy)) {
    for (const c of current.values()) {
      if (c.status === 'running') actions.push({ type: 'stop-container', container: c.name, id: c.id, graceSeconds, reason: 'pod-completed' });
    }
    // A pod on the host's network has nothing of its own to give back.
    if (actions.length === 0 && input.network.exists && !pod.spec.hostNetwork) actions.push({ type: 'detach-network' });
    return done();
  }

  if (!input.network.ready) actions.push({ type: 'attach-network' });
  if (!input.cgroup.exists) actions.push({ type: 'create-pod-cgroup' });

  // Init containers one at a time, in order: each to success (a sidecar: until started) before
  // the next; the app containers once all are. A pod whose app containers exist was initialized
  // already (as the kubelet decides): its init containers do not run again.
  const initialized = pod.spec.containers.some((spec) => current.has(spec.name));
  for (const spec of inits) {
    const sidecar = spec.restartPolicy === 'Always';
    if (initialized && !sidecar) continue;
    const c = current.get(spec.name);
    if (!c) {
      planCreate(input, spec, actions, wake);
      return done();
    }
    if (sidecar) {
      const running = c.status === 'running';
      planExisting(input, c, spec, 'Always', graceSeconds, actions, wake);
      if (running || initialized) continue;
      return done();
    }
    if (c.status === 'exited' && c.exitCode === 0) continue;
    // An init container that failed runs again unless the pod never restarts (then the pod failed).
    planExisting(input, c, spec, policy === 'Never' ? 'Never' : 'OnFailure', graceSeconds, actions, wake);
    return done();
  }

  for (const spec of pod.spec.containers) {
    const c = current.get(spec.name);
    if (!c) planCreate(input, spec, actions, wake);
    else planExisting(input, c, spec, policy, graceSeconds, actions, wake);
  }
  return done();

  function done(): Plan {
    return { actions, ...(wakeAt !== undefined ? { wakeAt } : {}) };
  }
}

/**
 * Whether a pod (restartPolicy OnFailure or Never) has ended: every app container exited and will
 * not run again, or an init container failed under Never. A pod that always restarts never ends.
 */
export function hasFinished(pod: Pod, current: ReadonlyMap<string, ObservedContainer>, policy: RestartPolicy): boolean {
  if (policy === 'Always') return false;
  const ended = (c: ObservedContainer | undefined) => c?.status === 'exited' && !restartsAfter(policy, c.exitCode);
  const initFailed = (pod.spec.initContainers ?? []).some((spec) => spec.restartPolicy !== 'Always' && ended(current.get(spec.name)) && current.get(spec.name)!.exitCode !== 0);
  if (initFailed && policy === 'Never') return true;
  return pod.spec.containers.every((spec) => ended(current.get(spec.name)));
}

/** A container that exists: replaced when its spec changed, started, restarted or stopped as its state and policy say. */
function planExisting(input: PlanInput, c: ObservedContainer, spec: Container, policy: RestartPolicy, graceSeconds: number, actions: Action[], wake: (at: number) => void): void {
  const { now } = input;
  if (c.hash !== containerHash(spec)) {
    actions.push(c.status === 'running'
      ? { type: 'stop-container', container: c.name, id: c.id, graceSeconds, reason: 'spec-changed' }
      : { type: 'remove-container', container: c.name, id: c.id, reason: 'spec-changed' });
    return;
  }
  switch (c.status) {
    case 'created': {
      if (!input.network.ready) break;
      const failure = input.createFailures[c.name];
      if (failure && now < failure.retryAt) wake(failure.retryAt);
      else actions.push({ type: 'start-container', container: c.name, id: c.id, restart: false });
      break;
    }
    case 'running':
      if (input.unhealthy.includes(c.name)) {
        // Never: the container is not run again, only stopped, as the kubelet does.
        actions.push(policy === 'Never'
          ? { type: 'stop-container', container: c.name, id: c.id, graceSeconds, reason: 'liveness' }
          : { type: 'restart-container', container: c.name, id: c.id, reason: 'liveness' });
      }
      break;
    case 'restarting':
      // The runtime brings it back when its back-off ends.
      break;
    case 'exited': {
      if (!restartsAfter(policy, c.exitCode)) break;
      const due = restartDueAt(c);
      if (now >= due && input.network.ready) actions.push({ type: 'start-container', container: c.name, id: c.id, restart: true });
      else if (now < due) wake(due);
      break;
    }
  }
}

/** A container that does not exist yet: its image first, then (with the network up) the create. */
function planCreate(input: PlanInput, spec: Container, actions: Action[], wake: (at: number) => void): void {
  const image = input.images[spec.name] ?? { state: 'missing' };
  switch (image.state) {
    case 'missing':
      actions.push({ type: 'pull-image', container: spec.name, image: spec.image });
      return;
    case 'failed':
      if (input.now >= image.retryAt) actions.push({ type: 'pull-image', container: spec.name, image: spec.image });
      else wake(image.retryAt);
      return;
    case 'pulling':
    case 'never':
    case 'invalid':
      return;
    case 'present': {
      // Made inside the pod's cgroup, or it would escape the pod's limits.
      if (!input.network.ready || !input.cgroup.exists) return;
      const failure = input.createFailures[spec.name];
      if (failure && input.now < failure.retryAt) {
        wake(failure.retryAt);
        return;
      }
      actions.push({ type: 'create-container', container: spec.name });
    }
  }
}
