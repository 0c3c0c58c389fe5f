// The container service: docker's container verbs over an image store, a snapshotter, the OCI
// runtime (runc under conmon), the container network and the container records.
//
// This file is the lifecycle: create, start, stop, kill, restart, remove, pause, exec, commit. What
// happens after a start (exits, restarts, adoption after an agent restart) is the supervisor's
// (supervisor.ts); looking at containers is inspection.ts'. One serialized queue per container
// (serial.ts): verbs on one container never interleave, different containers proceed in parallel.

import { lstatSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BerthError } from '../../proto/errors';
import { layerFromUpper, type Change } from '../diff';
import type { ImageRecord, ImageStore } from '../images';
import type { ImageConfig } from '../oci';
import type { ContainerSnapshotter, WritableLayer } from '../snapshots';
import { joinedNetns, type ContainerNetwork, type NetworkMode, type PortMapping } from '../network';
import { checkGroupName } from './cgroups';
import { writeEtcFiles } from './etc-files';
import { ContainerInspection, logPathOf, type ContainerSize } from './inspection';
import type { LogLine, LogOptions } from './logs';
import { rotateWhileRunning } from './log-rotation';
import type { AttachSession } from './attach';
import { mountVolumes, readPath, statPath, writePath, type ContainerRoot, type PathStat } from './archive';
import type { OciRuntime } from './oci';
import { checkName, generateName } from './options';
import { RecordWatch } from './record-watch';
import { DOCKER_RESTART_BACKOFF, nextRestartDelay } from './restart';
import type { SecurityConfig } from './seccomp';
import { ContainerQueues } from './serial';
import { appArmorProfileFor, type AppArmorRequest } from './apparmor';
import { privilegedHost } from './host-devices';
import { buildSpec, DEFAULT_SECURITY, processArgs, type VolumeMount } from './spec';
import type { ContainerStore } from './store';
import { Supervisor } from './supervisor';
import { DEFAULT_LOG, type ContainerConfig, type ContainerRecord, type DnsSettings, type LogConfig, type RestartPolicy } from './types';

export interface CreateRequest {
  image: string;
  name?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  /** Supplementary group IDs added to the user's (docker's --group-add). */
  groupAdd?: number[];
  /** Leave out the groups the image's /etc/group gives the user (a pod's supplementalGroupsPolicy: Strict). */
  strictGroups?: boolean;
  /** docker's --read-only. */
  readonlyRootfs?: boolean;
  ports?: PortMapping[];
  volumes?: VolumeMount[];
  network?: NetworkMode;
  pidMode?: ContainerConfig['pidMode'];
  ipcMode?: ContainerConfig['ipcMode'];
  limits?: ContainerConfig['limits'];
  restart?: RestartPolicy;
  autoRemove?: boolean;
  labels?: Record<string, string>;
  stopTimeout?: number;
  hostname?: string;
  /** Default: the default seccomp profile, no no_new_privs. The AppArmor profile is the host's (below). */
  security?: Omit<SecurityConfig, 'apparmorProfile'>;
  /** docker's --security-opt as given, kept for inspect. */
  securityOpt?: string[];
  /** A pod container's appArmorProfile (absent: the host's default profile, if loaded). */
  apparmor?: AppArmorRequest;
  /** A cgroup under the agent's cgroup parent to hold the container (a pod's); see CgroupGroups. */
  cgroup?: string;
  /** Its /etc/resolv.conf, as given (a pod's cluster DNS; docker's --dns, --dns-search, --dns-option); absent: the host's. */
  dns?: DnsSettings;
  /** More /etc/hosts lines ("10.42.0.5 web-0.db.default.svc.cluster.local web-0"). */
  extraHosts?: string[];
  /** docker's -t and -i. */
  tty?: boolean;
  openStdin?: boolean;
  /** ContainerConfig.stdinOnce. */
  stdinOnce?: boolean;
  /** How its log rotates (docker's --log-opt); absent: DEFAULT_LOG. */
  log?: LogConfig;
}

export interface CommitOptions {
  /** REPOSITORY[:TAG]; none: an untagged image. */
  reference?: string;
  author?: string;
  message?: string;
  /** Freeze a running container while its writable layer is read (docker commit --pause). Default true. */
  pause?: boolean;
}

