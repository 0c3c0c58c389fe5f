// One pod's worker (kubelet's pod_workers): serialized, so that nothing done for one pod ever
// interleaves; the newest desired state wins (updates that arrive while a pass runs are
// coalesced into the next pass); phases in order — waiting (adopted, desired state not known
// yet), syncing, terminating, terminated — each retried with back-off until it succeeds.
//
// A pass observes the host (the pod's containers by label, its network attachment and cgroup),
// asks the planner what to do, does it, and repeats until the plan is empty; then it reports the
// status. Pulls run in the background (pod-images.ts) and wake the worker when they end, as do
// container changes, probe verdicts (pod-probes.ts) and back-off timers. The worker reaches the
// host only through the narrow PodRuntime, the pod cgroups and the container network.

import type { Container, EnvVar, Pod, PodStatus, Service } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { ContainerNetwork, NetworkAttachment } from '../network';
import type { DnsSettings } from '../runtime';
import { backoffDelay, RETRY_BACKOFF } from './backoff';
import { createRequest, HOST_NETNS, podCgroupLimits, publishedPorts, type NodeSide } from './container-spec';
import type { StatusReport } from './controller-link';
import type { EventRecorder } from './event-recorder';
import type { ImagePuller } from './image-puller';
import { cgroupName, networkId, observeContainer, podContainers } from './naming';
import { diskUsage, emptyDirBreach, limitedEmptyDirs, LOCAL_STORAGE_CHECK_MS } from './local-storage';
import { FALLBACK_LOG_LINES, prepareMessageFile, readMessageFile, terminationMessage, type FileStamp } from './termination-message';
import { graceSecondsOf, plan } from './plan';
import { podDnsSettings, podHostsEntry, serviceEnv } from './pod-dns';
import { containerEnv, type ConfigLookup, type PodFacts } from './pod-env';
import type { PodConfigCache } from './pod-config';
import { PodImages } from './pod-images';
import { execCollecting, PodProbes } from './pod-probes';
import { hookFailure, runHook } from './lifecycle-hooks';
import type { PodTokens } from './pod-tokens';
import { podStatus } from './pod-status';
import { pullSecretCredentials } from './pull-secrets';
import { hasObjectVolumes, type PodVolumes } from './pod-volumes';
import { readLocalhostProfile } from './seccomp-profiles';
import {
  type Action, type Clock, type CreateFailure, type ImageAvailability, LABELS, type NodeConfig,
  type ObservedContainer, type PodCgroups, type PodRef, type PodRuntime,
} from './types';

export type WorkerPhase =
  /** Adopted after an agent restart: its containers are known, its desired state not yet. */
  | 'waiting'
  | 'syncing'
  | 'terminating'
  /** Nothing of the pod is left; the controller is being told. */
  | 'terminated';

/** The cluster's Services as a pod's containers see them. */
export interface PodServices {
  /** The node's cluster DNS address; undefined while there is none (the pod gets the host's resolvers). */
  dnsAddress(): string | undefined;
  /** The host's resolvers, for dnsPolicy Default and the searches ClusterFirst appends. */
  hostDns(): DnsSettings;
  services(): readonly Service[];
}

export interface WorkerDeps {
  config: NodeConfig;
  clock: Clock;
  containers: PodRuntime;
  cgroups: PodCgroups;
  network: ContainerNetwork;
  puller: ImagePuller;
  events: EventRecorder;
  /** The pod's service account token directory (pod-tokens.ts). */
  tokens: Pick<PodTokens, 'ensure' | 'release'>;
  /** The pod's volumes on the host (pod-volumes.ts). */
  volumes: PodVolumes;
  /** What the cluster's Services give a pod: its DNS and the Services' variables (absent: the host's resolvers, no variables). */
  services?: PodServices;
  /** The pod's ConfigMaps and Secrets (pod-config.ts); absent: none can be read. */
  podConfig?: Pick<PodConfigCache, 'lookup'>;
  /** The node's allocatable cpu and memory: what resourceFieldRef reads for a limit a container does not set. */
  nodeAllocatable?(): { cpu?: string; memory?: string };
  report(report: StatusReport): void;
  log(line: string): void;
}

