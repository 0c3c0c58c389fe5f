// One pod's worker (kubelet's pod_workers): serialized, so that nothing done for one pod ever
// interleaves; the newest desired state wins (updates that arrive while a pass runs are
// coalesced into the next pass); phases in order — waiting (adopted, desired state not known
// yet), syncing, terminating, terminated — each retried with back-off until it succeeds.
//
// A pass observes the host (the pod's containers by label, its network attachment), asks the
// planner what to do, does it, and repeats until the plan is empty; then it reports the status.
// Pulls run in the background (a pod never waits in a pull queue behind another pod's image) and
// wake the worker when they end, as do container changes, probe verdicts and back-off timers.

import type { Container, Pod, PodStatus } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { ContainerNetwork, NetworkAttachment } from '../network/types';
import type { ContainerService } from '../runtime/service';
import { backoffDelay, RETRY_BACKOFF } from './backoff';
import { createRequest, publishedPorts } from './container-spec';
import type { StatusReport } from './controller-link';
import type { EventRecorder } from './event-recorder';
import { canonicalImage, pullPolicyOf, type ImagePuller } from './image-puller';
import { containerHash, networkId, observeContainer } from './naming';
import { graceSecondsOf, plan } from './plan';
import { podStatus } from './pod-status';
import { probeSettings, probeTarget, type ProbeKind } from './probe';
import { ProbeRunner } from './probe-runner';
import type { Action, Clock, CreateFailure, ImageAvailability, NodeConfig, ObservedContainer, PodRef } from './types';
import { LABELS } from './types';

export type WorkerPhase =
  /** Adopted after an agent restart: its containers are known, its desired state not yet. */
  | 'waiting'
  | 'syncing'
  | 'terminating'
  /** Nothing of the pod is left; the controller is being told. */
  | 'terminated';

export interface WorkerDeps {
  config: NodeConfig;
  clock: Clock;
  containers: ContainerService;
  network: ContainerNetwork;
  puller: ImagePuller;
  events: EventRecorder;
  report(report: StatusReport): void;
  log(line: string): void;
}

/** More passes than this in a row means something keeps changing under us: pause, then go on. */
const MAX_PASSES = 12;

export class PodWorker {
  private desired: Pod | undefined;
  private gone = false;
  private phaseNow: WorkerPhase = 'waiting';
  private dirty = false;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private startTime: string | undefined;
  private attachment: NetworkAttachment | undefined;
  /** Images pulled for containers still to be created (pull policy Always pulls for each create). */
  private readonly pulled = new Map<string, { image: string; imageId: string }>();
  /** Pulls this pod waits for, by container name. */
  private readonly pulling = new Map<string, string>();
  private readonly createFailures = new Map<string, CreateFailure & { failures: number }>();
  private readonly probes = new Map<string, { run: string; runner: ProbeRunner }>();
  /** Containers whose liveness probe failed, by name, with the run it failed in. */
  private readonly unhealthy = new Map<string, string>();
  /** Events already recorded for a state, so that a state seen in many passes is told once. */
  private readonly told = new Set<string>();
  private lastStatus: PodStatus | undefined;

  constructor(readonly ref: PodRef, private readonly d: WorkerDeps) {}

  get phase(): WorkerPhase {
    return this.phaseNow;
  }

  get pod(): Pod | undefined {
    return this.desired;
  }

  /** The newest desired state; a pass follows. */
  update(pod: Pod): void {
    this.desired = pod;
    this.kick();
  }

  /** The pod was deleted, unbound or not listed again: its containers go. */
  terminate(): void {
    this.gone = true;
    this.kick();
  }