export interface ContainerServiceOptions {
  /** The container records (<data root>/containers), opened by the composition root. */
  store: ContainerStore;
  images: ImageStore;
  /** Mounts each container's writable layer over its image's layer snapshots. */
  snapshots: ContainerSnapshotter;
  oci: OciRuntime;
  network: ContainerNetwork;
  /** Absolute cgroup parent under every hierarchy, e.g. /berth. */
  cgroupParent: string;
  /** RLIMIT_NOFILE for containers: within the agent's own hard limit. */
  nofile: { soft: number; hard: number };
  /** The AppArmor profile containers run under, when the host has one loaded (apparmor.ts). */
  apparmorProfile?: string;
  /** Whether the host has AppArmor at all (a profile asked for by name needs it). */
  apparmorEnabled?: boolean;
}

const DEFAULT_STOP_TIMEOUT = 10;

export class ContainerService {
  private readonly reservedNames = new Set<string>();
  private readonly queues = new ContainerQueues();
  private readonly watch: RecordWatch;
  private readonly supervisor: Supervisor;
  private readonly inspection: ContainerInspection;
  private readonly store: ContainerStore;

  private constructor(private readonly o: ContainerServiceOptions) {
    this.store = o.store;
    this.watch = new RecordWatch(o.store);
    this.supervisor = new Supervisor({
      store: o.store,
      oci: o.oci,
      queues: this.queues,
      watch: this.watch,
      run: (record) => this.run(record),
      release: (record) => this.release(record),
      rotateLogs: (id, signal) => {
        const record = o.store.get(id);
        if (record) rotateWhileRunning(logPathOf(o.store.dirOf(id)), record.config.log ?? DEFAULT_LOG, () => o.oci.reopenLog(id), signal);
      },
    });
    this.inspection = new ContainerInspection(o.store, o.images, o.snapshots, this.watch);
  }

  static async open(options: ContainerServiceOptions): Promise<ContainerService> {
    const service = new ContainerService(options);
    for (const record of service.store.list()) await service.supervisor.adopt(record);
    return service;
  }

  /** Stop watching (containers keep running: they belong to their monitors, not to us). */
  close(): void {
    this.supervisor.close();
  }

  // ---- looking at containers (inspection.ts) ---------------------------------------------------

  list(options: { all?: boolean } = {}): ContainerRecord[] {
    return this.inspection.list(options);
  }

  /** docker's lookup: full ID, name, or unambiguous ID prefix; throws not-found. */
  get(word: string): ContainerRecord {
    return this.inspection.get(word);
  }

  /** The container with this full ID, or undefined. */
  find(id: string): ContainerRecord | undefined {
    return this.inspection.find(id);
  }

  size(record: ContainerRecord): Promise<ContainerSize> {
    return this.inspection.size(record);
  }

  diff(word: string): Promise<Change[]> {
    return this.inspection.diff(word);
  }

  pathsOf(record: ContainerRecord): WritableLayer {
    return this.inspection.pathsOf(record);
  }

  lowerDirsOf(record: ContainerRecord): string[] {
    return this.inspection.lowerDirsOf(record);
  }

  logs(word: string, options: Omit<LogOptions, 'done'>, onLine: (line: LogLine) => void): Promise<void> {
    return this.inspection.logs(word, options, onLine);
  }

  wait(word: string): Promise<number> {
    return this.inspection.wait(word);
  }

  /** See RecordWatch.settled. */
  settled(id: string, untilGone = false): Promise<number> {
    return this.watch.settled(id, untilGone);
  }

  /** See RecordWatch.runEnded. */
  runEnded(id: string): Promise<number> {
    return this.watch.runEnded(id);
  }

  /** See RecordWatch.observe. */
  observe(observer: (id: string) => void): () => void {
    return this.watch.observe(observer);
  }

  // ---- create, start -------------------------------------------------------------------------

