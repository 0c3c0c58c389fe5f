// Probes for one pod: a runner per probe of each running container's current run (a restart is a
// new run, with new runners), the readiness they report, and the containers whose liveness or
// startup probe failed in their current run. A container with a startupProbe has only that one
// until it succeeds (then liveness and readiness start, as in Kubernetes); it is not started, nor
// ready, before.

import type { Container, Pod } from '../../proto/resources';
import type { EventRecorder } from './event-recorder';
import { containerHash, podContainers } from './naming';
import { probeSettings, probeTarget, type ProbeKind } from './probe';
import { ProbeRunner } from './probe-runner';
import type { Clock, ObservedContainer, PodRef, PodRuntime } from './types';

export interface PodProbesDeps {
  containers: Pick<PodRuntime, 'exec'>;
  events: EventRecorder;
  clock: Clock;
  /** The pod's address, once its network has one (HTTP and TCP probes target it). */
  podIp(): string | undefined;
  /** A verdict changed: the worker looks again. */
  kick(): void;
}

/** A container's current run: its ID and when it started (a restart is a new run). */
export const runOf = (c: ObservedContainer): string => `${c.id}@${c.startedAt ?? ''}`;

export class PodProbes {
  private readonly probes = new Map<string, { run: string; runner: ProbeRunner }>();
  /** Containers whose liveness probe failed, by name, with the run it failed in. */
  private readonly unhealthy = new Map<string, string>();
  /** Containers whose startup probe succeeded, by name, with the run it succeeded in. */
  private readonly startedRuns = new Map<string, string>();

  constructor(private readonly ref: PodRef, private readonly d: PodProbesDeps) {}

  /** Names of the observed containers whose liveness probe failed in their current run. */
  unhealthyNames(observed: ObservedContainer[]): string[] {
    return observed.filter((c) => this.unhealthy.get(c.name) === runOf(c)).map((c) => c.name);
  }

  /** The container is being stopped or restarted: its liveness verdict is spent. */
  forgetUnhealthy(container: string): void {
    this.unhealthy.delete(container);
  }

  /** One runner per probe of each running container's current run; none for anything else. */
  sync(pod: Pod, observed: ObservedContainer[]): void {
    const wanted = new Map<string, { spec: Container; container: ObservedContainer; kind: ProbeKind }>();
    for (const spec of podContainers(pod)) {
      const c = observed.find((o) => o.name === spec.name && o.status === 'running' && o.hash === containerHash(spec));
      if (!c) continue;
      if (spec.startupProbe && this.startedRuns.get(spec.name) !== runOf(c)) {
        wanted.set(`${spec.name}/startup`, { spec, container: c, kind: 'startup' });
        continue;
      }
      if (spec.livenessProbe) wanted.set(`${spec.name}/liveness`, { spec, container: c, kind: 'liveness' });
      if (spec.readinessProbe) wanted.set(`${spec.name}/readiness`, { spec, container: c, kind: 'readiness' });
    }
    this.stop((key, run) => wanted.get(key) === undefined || runOf(wanted.get(key)!.container) !== run);
    for (const [key, { spec, container, kind }] of wanted) {
      if (this.probes.has(key)) continue;
      const probe = kind === 'liveness' ? spec.livenessProbe! : kind === 'readiness' ? spec.readinessProbe! : spec.startupProbe!;
      const run = runOf(container);
      const label = kind === 'liveness' ? 'Liveness' : kind === 'readiness' ? 'Readiness' : 'Startup';
      const settings = probeSettings(probe, kind);
      const runner = new ProbeRunner({
        kind,
        settings,
        target: () => probeTarget(probe, spec, this.d.podIp()),
        startedAtMs: Date.parse(container.startedAt ?? '') || this.d.clock.now(),
        exec: (command, signal) => this.exec(container.id, command, signal),
        clock: this.d.clock,
        onResult: (state, before, outcome) => {
          if (!outcome.ok) this.d.events.record(this.ref, 'Warning', 'Unhealthy', `${label} probe failed: ${outcome.message ?? 'failed'}`, spec.name);
          if (kind === 'liveness' && before.healthy && !state.healthy) this.unhealthy.set(spec.name, run);
          if (kind === 'startup') {
            // Started: the other probes take over. Failed failureThreshold times: restarted, as a failed liveness probe.
            if (state.healthy) this.startedRuns.set(spec.name, run);
            else if (state.failures >= settings.failureThreshold) this.unhealthy.set(spec.name, run);
            if (state.healthy || state.failures >= settings.failureThreshold) this.d.kick();
            return;
          }
          if (before.healthy !== state.healthy) this.d.kick();
        },
      });
      this.probes.set(key, { run, runner });
      runner.start();
    }
  }

  /** Stop the runners `which` picks (by probe key and run). */
  stop(which: (key: string, run: string) => boolean): void {
    for (const [key, { run, runner }] of this.probes) {
      if (!which(key, run)) continue;
      runner.stop();
      this.probes.delete(key);
    }
  }

  /** Readiness of each container that has a readiness or startup probe (not ready until they succeed). */
  readiness(pod: Pod, observed: ObservedContainer[]): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    const notStarted = this.notStarted(pod, observed);
    for (const spec of podContainers(pod)) {
      if (notStarted.has(spec.name)) out[spec.name] = false;
      else if (spec.readinessProbe) out[spec.name] = this.probes.get(`${spec.name}/readiness`)?.runner.state.healthy ?? false;
    }
    return out;
  }

  /** Containers with a startup probe that has not succeeded in their current run (status `started: false`). */
  notStarted(pod: Pod, observed: ObservedContainer[]): Set<string> {
    const out = new Set<string>();
    for (const spec of podContainers(pod)) {
      const c = observed.find((o) => o.name === spec.name && o.status === 'running');
      if (spec.startupProbe && c && this.startedRuns.get(spec.name) !== runOf(c)) out.add(spec.name);
    }
    return out;
  }

  private exec(id: string, command: string[], signal: AbortSignal): Promise<{ exitCode: number; output: string }> {
    return execCollecting(this.d.containers, id, command, signal);
  }
}

/** A command run in a container (a probe's, a hook's): its exit code and the first 16 KiB it printed. */
export async function execCollecting(containers: Pick<PodRuntime, 'exec'>, id: string, command: string[], signal: AbortSignal): Promise<{ exitCode: number; output: string }> {
  let output = '';
  const collect = (b: Buffer) => {
    if (output.length < 16 * 1024) output += b.toString('utf8');
  };
  const exitCode = await containers.exec(id, command, {}, { onStdout: collect, onStderr: collect, signal });
  return { exitCode, output };
}