  /** Something about the pod changed on the host: look again. */
  kick(): void {
    if (this.stopped || this.phaseNow === 'terminated') return;
    this.dirty = true;
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
    });
  }

  /** The agent stops: timers and probes end; the containers run on. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.stopProbes(() => true);
    await this.loop;
  }

  /** The runtime ID of a container of this pod, for logs. */
  containerId(name: string): string | undefined {
    return this.observe().find((c) => c.name === name)?.id;
  }

  // ---- the loop ------------------------------------------------------------------------------

  private async run(): Promise<void> {
    while (this.dirty && !this.stopped && this.phaseNow !== 'terminated') {
      this.dirty = false;
      try {
        await this.sync();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        const delay = backoffDelay(RETRY_BACKOFF, this.failures);
        this.d.log(`pod ${this.ref.namespace}/${this.ref.name}: ${(err as Error).message} (retrying in ${delay} ms)`);
        this.wakeAt(this.d.clock.now() + delay);
      }
    }
  }

  private wakeAt(at: number | undefined): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (at === undefined || this.stopped) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.kick();
    }, Math.max(0, at - this.d.clock.now()) + 5);
    this.wakeTimer.unref();
  }

  private async sync(): Promise<void> {
    let pod = this.desired;
    const terminating = this.gone || Boolean(pod?.metadata.deletionTimestamp) || (pod?.spec.nodeName !== undefined && pod.spec.nodeName !== this.d.config.nodeName);
    if (!pod && !terminating) return;
    // A pod known only from its containers' labels: enough to stop them (each has its grace period).
    pod ??= { apiVersion: 'v1', kind: 'Pod', metadata: { ...this.ref }, spec: { containers: [] } };
    if (terminating && this.phaseNow !== 'terminating') {
      this.phaseNow = 'terminating';
      this.stopProbes(() => true);
    } else if (!terminating) {
      this.phaseNow = 'syncing';
    }
    this.startTime ??= pod.status?.startTime ?? new Date(this.d.clock.now()).toISOString();

    let wakeAt: number | undefined;
    let failure: unknown;
    try {
      wakeAt = await this.passes(pod, terminating);
    } catch (err) {
      failure = err;
    }
    if (this.phaseNow === 'terminated') return;
    // The status goes out after a failed pass too: it says what is wrong.
    const observed = this.observe();
    const result = podStatus({
      pod,
      nodeIp: this.d.config.nodeIp,
      ...(this.attachment?.ip ? { podIp: this.attachment.ip } : {}),
      containers: observed,
      images: terminating ? {} : this.images(pod, observed),
      createFailures: Object.fromEntries(this.createFailures),
      readiness: this.readiness(pod),
      startTime: this.startTime,
      ...(this.lastStatus ? { previous: this.lastStatus } : {}),
      now: this.d.clock.now(),
    });
    this.lastStatus = result.status;
    if (this.desired) this.d.report({ ...this.ref, status: result.status, terminated: false });
    if (failure) throw failure;
    const next = [wakeAt, result.changesAt].filter((t): t is number => t !== undefined);
    this.wakeAt(next.length > 0 ? Math.min(...next) : undefined);
  }

  /** Observe, plan, act, until the plan is empty; the time to look again by itself, if any. */
  private async passes(pod: Pod, terminating: boolean): Promise<number | undefined> {
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const observed = this.observe();
      const networkExists = await this.d.network.has(networkId(this.ref));
      if (!networkExists) this.attachment = undefined;
      const images = terminating ? {} : this.images(pod, observed);
      if (!terminating) this.syncProbes(pod, observed);
      this.tellStates(pod, observed, images);
      const decision = plan({
        pod,
        terminating,
        network: { exists: networkExists, ready: networkExists && this.attachment !== undefined },
        containers: observed,
        images,
        createFailures: Object.fromEntries(this.createFailures),
        unhealthy: observed.filter((c) => this.unhealthy.get(c.name) === runOf(c)).map((c) => c.name),
        now: this.d.clock.now(),
      });
      if (decision.actions.length === 0) return decision.wakeAt;
      if (decision.actions.some((a) => a.type === 'pod-terminated')) {
        this.finish();
        return undefined;
      }
      await this.execute(pod, decision.actions);
    }
    // Something keeps changing under us: look again in a moment rather than spin.
    return this.d.clock.now() + 1000;
  }

  private finish(): void {
    this.phaseNow = 'terminated';
    this.stopProbes(() => true);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const status: PodStatus = this.lastStatus ?? { phase: 'Pending' };
    this.d.report({ ...this.ref, status, terminated: true });
  }

  /** The pod's containers on the host, by the uid label. */
  private observe(): ObservedContainer[] {
    return this.d.containers.list({ all: true })
      .filter((r) => r.config.labels[LABELS.uid] === this.ref.uid)
      .map(observeContainer);
  }

  // ---- actions -------------------------------------------------------------------------------

  private async execute(pod: Pod, actions: Action[]): Promise<void> {
    const results = await Promise.allSettled(actions.map((a) => this.perform(pod, a)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async perform(pod: Pod, action: Action): Promise<void> {
    const { containers, network, events } = this.d;
    const spec = 'container' in action ? pod.spec.containers.find((c) => c.name === action.container) : undefined;
    switch (action.type) {
      case 'attach-network':
        try {
          this.attachment = await network.attach(networkId(this.ref), 'bridge', publishedPorts(pod));
        } catch (err) {
          events.record(this.ref, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
          throw err;
        }
        return;
      case 'pull-image':
        this.startPull(action.container, action.image);
        return;
      case 'create-container':
        if (spec) await this.create(pod, spec);
        return;
      case 'start-container':
        await this.start(action.container, action.id, action.restart);
        return;
      case 'restart-container':
        this.unhealthy.delete(action.container);
        events.record(this.ref, 'Normal', 'Killing', `Container ${action.container} failed liveness probe, will be restarted`, action.container);
        await containers.restart(action.id, graceSecondsOf(pod), { countAsRestart: true }).catch((err: unknown) => {
          if (!isStartError(err)) throw err;
        });
        return;
      case 'stop-container':
        this.unhealthy.delete(action.container);
        events.record(this.ref, 'Normal', 'Killing', action.reason === 'liveness' ? `Container ${action.container} failed liveness probe` : `Stopping container ${action.container}`, action.container);
        await ignoreMissing(containers.stop(action.id, action.graceSeconds));
        return;
      case 'remove-container':
        await ignoreMissing(containers.remove(action.id, { force: true }));
        return;
      case 'detach-network':
        await network.detach(networkId(this.ref));
        this.attachment = undefined;
        return;
      case 'pod-terminated':
        return;
    }
  }

  private async create(pod: Pod, spec: Container): Promise<void> {
    const { containers, events } = this.d;
    const pulled = this.pulled.get(spec.name);
    let id: string;
    try {
      if (!this.attachment) throw new BerthError('failed-precondition', 'the pod has no network yet');
      const record = await containers.create(createRequest(pod, this.ref, spec, this.attachment.netns));
      id = record.id;
    } catch (err) {
      this.failed(spec.name, `Error: ${(err as Error).message}`, (err as Error).message);
      return;
    }
    this.createFailures.delete(spec.name);
    this.pulled.delete(spec.name);
    if (!pulled) events.record(this.ref, 'Normal', 'Pulled', `Container image "${spec.image}" already present on machine`, spec.name);
    events.record(this.ref, 'Normal', 'Created', `Created container ${spec.name}`, spec.name);
    await this.start(spec.name, id, false);
  }

  private async start(name: string, id: string, restart: boolean): Promise<void> {
    try {
      await this.d.containers.start(id, { countAsRestart: restart });
      this.createFailures.delete(name);
      this.d.events.record(this.ref, 'Normal', 'Started', `Started container ${name}`, name);
    } catch (err) {
      const message = (err as Error).message;
      // A process that could not run (exit code 127/126/128) is recorded on the container: the
      // planner restarts it with back-off. Anything else is the host's: retried as a failure.
      if (isStartError(err)) this.d.events.record(this.ref, 'Warning', 'Failed', `Error: failed to start container "${name}": ${message}`, name);
      else this.failed(name, `Error: failed to start container "${name}": ${message}`, message);
    }
  }

  /** A create or start that failed: an event, and a retry after a back-off. */
  private failed(name: string, event: string, message: string): void {
    const failures = (this.createFailures.get(name)?.failures ?? 0) + 1;
    this.createFailures.set(name, { message, retryAt: this.d.clock.now() + backoffDelay(RETRY_BACKOFF, failures), failures });
    this.d.events.record(this.ref, 'Warning', 'Failed', event, name);
  }

  private startPull(container: string, image: string): void {
    if (this.pulling.has(container)) return;
    const { puller, events, clock } = this.d;
    this.pulling.set(container, image);
    const started = clock.now();
    events.record(this.ref, 'Normal', 'Pulling', `Pulling image "${image}"`, container);
    puller.pull(image).then(
      (record) => {
        this.pulled.set(container, { image, imageId: record.id });
        events.record(this.ref, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${((clock.now() - started) / 1000).toFixed(3)}s`, container);
      },
      (err: unknown) => {
        events.record(this.ref, 'Warning', 'Failed', `Failed to pull image "${image}": ${(err as Error).message}`, container);
        events.record(this.ref, 'Warning', 'Failed', 'Error: ErrImagePull', container);
      },
    ).finally(() => {
      if (this.pulling.get(container) === image) this.pulling.delete(container);
      this.kick();
    });
  }

  // ---- images --------------------------------------------------------------------------------

  /** Where the image of each container still to be made stands. */
  private images(pod: Pod, observed: ObservedContainer[]): Record<string, ImageAvailability> {
    const out: Record<string, ImageAvailability> = {};
    for (const spec of pod.spec.containers) {
      const current = observed.find((c) => c.name === spec.name);
      if (current && current.hash === containerHash(spec)) continue;
      out[spec.name] = this.imageOf(spec);
    }
    return out;
  }

  private imageOf(spec: Container): ImageAvailability {
    const { puller } = this.d;
    try {
      canonicalImage(spec.image);
    } catch (err) {
      return { state: 'invalid', message: `Failed to apply default image tag "${spec.image}": ${(err as Error).message}` };
    }
    const policy = pullPolicyOf(spec);
    if (this.pulling.get(spec.name) === spec.image) {
      const before = puller.failure(spec.image);
      return { state: 'pulling', ...(before ? { previousFailure: before.message } : {}) };
    }
    const mine = this.pulled.get(spec.name);
    if (mine && mine.image === spec.image) return { state: 'present', imageId: mine.imageId };
    if (policy !== 'Always') {
      const record = puller.present(spec.image);
      if (record) return { state: 'present', imageId: record.id };
    }
    if (policy === 'Never') return { state: 'never', message: `Container image "${spec.image}" is not present with pull policy of Never` };
    const failure = puller.failure(spec.image);
    if (failure) return { state: 'failed', message: failure.message, failedAt: failure.failedAt, retryAt: failure.retryAt };
    return { state: 'missing' };
  }

  // ---- probes --------------------------------------------------------------------------------

  /** One runner per probe of each running container's current run; none for anything else. */
  private syncProbes(pod: Pod, observed: ObservedContainer[]): void {
    const wanted = new Map<string, { spec: Container; container: ObservedContainer; kind: ProbeKind }>();
    for (const spec of pod.spec.containers) {
      const c = observed.find((o) => o.name === spec.name && o.status === 'running' && o.hash === containerHash(spec));
      if (!c) continue;
      if (spec.livenessProbe) wanted.set(`${spec.name}/liveness`, { spec, container: c, kind: 'liveness' });
      if (spec.readinessProbe) wanted.set(`${spec.name}/readiness`, { spec, container: c, kind: 'readiness' });
    }
    this.stopProbes((key, run) => wanted.get(key) === undefined || runOf(wanted.get(key)!.container) !== run);
    for (const [key, { spec, container, kind }] of wanted) {
      if (this.probes.has(key)) continue;
      const probe = kind === 'liveness' ? spec.livenessProbe! : spec.readinessProbe!;
      const run = runOf(container);
      const label = kind === 'liveness' ? 'Liveness' : 'Readiness';
      const runner = new ProbeRunner({
        kind,
        settings: probeSettings(probe, kind),
        target: () => probeTarget(probe, spec, this.attachment?.ip),
        startedAtMs: Date.parse(container.startedAt ?? '') || this.d.clock.now(),
        exec: (command, signal) => this.exec(container.id, command, signal),
        clock: this.d.clock,
        onResult: (state, before, outcome) => {
          if (!outcome.ok) this.d.events.record(this.ref, 'Warning', 'Unhealthy', `${label} probe failed: ${outcome.message ?? 'failed'}`, spec.name);
          if (kind === 'liveness' && before.healthy && !state.healthy) this.unhealthy.set(spec.name, run);
          if (before.healthy !== state.healthy) this.kick();
        },
      });
      this.probes.set(key, { run, runner });
      runner.start();
    }
  }

  private stopProbes(which: (key: string, run: string) => boolean): void {
    for (const [key, { run, runner }] of this.probes) {
      if (!which(key, run)) continue;
      runner.stop();
      this.probes.delete(key);
    }
  }

  /** Readiness of each container that has a readiness probe (not ready until it succeeds). */
  private readiness(pod: Pod): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const spec of pod.spec.containers) {
      if (spec.readinessProbe) out[spec.name] = this.probes.get(`${spec.name}/readiness`)?.runner.state.healthy ?? false;
    }
    return out;
  }

  private async exec(id: string, command: string[], signal: AbortSignal): Promise<{ exitCode: number; output: string }> {
    let output = '';
    const collect = (b: Buffer) => {
      if (output.length < 16 * 1024) output += b.toString('utf8');
    };
    const exitCode = await this.d.containers.exec(id, command, {}, { onStdout: collect, onStderr: collect, signal });
    return { exitCode, output };
  }

  // ---- events for states ---------------------------------------------------------------------

  /** Events for states seen (rather than actions done): back-offs and images that will never come. */
  private tellStates(pod: Pod, observed: ObservedContainer[], images: Record<string, ImageAvailability>): void {
    if (this.told.size > 500) this.told.clear();
    const once = (key: string, fn: () => void) => {
      if (this.told.has(key)) return;
      this.told.add(key);
      fn();
    };
    const now = this.d.clock.now();
    for (const [name, image] of Object.entries(images)) {
      const ref = pod.spec.containers.find((c) => c.name === name)?.image ?? '';
      if (image.state === 'failed' && now < image.retryAt) {
        once(`pull-backoff/${name}/${image.failedAt}`, () => this.d.events.record(this.ref, 'Normal', 'BackOff', `Back-off pulling image "${ref}"`, name));
      } else if (image.state === 'never') {
        once(`never/${name}/${ref}`, () => this.d.events.record(this.ref, 'Warning', 'ErrImageNeverPull', image.message, name));
      } else if (image.state === 'invalid') {
        once(`invalid/${name}/${ref}`, () => this.d.events.record(this.ref, 'Warning', 'InspectFailed', image.message, name));
      }
    }
    for (const c of observed) {
      if (c.status === 'restarting') {
        once(`crash/${c.id}/${c.restartCount}`, () => this.d.events.record(this.ref, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${this.ref.name}_${this.ref.namespace}(${this.ref.uid})`, c.name));
      }
    }
  }
}

/** A container's current run: its ID and when it started (a restart is a new run). */
const runOf = (c: ObservedContainer) => `${c.id}@${c.startedAt ?? ''}`;

const isStartError = (err: unknown) => typeof (err as { exitCode?: unknown }).exitCode === 'number';

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof BerthError && err.code === 'not-found')) throw err;
  }
}