/** More passes than this in a row means something keeps changing under us: pause, then go on. */
const MAX_PASSES = 12;

/** How often a running pod's configMap/secret/downwardAPI/projected files are rewritten from their objects (plus the config cache's 5 s). */
const VOLUME_REFRESH_MS = 5_000;

/** The longest a postStart hook may hold its container's start (the kubelet waits without a limit). */
const POST_START_TIMEOUT_MS = 120_000;

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
  private readonly createFailures = new Map<string, CreateFailure & { failures: number }>();
  private readonly podImages: PodImages;
  private readonly probes: PodProbes;
  /** Events already recorded for a state, so that a state seen in many passes is told once. */
  private readonly told = new Set<string>();
  private lastStatus: PodStatus | undefined;
  /** Why the pod was evicted (its emptyDir over its sizeLimit): it stays failed. */
  private evicted: string | undefined;
  private localStorageCheckAt = 0;
  /** Termination messages read, by container id and end time (a run's message is read once). */
  private readonly messages = new Map<string, string>();
  /** Per container name, the version of its message file read for its last ended run (a later run must have written another). */
  private readonly messageStamps = new Map<string, FileStamp>();
  private volumesRefreshAt = 0;

  constructor(readonly ref: PodRef, private readonly d: WorkerDeps) {
    this.podImages = new PodImages(ref, {
      puller: d.puller, events: d.events, clock: d.clock, kick: () => this.kick(),
      pullCredentials: async () => {
        const pod = this.desired;
        if (!pod?.spec.imagePullSecrets?.length || !d.podConfig) return { credentials: new Map(), missing: [] };
        return pullSecretCredentials(pod, await d.podConfig.lookup(pod));
      },
      pullScope: () => (this.desired?.spec.imagePullSecrets ?? []).map((s) => s.name).sort().join(','),
    });
    this.probes = new PodProbes(ref, {
      containers: d.containers,
      events: d.events,
      clock: d.clock,
      podIp: () => this.attachment?.ip,
      kick: () => this.kick(),
    });
  }

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
    this.probes.stop(() => true);
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
      this.probes.stop(() => true);
    } else if (!terminating) {
      this.phaseNow = 'syncing';
    }
    this.startTime ??= pod.status?.startTime ?? new Date(this.d.clock.now()).toISOString();

    let wakeAt: number | undefined;
    let failure: unknown;
    try {
      // An agent that restarts keeps an eviction it reported.
      if (pod.status?.phase === 'Failed' && pod.status.reason === 'Evicted') this.evicted ??= pod.status.message ?? '';
      if (!terminating && !this.evicted) {
        const checkAgain = await this.checkLocalStorage(pod);
        wakeAt = minTime(wakeAt, checkAgain);
      }
      wakeAt = minTime(wakeAt, await this.passes(pod, terminating));
      if (!terminating && !this.evicted) wakeAt = minTime(wakeAt, await this.refreshVolumes(pod));
    } catch (err) {
      failure = err;
    }
    if (this.phaseNow === 'terminated') return;
    // The status goes out after a failed pass too: it says what is wrong.
    const observed = this.observe();
    const terminationMessages = await this.terminationMessages(pod, observed);
    const result = podStatus({
      pod,
      terminationMessages,
      ...(this.evicted !== undefined ? { evicted: this.evicted } : {}),
      nodeIp: this.d.config.nodeIp,
      ...(this.attachment?.ip ? { podIp: this.attachment.ip } : {}),
      containers: observed,
      images: terminating ? {} : this.images(pod, observed),
      createFailures: Object.fromEntries(this.createFailures),
      readiness: this.probes.readiness(pod, observed),
      notStarted: this.probes.notStarted(pod, observed),
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
      // A pod on the host's network has no namespace of its own to make or remove: it is there
      // while the pod lives, with the node's address.
      const hostNetwork = pod.spec.hostNetwork === true;
      if (hostNetwork) this.attachment ??= { netns: HOST_NETNS, ip: this.d.config.nodeIp, ports: [] };
      const networkExists = hostNetwork ? !terminating : await this.d.network.has(networkId(this.ref));
      if (!networkExists && !hostNetwork) this.attachment = undefined;
      const images = terminating ? {} : this.images(pod, observed);
      if (!terminating) this.probes.sync(pod, observed);
      this.tellStates(pod, observed, images);
      const decision = plan({
        pod,
        terminating,
        network: { exists: networkExists, ready: networkExists && this.attachment !== undefined },
        cgroup: { exists: this.d.cgroups.exists(cgroupName(this.ref)) },
        podDir: { exists: this.d.volumes.exists(this.ref.uid) },
        containers: observed,
        images,
        createFailures: Object.fromEntries(this.createFailures),
        unhealthy: this.probes.unhealthyNames(observed),
        ...(this.evicted !== undefined ? { evicted: true } : {}),
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
    this.probes.stop(() => true);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const status: PodStatus = this.lastStatus ?? { phase: 'Pending' };
    // Its token's renewal stops (the files went with the pod's directory).
    void this.d.tokens.release(this.ref.uid).catch(() => undefined);
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
    const spec = 'container' in action ? podContainers(pod).find((c) => c.name === action.container) : undefined;
    switch (action.type) {
      case 'attach-network':
        if (pod.spec.hostNetwork) return;
        try {
          this.attachment = await network.attach(networkId(this.ref), 'bridge', publishedPorts(pod));
        } catch (err) {
          events.record(this.ref, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
          throw err;
        }
        return;
      case 'create-pod-cgroup':
        this.d.cgroups.ensure(cgroupName(this.ref), podCgroupLimits(pod, this.d.config.podPidsLimit));
        return;
      case 'remove-pod-cgroup':
        this.d.cgroups.remove(cgroupName(this.ref));
        return;
      case 'pull-image':
        this.podImages.start(action.container, action.image);
        return;
      case 'create-container':
        if (spec) await this.create(pod, spec);
        return;
      case 'start-container':
        if (spec) await this.repairSubPaths(pod, spec);
        await this.start(pod, spec ?? action.container, action.id, action.restart);
        return;
      case 'restart-container':
        this.probes.forgetUnhealthy(action.container);
        events.record(this.ref, 'Normal', 'Killing', `Container ${action.container} failed liveness probe, will be restarted`, action.container);
        await containers.restart(action.id, graceSecondsOf(pod), { countAsRestart: true }).catch((err: unknown) => {
          if (!isStartError(err)) throw err;
        });
        return;
      case 'stop-container': {
        this.probes.forgetUnhealthy(action.container);
        events.record(this.ref, 'Normal', 'Killing', action.reason === 'liveness' ? `Container ${action.container} failed liveness probe` : `Stopping container ${action.container}`, action.container);
        const spent = spec?.lifecycle?.preStop ? await this.preStop(pod, spec, action.id, action.graceSeconds) : 0;
        // What the hook took comes out of the grace period; the kubelet leaves at least 2 s.
        const grace = spent > 0 ? Math.max(2, (action.graceSeconds ?? graceSecondsOf(pod)) - spent) : action.graceSeconds;
        await ignoreMissing(containers.stop(action.id, grace));
        return;
      }
      case 'remove-container':
        await ignoreMissing(containers.remove(action.id, { force: true }));
        return;
      case 'detach-network':
        if (!pod.spec.hostNetwork) await network.detach(networkId(this.ref));
        this.attachment = undefined;
        return;
      case 'remove-pod-dir':
        await this.d.volumes.tearDown(this.ref.uid);
        await this.d.tokens.release(this.ref.uid);
        return;
      case 'pod-terminated':
        return;
    }
  }

  private async create(pod: Pod, spec: Container): Promise<void> {
    const { containers, events } = this.d;
    const pulled = this.podImages.pulledFor(spec.name);
    let lookup: ConfigLookup = { configMap: () => undefined, secret: () => undefined };
    try {
      if (this.d.podConfig) lookup = await this.d.podConfig.lookup(pod);
    } catch (err) {
      this.failed(spec.name, `Error: ${(err as Error).message}`, (err as Error).message, 'CreateContainerConfigError');
      return;
    }
    const env = this.containerEnv(pod, spec, lookup);
    if (!env.ok) {
      this.failed(spec.name, `Error: ${env.message}`, env.message, 'CreateContainerConfigError');
      return;
    }
    const volumes = await this.d.volumes.setUp(pod, lookup, this.facts());
    if (!volumes.ok) {
      // The kubelet's words: the pod stays ContainerCreating, a FailedMount event says why.
      this.failed(spec.name, `MountVolume.SetUp failed for volume "${volumes.volume}" : ${volumes.message}`, volumes.message, 'ContainerCreating', 'FailedMount');
      return;
    }
    const mounts = await this.d.volumes.containerMounts(pod, spec, new Map(env.env.map((e) => [e.name, e.value ?? ''])));
    if (!mounts.ok) {
      this.failed(spec.name, `Error: ${mounts.message}`, mounts.message, 'CreateContainerConfigError');
      return;
    }
    let id: string;
    try {
      if (!this.attachment) throw new BerthError('failed-precondition', 'the pod has no network yet');
      const { config } = this.d;
      const serviceAccountDir = await this.d.tokens.ensure(this.ref);
      const messageFile = await prepareMessageFile(this.d.volumes.podDir(this.ref.uid), spec);
      const record = await containers.create(createRequest(pod, this.ref, spec, this.attachment.netns, {
        env: env.env,
        mounts: [...mounts.mounts, messageFile],
        cgroup: cgroupName(this.ref),
        restartBackoff: config.restartBackoff,
        localhostProfile: (name) => readLocalhostProfile(config.seccompRoot, name),
        nodeName: config.nodeName,
        ...(serviceAccountDir ? { serviceAccountDir } : {}),
        ...this.servicesSide(pod),
      }));
      id = record.id;
    } catch (err) {
      this.failed(spec.name, `Error: ${(err as Error).message}`, (err as Error).message);
      return;
    }
    this.createFailures.delete(spec.name);
    this.podImages.created(spec.name);
    if (!pulled) events.record(this.ref, 'Normal', 'Pulled', `Container image "${spec.image}" already present on machine`, spec.name);
    events.record(this.ref, 'Normal', 'Created', `Created container ${spec.name}`, spec.name);
    await this.start(pod, spec, id, false);
  }

  /**
   * Measure the pod's limited disk emptyDirs (local-storage.ts) every LOCAL_STORAGE_CHECK_MS; one
   * over its limit evicts the pod. The time to look again, or undefined when there is nothing to measure.
   */
  private async checkLocalStorage(pod: Pod): Promise<number | undefined> {
    const limited = limitedEmptyDirs(pod);
    if (limited.length === 0) return undefined;
    const now = this.d.clock.now();
    if (now < this.localStorageCheckAt) return this.localStorageCheckAt;
    this.localStorageCheckAt = now + LOCAL_STORAGE_CHECK_MS;
    const usage = new Map<string, number>();
    for (const { volume } of limited) usage.set(volume.name, await diskUsage(this.d.volumes.volumeDir(pod, volume)));
    const breach = emptyDirBreach(pod, usage);
    if (breach) {
      this.evicted = breach;
      this.d.events.record(this.ref, 'Warning', 'Evicted', breach);
      this.probes.stop(() => true);
      return undefined;
    }
    return this.localStorageCheckAt;
  }

  /** The message each ended container's latest run left (termination-message.ts), read once per run. */
  private async terminationMessages(pod: Pod, observed: readonly ObservedContainer[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const keep = new Set<string>();
    for (const c of observed) {
      if (c.status !== 'exited' && c.status !== 'restarting') continue;
      const spec = podContainers(pod).find((s) => s.name === c.name);
      if (!spec) continue;
      const key = `${c.id}@${c.finishedAt ?? ''}`;
      keep.add(key);
      let message = this.messages.get(key);
      if (message === undefined) {
        const read = await readMessageFile(this.d.volumes.podDir(this.ref.uid), c.name, c.lastExit?.finishedAt, this.messageStamps.get(c.name));
        if (read.stamp) this.messageStamps.set(c.name, read.stamp);
        const fileMessage = read.message;
        const tail: string[] = [];
        if (fileMessage === '' && spec.terminationMessagePolicy === 'FallbackToLogsOnError' && (c.exitCode ?? 0) !== 0) {
          await this.d.containers.logs(c.id, { follow: false, tail: FALLBACK_LOG_LINES }, (line) => void tail.push(line.text)).catch(() => undefined);
        }
        message = terminationMessage(spec, c.exitCode ?? 0, fileMessage, () => tail);
        this.messages.set(key, message);
      }
      if (message) out[c.name] = message;
    }
    for (const key of this.messages.keys()) if (!keep.has(key)) this.messages.delete(key);
    return out;
  }

  /** The pod's resolv.conf, /etc/hosts name and the Services' variables, as its container is created. */
  /** The pod's address, once its network is attached. */
  podIp(): string | undefined {
    return this.attachment?.ip;
  }

  private servicesSide(pod: Pod): Pick<NodeSide, 'dns' | 'extraHosts'> {
    const services = this.d.services;
    if (!services) return {};
    return { dns: podDnsSettings(pod, services.dnsAddress(), services.hostDns()), extraHosts: podHostsEntry(pod, this.attachment?.ip) };
  }

  /** What only the node knows of the pod, for the downward API. */
  private facts(): PodFacts {
    return { ...(this.attachment?.ip ? { podIP: this.attachment.ip } : {}), hostIP: this.d.config.nodeIp, allocatable: this.d.nodeAllocatable?.() ?? {} };
  }

  /**
   * A running pod's object volumes rewritten from their objects every few seconds (a changed
   * ConfigMap reaches the files within about 10 s, atomically); the time to do it again.
   */
  private async refreshVolumes(pod: Pod): Promise<number | undefined> {
    if (!hasObjectVolumes(pod) || !this.d.podConfig) return undefined;
    const now = this.d.clock.now();
    if (now < this.volumesRefreshAt) return this.volumesRefreshAt;
    this.volumesRefreshAt = now + VOLUME_REFRESH_MS;
    try {
      const lookup = await this.d.podConfig.lookup(pod);
      await this.d.volumes.refresh(pod, lookup, this.facts());
    } catch (err) {
      // The files in place stay; the next refresh tries again.
      this.d.log(`pod ${this.ref.namespace}/${this.ref.name}: cannot refresh its volumes: ${(err as Error).message}`);
    }
    return this.volumesRefreshAt;
  }

  /** The container's environment (the Services' variables first), as name/value pairs; or why it cannot be made. */
  private containerEnv(pod: Pod, spec: Container, lookup: ConfigLookup): { ok: true; env: EnvVar[] } | { ok: false; message: string } {
    const services = this.d.services ? serviceEnv(pod, this.d.services.services()) : [];
    const built = containerEnv(pod, spec, lookup, this.facts(), services);
    if (!built.ok) return built;
    return { ok: true, env: built.env.map((line) => ({ name: line.slice(0, line.indexOf('=')), value: line.slice(line.indexOf('=') + 1) })) };
  }

  /** A container with subPath mounts that runs again: each bound anew if what it showed was replaced meanwhile. */
  private async repairSubPaths(pod: Pod, spec: Container): Promise<void> {
    if (!spec.volumeMounts?.some((m) => m.subPath || m.subPathExpr)) return;
    try {
      const lookup = this.d.podConfig ? await this.d.podConfig.lookup(pod) : { configMap: () => undefined, secret: () => undefined };
      const env = this.containerEnv(pod, spec, lookup);
      await this.d.volumes.containerMounts(pod, spec, new Map(env.ok ? env.env.map((e) => [e.name, e.value ?? '']) : []));
    } catch (err) {
      // The start says what is wrong, if anything still is.
      this.d.log(`pod ${this.ref.namespace}/${this.ref.name}: container ${spec.name}: cannot renew its subPath mounts: ${(err as Error).message}`);
    }
  }

  /** Start a container (`spec`, or only its name when the pod no longer has it), then run its postStart hook. */
  private async start(pod: Pod, spec: Container | string, id: string, restart: boolean): Promise<void> {
    const name = typeof spec === 'string' ? spec : spec.name;
    try {
      await this.d.containers.start(id, { countAsRestart: restart });
      this.createFailures.delete(name);
      this.d.events.record(this.ref, 'Normal', 'Started', `Started container ${name}`, name);
      if (typeof spec !== 'string' && spec.lifecycle?.postStart) await this.postStart(pod, spec, id);
    } catch (err) {
      const message = (err as Error).message;
      // A process that could not run (exit code 127/126/128) is recorded on the container: the
      // planner restarts it with back-off. Anything else is the host's: retried as a failure.
      if (isStartError(err)) this.d.events.record(this.ref, 'Warning', 'Failed', `Error: failed to start container "${name}": ${message}`, name);
      else this.failed(name, `Error: failed to start container "${name}": ${message}`, message);
    }
  }

  /** The postStart hook of a container just started; failing it kills the container (its restart policy decides what next). */
  private async postStart(pod: Pod, spec: Container, id: string): Promise<void> {
    if (this.d.containers.find(id)?.state.status !== 'running') return;
    const outcome = await runHook(spec.lifecycle!.postStart!, spec, this.attachment?.ip, (command, signal) => execCollecting(this.d.containers, id, command, signal), POST_START_TIMEOUT_MS);
    if (outcome.ok) return;
    const { reason, message } = hookFailure('PostStart', outcome);
    this.d.events.record(this.ref, 'Warning', reason, message, spec.name);
    await ignoreMissing(this.d.containers.stop(id, graceSecondsOf(pod)));
  }

  /** The preStop hook of a running container, within its grace period; the seconds it took. */
  private async preStop(pod: Pod, spec: Container, id: string, graceSeconds: number | undefined): Promise<number> {
    if (this.d.containers.find(id)?.state.status !== 'running') return 0;
    const began = this.d.clock.now();
    const budgetMs = (graceSeconds ?? graceSecondsOf(pod)) * 1000;
    const outcome = await runHook(spec.lifecycle!.preStop!, spec, this.attachment?.ip, (command, signal) => execCollecting(this.d.containers, id, command, signal), Math.max(1000, budgetMs));
    if (!outcome.ok) {
      const { reason, message } = hookFailure('PreStop', outcome);
      this.d.events.record(this.ref, 'Warning', reason, message, spec.name);
    }
    return Math.round((this.d.clock.now() - began) / 1000);
  }

  /** A create or start that failed: an event, and a retry after a back-off. */
  private failed(name: string, event: string, message: string, reason?: CreateFailure['reason'], eventReason = 'Failed'): void {
    const failures = (this.createFailures.get(name)?.failures ?? 0) + 1;
    this.createFailures.set(name, { message, retryAt: this.d.clock.now() + backoffDelay(RETRY_BACKOFF, failures), failures, ...(reason ? { reason } : {}) });
    this.d.events.record(this.ref, 'Warning', eventReason, event, name);
  }

  // ---- images and events for states ---------------------------------------------------------------------

  /** Where the image of each container still to be made stands (pod-images.ts). */
  private images(pod: Pod, observed: ObservedContainer[]): Record<string, ImageAvailability> {
    return this.podImages.availability(pod, observed);
  }

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
      const ref = podContainers(pod).find((c) => c.name === name)?.image ?? '';
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

const minTime = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

const isStartError = (err: unknown) => typeof (err as { exitCode?: unknown }).exitCode === 'number';

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof BerthError && err.code === 'not-found')) throw err;
  }
}