  async create(req: CreateRequest): Promise<ContainerRecord> {
    const image = await this.imageFor(req.image);
    const config = await this.o.images.config(image);
    const inUse = (n: string) => this.store.byName(n) !== undefined || this.reservedNames.has(n);
    const name = req.name !== undefined ? checkName(req.name) : generateName(inUse);
    if (inUse(name)) {
      const holder = this.store.byName(name)?.id ?? 'being created';
      throw new BerthError('already-exists', `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    // Held from the check to the save: two creates racing for one name must not both win.
    this.reservedNames.add(name);
    try {
      return await this.createNamed(req, image, config, name);
    } finally {
      this.reservedNames.delete(name);
    }
  }

  private async createNamed(req: CreateRequest, image: ImageRecord, config: ImageConfig, name: string): Promise<ContainerRecord> {
    const imageConfig = config.config ?? {};
    const args = processArgs(imageConfig, req.entrypoint, req.cmd);
    const apparmorProfile = appArmorProfileFor(req.apparmor, { enabled: this.o.apparmorEnabled ?? false, ...(this.o.apparmorProfile ? { defaultProfile: this.o.apparmorProfile } : {}) });
    const record: ContainerRecord = {
      id: this.store.newId(),
      name,
      created: new Date().toISOString(),
      config: {
        image: req.image,
        imageId: image.id,
        ...(req.entrypoint ? { entrypoint: req.entrypoint } : {}),
        ...(req.cmd?.length ? { cmd: req.cmd } : {}),
        env: req.env ?? [],
        ...(req.workdir ? { workdir: req.workdir } : {}),
        ...(req.user ? { user: req.user } : {}),
        ...(req.groupAdd?.length ? { groupAdd: req.groupAdd } : {}),
        ...(req.strictGroups ? { strictGroups: true } : {}),
        ...(req.readonlyRootfs ? { readonlyRootfs: true } : {}),
        args,
        stopSignal: imageConfig.StopSignal || 'SIGTERM',
        stopTimeout: req.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
        labels: { ...imageConfig.Labels, ...req.labels },
        ports: req.ports ?? [],
        volumes: req.volumes ?? [],
        network: req.network ?? 'bridge',
        ...(req.pidMode ? { pidMode: req.pidMode } : {}),
        ...(req.ipcMode ? { ipcMode: req.ipcMode } : {}),
        limits: req.limits ?? {},
        restart: req.restart ?? { name: 'no', maximumRetryCount: 0 },
        autoRemove: req.autoRemove ?? false,
        ...(req.hostname ? { hostname: req.hostname } : {}),
        security: {
          ...DEFAULT_SECURITY,
          ...req.security,
          ...(apparmorProfile ? { apparmorProfile, ...(req.apparmor?.type === 'Localhost' ? { apparmorExplicit: true } : {}) } : {}),
        },
        ...(req.securityOpt?.length ? { securityOpt: req.securityOpt } : {}),
        ...(req.cgroup !== undefined ? { cgroup: checkGroupName(req.cgroup) } : {}),
        ...(req.dns ? { dns: req.dns } : {}),
        ...(req.extraHosts?.length ? { extraHosts: req.extraHosts } : {}),
        ...(req.tty ? { tty: true } : {}),
        ...(req.openStdin ? { openStdin: true } : {}),
        ...(req.openStdin && req.stdinOnce !== undefined ? { stdinOnce: req.stdinOnce } : {}),
        log: req.log ?? DEFAULT_LOG,
      },
      state: { status: 'created', pid: 0, restartCount: 0, stoppedByUser: false },
    };
    if (record.config.autoRemove && record.config.restart.name !== 'no') {
      throw new BerthError('invalid-argument', 'conflicting options: cannot specify both --restart and --rm');
    }
    // Checked now rather than at start, so `create` fails on what `start` would fail on.
    this.specFor(record, image, imageConfig, '/nonexistent', undefined, { hosts: '', hostname: '', resolvConf: '' });
    await this.o.snapshots.prepareWritable(this.store.dirOf(record.id));
    await this.store.save(record);
    this.watch.notify(record.id);
    return record;
  }

  /** The image a create names; pulled when absent, as docker run does. */
  private async imageFor(word: string): Promise<ImageRecord> {
    try {
      return this.o.images.resolve(word);
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'not-found')) throw err;
    }
    return this.o.images.pull(word);
  }

  /** With `countAsRestart`, a start of a container that ran before counts in its restartCount (a pod's restart). */
  start(word: string, options: { countAsRestart?: boolean; beforeStart?: (id: string) => Promise<void> } = {}): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) throw new BerthError('not-found', `No such container: ${word}`);
      if (current.state.status === 'running') return current;
      this.supervisor.cancelRestart(current.id);
      const ranBefore = current.state.exitCode !== undefined;
      const counted = Boolean(options.countAsRestart && ranBefore);
      const state = { ...current.state, stoppedByUser: false, restartCount: current.state.restartCount + (counted ? 1 : 0) };
      // A restart the pod's planner timed waited out the same back-off the supervisor's would
      // have (the next failure doubles it); a user's start begins afresh, as docker's does.
      if (counted) state.restartDelayMs = nextRestartDelay(current.config.restart.backoff ?? DOCKER_RESTART_BACKOFF, current.state);
      else delete state.restartDelayMs;
      return this.run({ ...current, state }, options.beforeStart);
    });
  }

  /**
   * Attach to a running container's stdio (docker attach): its output from now on, its stdin
   * when it has one open. A container that is created but not started yet is attached from
   * start's `beforeStart`, so not a byte of its output is missed.
   */
  attach(word: string, options: { starting?: boolean } = {}): AttachSession {
    const record = this.store.resolve(word);
    // `starting`: from start's beforeStart, when the monitor is up and the process not yet running.
    if (record.state.status !== 'running' && !options.starting) throw new BerthError('failed-precondition', 'You cannot attach to a stopped container, start it first');
    return this.o.oci.attach(record.id);
  }

  /** docker cp's stat of a path in the container (its last component not followed). */
  statPath(word: string, containerPath: string): Promise<PathStat> {
    return this.withRootfs(word, (root) => statPath(root, containerPath));
  }

  /** docker cp CONTAINER:PATH: the path as a tar written to `out`. */
  readPath(word: string, containerPath: string, out: Writable): Promise<void> {
    return this.withRootfs(word, (root) => readPath(root, containerPath, out));
  }

  /** docker cp ... CONTAINER:DIR: a tar unpacked into the directory DIR of the container. */
  writePath(word: string, containerDir: string, tar: Readable): Promise<void> {
    return this.withRootfs(word, (root) => writePath(root, containerDir, tar));
  }

  /**
   * The container's root filesystem for `use`: a running container's as its process sees it (its
   * volumes and bind mounts included), or for one that is not running a mount of its layers and
   * volumes made for the while (in its queue: a start waits).
   */
  private withRootfs<T>(word: string, use: (root: ContainerRoot) => Promise<T>): Promise<T> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) throw new BerthError('not-found', `No such container: ${word}`);
      if (current.state.status === 'running') return use(liveRoot(current, this.cgroupsPathOf(current)));
      const layer = this.pathsOf(current);
      this.o.snapshots.mount(layer, [this.store.initLayer, ...this.lowerDirsOf(current)]);
      let unmountVolumes = () => {};
      try {
        unmountVolumes = mountVolumes(layer.merged, current.config.volumes);
        return await use({ path: layer.merged });
      } finally {
        try {
          unmountVolumes();
        } finally {
          // A volume left mounted is detached with the rootfs: unmounting the overlay (lazily
          // when busy) takes what is mounted under it too.
          this.o.snapshots.unmount(layer);
        }
      }
    });
  }

  /** The cgroup the container's processes are in (runc's cgroupsPath: absolute under the agent's parent). */
  private cgroupsPathOf(record: ContainerRecord): string {
    return [this.o.cgroupParent, ...(record.config.cgroup ? [record.config.cgroup] : []), record.id].join('/');
  }

  /** The container's terminal size (docker's resize on attach). */
  // async: an unknown container or one without a terminal rejects like any other failure.
  async resize(word: string, rows: number, cols: number): Promise<void> {
    const record = this.store.resolve(word);
    if (!record.config.tty) throw new BerthError('failed-precondition', `container ${record.id.slice(0, 12)} has no terminal`);
    return this.o.oci.resize(record.id, rows, cols);
  }

  /** Make the container's process run: rootfs, network, bundle, runc create + start. */
  private async run(record: ContainerRecord, beforeStart?: (id: string) => Promise<void>): Promise<ContainerRecord> {
    const dir = this.store.dirOf(record.id);
    const image = this.o.images.get(record.config.imageId);
    if (!image) throw new BerthError('not-found', `container ${record.name}: its image ${record.config.imageId} is gone`);
    const layer = this.o.snapshots.writable(dir);
    let attached = false;
    try {
      const imageConfig = (await this.o.images.config(image)).config ?? {};
      this.o.snapshots.mount(layer, [this.store.initLayer, ...this.inspection.lowerDirs(image)]);
      const hostNetwork = record.config.network === 'host';
      // Written before the container is created (the runtime binds them), completed with the
      // container's address once the network has one: the same files, rewritten in place.
      const hostname = record.config.hostname ?? record.id.slice(0, 12);
      const names = { hostname, ...(record.config.dns ? { dns: record.config.dns } : {}), extraHosts: record.config.extraHosts ?? [] };
      const etc = await writeEtcFiles(dir, names, undefined, hostNetwork);
      const bundle = path.join(dir, 'bundle');
      await mkdir(bundle, { recursive: true });
      let created: { pid: number } | undefined;
      const create = async (netns: string | undefined) => {
        const createOptions = {
          id: record.id, bundle, spec: this.specFor(record, image, imageConfig, layer.merged, netns, etc), logPath: logPathOf(dir),
          ...(record.config.tty ? { terminal: true } : {}),
          ...(record.config.openStdin ? { stdin: true, stdinOnce: record.config.stdinOnce ?? !record.config.tty } : {}),
        };
        created = await this.o.oci.create(createOptions).catch(async (err: unknown) => {
          // runc still knows this container from a run whose release a crash interrupted: clear it, once.
          if (!(err instanceof BerthError && err.code === 'already-exists')) throw err;
          await this.o.oci.delete(record.id, true);
          return this.o.oci.create(createOptions);
        });
      };
      // The container is created in its namespace while the CNI plugins connect it: its process
      // runs nothing until `start`, which waits for both.
      const joined = joinedNetns(record.config.network);
      attached = joined === undefined;
      const net = joined === undefined ? await this.o.network.attach(record.id, record.config.network, record.config.ports, { whileConnecting: create }) : undefined;
      if (!created) await create(joined);
      if (net?.ip) await writeEtcFiles(dir, names, net.ip, hostNetwork);
      await beforeStart?.(record.id);
      await this.o.oci.start(record.id);
      const running: ContainerRecord = {
        ...record,
        state: { ...record.state, status: 'running', pid: created!.pid, startedAt: new Date().toISOString() },
        ...(net ? { network: { ...(net.ip ? { ip: net.ip } : {}), ...(net.gateway ? { gateway: net.gateway } : {}), ...(net.mac ? { mac: net.mac } : {}), netns: net.netns } } : {}),
      };
      if (record.state.exitCode !== undefined) {
        const { exitCode, startedAt, finishedAt, error } = record.state;
        running.state.lastExit = { exitCode, ...(startedAt ? { startedAt } : {}), ...(finishedAt ? { finishedAt } : {}), ...(error ? { error } : {}) };
      }
      delete running.state.finishedAt;
      delete running.state.exitCode;
      delete running.state.pausedAt;
      delete running.state.error;
      delete running.state.nextRestartAt;
      await this.store.save(running);
      this.watch.notify(record.id);
      this.supervisor.watchExit(running.id);
      return running;
    } catch (err) {
      // Nothing of a failed start may stay behind: runc state, the network, the mount.
      await this.o.oci.delete(record.id, true).catch(() => {});
      if (attached) await this.o.network.detach(record.id).catch(() => {});
      this.o.snapshots.unmount(layer);
      const exitCode = (err as { exitCode?: number }).exitCode;
      if (exitCode !== undefined) {
        // As docker: the container exists, exited with 126/127, and says why.
        await this.store.save({ ...record, state: { ...record.state, status: 'exited', exitCode, finishedAt: new Date().toISOString(), error: (err as Error).message } });
        this.watch.notify(record.id);
      }
      throw err;
    }
  }

  private specFor(record: ContainerRecord, image: ImageRecord, imageConfig: NonNullable<ImageConfig['config']>, rootfs: string, netns: string | undefined, etcFiles: { hosts: string; hostname: string; resolvConf: string }): Record<string, unknown> {
    const c = record.config;
    return buildSpec({
      image: imageConfig,
      ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}),
      ...(c.cmd ? { cmd: c.cmd } : {}),
      env: c.env,
      ...(c.workdir ? { workdir: c.workdir } : {}),
      ...(c.user ? { user: c.user } : {}),
      ...(c.groupAdd ? { groupAdd: c.groupAdd } : {}),
      ...(c.strictGroups ? { strictGroups: true } : {}),
      ...(c.readonlyRootfs ? { readonlyRootfs: true } : {}),
      hostname: c.hostname ?? record.id.slice(0, 12),
      rootfs,
      ...imageFiles(this.inspection.lowerDirs(image)),
      etcFiles,
      volumes: c.volumes,
      netns: c.network === 'host' ? 'host' : netns,
      ...(c.pidMode === 'host' ? { hostPid: true } : {}),
      ...(c.ipcMode === 'host' ? { hostIpc: true } : {}),
      limits: c.limits,
      cgroupsPath: this.cgroupsPathOf(record),
      nofile: this.o.nofile,
      labels: c.labels,
      security: c.security ?? DEFAULT_SECURITY,
      ...(c.security?.privileged ? { privilegedHost: privilegedHost() } : {}),
      ...(c.tty ? { terminal: true } : {}),
    });
  }

  /** runc state, network and mount of a container whose process is gone. */
  private async release(record: ContainerRecord): Promise<void> {
    await this.o.oci.delete(record.id, true).catch(() => {});
    // A joined namespace belongs to whoever made it (a pod): it outlives this container's runs.
    if (joinedNetns(record.config.network) === undefined) await this.o.network.detach(record.id);
    this.o.snapshots.unmount(this.o.snapshots.writable(this.store.dirOf(record.id)));
  }

  // ---- stop, kill, restart, remove ---------------------------------------------------------------

  stop(word: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, () => this.stopNow(record.id, timeoutSeconds));
  }

  private async stopNow(id: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    this.supervisor.cancelRestart(id);
    let record = this.store.get(id)!;
    record = { ...record, state: { ...record.state, stoppedByUser: true } };
    await this.store.save(record);
    if (record.state.status === 'restarting') {
      const stopped = { ...record, state: { ...record.state, status: 'exited' as const } };
      delete stopped.state.nextRestartAt;
      await this.store.save(stopped);
      this.watch.notify(id);
      return stopped;
    }
    if (record.state.status !== 'running') return record;
    const grace = (timeoutSeconds ?? record.config.stopTimeout) * 1000;
    await this.signal(id, record.config.stopSignal);
    const exit = await this.supervisor.awaitExit(id, grace);
    const final = exit ?? (await this.signal(id, 'KILL'), await this.supervisor.awaitExit(id, 30_000));
    if (!final) throw new BerthError('internal', `container ${record.name} did not stop after SIGKILL`);
    this.supervisor.stopWatching(id);
    await this.supervisor.exited(id, final.exitCode, final.finishedAt, final.oomKilled);
    return this.store.get(id) ?? record;
  }

  kill(word: string, signal = 'KILL'): Promise<void> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      const current = this.store.get(record.id)!;
      if (current.state.status !== 'running') throw new BerthError('failed-precondition', `Cannot kill container: ${word}: container ${current.id} is not running`);
      await this.signal(current.id, signal.replace(/^SIG/, ''));
    });
  }

  /**
   * Send a signal to the container's process; a paused container is resumed after it, so that
   * the signal is acted on (docker does the same: stop, kill and rm -f of a paused container work).
   */
  private async signal(id: string, signal: string): Promise<void> {
    await this.o.oci.kill(id, signal);
    const record = this.store.get(id);
    if (!record?.state.pausedAt) return;
    await this.o.oci.resume(id);
    const state = { ...record.state };
    delete state.pausedAt;
    await this.store.save({ ...record, state });
    this.watch.notify(id);
  }

  // ---- pause, unpause ------------------------------------------------------------------------------

  /** docker pause: freeze every process of the container (the cgroup freezer) until unpause. */
  pause(word: string): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) throw new BerthError('not-found', `No such container: ${word}`);
      if (current.state.status !== 'running') throw new BerthError('failed-precondition', `Container ${current.id} is not running`);
      if (current.state.pausedAt) throw new BerthError('failed-precondition', `Container ${current.id} is already paused`);
      await this.o.oci.pause(current.id);
      const paused = { ...current, state: { ...current.state, pausedAt: new Date().toISOString() } };
      await this.store.save(paused);
      this.watch.notify(current.id);
      return paused;
    });
  }

  /** docker unpause: thaw what pause froze. */
  unpause(word: string): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) throw new BerthError('not-found', `No such container: ${word}`);
      if (!current.state.pausedAt) throw new BerthError('failed-precondition', `Container ${current.id} is not paused`);
      await this.o.oci.resume(current.id);
      const state = { ...current.state };
      delete state.pausedAt;
      const running = { ...current, state };
      await this.store.save(running);
      this.watch.notify(current.id);
      return running;
    });
  }

  /** With `countAsRestart`, the restart counts in restartCount (a pod's container killed by its liveness probe). */
  restart(word: string, timeoutSeconds?: number, options: { countAsRestart?: boolean } = {}): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      await this.stopNow(record.id, timeoutSeconds);
      const current = this.store.get(record.id)!;
      const restartCount = current.state.restartCount + (options.countAsRestart ? 1 : 0);
      return this.run({ ...current, state: { ...current.state, stoppedByUser: false, restartCount } });
    });
  }

  remove(word: string, options: { force?: boolean } = {}): Promise<void> {
    const record = this.store.resolve(word);
    return this.queues.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) return;
      if (current.state.pausedAt && !options.force) {
        throw new BerthError('failed-precondition', 'cannot remove a paused container: unpause and then stop the container before attempting removal or force remove');
      }
      if (current.state.status === 'running' && !options.force) {
        throw new BerthError('failed-precondition', `cannot remove container "${current.name}": container is running: stop the container before removing or force remove`);
      }
      this.supervisor.cancelRestart(current.id);
      this.supervisor.stopWatching(current.id);
      if (current.state.status === 'running') await this.signal(current.id, 'KILL').catch(() => {});
      await this.release(current);
      await this.store.remove(current.id);
      this.watch.notify(current.id);
    });
  }

  /** container prune: every container that is not running. */
  async prune(): Promise<{ deleted: string[]; reclaimed: number }> {
    const victims = this.store.list().filter((c) => c.state.status === 'exited' || c.state.status === 'created');
    let reclaimed = 0;
    for (const c of victims) {
      reclaimed += await this.o.snapshots.usage(this.pathsOf(c)).catch(() => 0);
      await this.remove(c.id, { force: true });
    }
    return { deleted: victims.map((v) => v.id), reclaimed };
  }

  /**
   * berth commit: the container's writable layer as one more layer on its image's stack, a new
   * image with the container's settings as its defaults. A running container is frozen while its
   * layer is read (`pause`, default true, as docker commit's --pause), so that a process writing
   * meanwhile is not committed half-way through its writes. Runs in the container's queue: a stop
   * or rm waits for it rather than pulling the layer away, or signalling frozen processes.
   */
  commit(word: string, options: CommitOptions = {}): Promise<ImageRecord> {
    const c = this.store.resolve(word);
    return this.queues.serial(c.id, async () => {
      const current = this.store.get(c.id);
      if (!current) throw new BerthError('not-found', `No such container: ${word}`);
      const parent = this.o.images.get(current.config.imageId);
      if (!parent) throw new BerthError('not-found', `container ${current.name}: its image is gone`);
      const { upper } = this.pathsOf(current);
      const read = (out: Writable) => layerFromUpper(upper, out);
      return this.o.images.importLayer({
        parent,
        // Only reading the layer needs the processes still; compressing and storing it does not.
        writeTar: (out) => (options.pause === false ? read(out) : this.frozen(current, () => read(out))),
        ...(options.reference ? { repoTag: options.reference } : {}),
        ...(options.author ? { author: options.author } : {}),
        ...(options.message ? { message: options.message } : {}),
        containerConfig: {
          ...(current.config.cmd ? { Cmd: current.config.cmd } : {}),
          ...(current.config.entrypoint ? { Entrypoint: current.config.entrypoint } : {}),
          ...(current.config.env.length ? { Env: current.config.env } : {}),
        },
        createdBy: current.config.args.join(' '),
      });
    });
  }

  /**
   * `read` with the container's processes frozen (runc pause: the cgroup freezer), thawed after
   * it whether it succeeds or fails. A container that is not running has nothing to freeze; one
   * the user paused, or whose pause is refused (its process just ended), is read as it is and
   * left as it is. The freeze is in the record from before the pause until after the thaw,
   * so that a thaw the agent never got to (it died, or runc failed) happens at its next adoption.
   */
  private async frozen<T>(record: ContainerRecord, read: () => Promise<T>): Promise<T> {
    if (record.state.status !== 'running' || record.state.pausedAt) return read();
    await this.markFrozen(record.id, new Date().toISOString());
    let paused = false;
    try {
      await this.o.oci.pause(record.id);
      paused = true;
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'failed-precondition')) {
        await this.markFrozen(record.id, undefined);
        throw err;
      }
    }
    try {
      return await read();
    } finally {
      if (paused) await this.o.oci.resume(record.id);
      await this.markFrozen(record.id, undefined);
    }
  }

  private async markFrozen(id: string, frozenAt: string | undefined): Promise<void> {
    const record = this.store.get(id);
    if (!record) return;
    const state = { ...record.state, frozenAt };
    if (frozenAt === undefined) delete state.frozenAt;
    await this.store.save({ ...record, state });
  }

  /** Run a process in the running container; with `io.terminal`, on a terminal of its own (exec -t). */
  async exec(word: string, args: string[], options: { env?: string[]; workdir?: string; user?: string }, io: Parameters<OciRuntime['exec']>[2]): Promise<number> {
    const record = this.store.resolve(word);
    if (record.state.status !== 'running') {
      throw new BerthError('failed-precondition', `container ${record.id.slice(0, 12)} is not running`);
    }
    // runc would start it in the frozen cgroup, where it would hang until the unpause.
    if (record.state.pausedAt) throw new BerthError('failed-precondition', `Container ${record.id} is paused, unpause the container before exec`);
    const image = this.o.images.get(record.config.imageId)!;
    const imageConfig = (await this.o.images.config(image)).config ?? {};
    const spec = this.specFor(
      { ...record, config: { ...record.config, entrypoint: args.slice(0, 1), cmd: args.slice(1), env: [...record.config.env, ...(options.env ?? [])], ...(options.workdir ? { workdir: options.workdir } : {}), ...(options.user ? { user: options.user } : {}) } },
      image, imageConfig, '/', undefined, { hosts: '', hostname: '', resolvConf: '' },
    ) as { process: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number; additionalGids?: number[] } } };
    return this.o.oci.exec(record.id, { args: spec.process.args, env: spec.process.env, cwd: spec.process.cwd, user: spec.process.user }, io);
  }

}

/**
 * The image's own /etc/passwd and /etc/group, read from its topmost layer that has them. Read
 * from the immutable snapshots (never through the container's rootfs, where a symlink could
 * point the agent at a host file), and ignored when they are anything but regular files.
 */
export function imageFiles(lowerDirs: string[]): { passwd?: string; group?: string } {
  const read = (rel: string): string | undefined => {
    for (const dir of lowerDirs) {
      // Never through a symlinked directory: in a snapshot it could point anywhere on the host.
      const parent = lstatSync(path.join(dir, path.dirname(rel)), { throwIfNoEntry: false });
      if (parent && !parent.isDirectory()) return undefined;
      const st = lstatSync(path.join(dir, rel), { throwIfNoEntry: false });
      if (!st) continue;
      // The topmost layer that has the name decides: a whiteout, a symlink or a directory there
      // means the image has no regular file by that name.
      return st.isFile() ? readFileSync(path.join(dir, rel), 'utf8') : undefined;
    }
    return undefined;
  };
  const passwd = read('etc/passwd');
  const group = read('etc/group');
  return { ...(passwd !== undefined ? { passwd } : {}), ...(group !== undefined ? { group } : {}) };
}

/**
 * A running container's root as its process sees it: /proc/PID/root, its mounts included. The
 * process is checked to be in exactly the container's cgroup before and after the root is opened,
 * so a PID reused by another process is never taken for it.
 */
function liveRoot(record: ContainerRecord, cgroupsPath: string): ContainerRoot {
  const pid = record.state.pid;
  const check = () => {
    let cgroups = '';
    try {
      cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      // gone
    }
    // "N:controllers:/path" per hierarchy; the container's init is in its cgroup itself (runc
    // places a relative cgroupsPath under its own cgroup: then only the end is known).
    const mine = (p: string) => p === cgroupsPath || (!cgroupsPath.startsWith('/') && p.endsWith(`/${cgroupsPath}`));
    if (!pid || !cgroups.split('\n').some((line) => mine(line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1)))) {
      throw new BerthError('failed-precondition', `container ${record.id.slice(0, 12)} is not running`);
    }
  };
  check();
  return { path: `/proc/${pid}/root`, check, live: true };
}
