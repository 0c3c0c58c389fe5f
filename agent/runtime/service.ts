// The container service: docker's container verbs over the image service, the OCI runtime
// (runc under conmon), the container network and the container store.
//
// One serialized queue per container: verbs on one container never interleave (a stop racing
// a restart, an exit racing a rm), while different containers proceed in parallel. Exits are
// noticed by a waiter per running container (conmon's exit file), which records the exit and
// applies the restart policy. On open, the service adopts what an earlier agent left: running
// containers get a waiter again, exits that happened meanwhile are recorded.

import { lstatSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { changes, layerFromUpper, type Change } from '../diff';
import type { ImageRecord, ImageStore } from '../images/types';
import type { ImageConfig } from '../oci/types';
import type { ContainerSnapshotter, WritableLayer } from '../snapshots';
import { joinedNetns, type ContainerNetwork, type NetworkMode, type PortMapping } from '../network/types';
import { writeEtcFiles } from './etc-files';
import { readLogs, type LogLine, type LogOptions } from './logs';
import type { OciRuntime } from './oci';
import { checkName, generateName } from './options';
import { decideRestart } from './restart';
import { buildSpec, processArgs, type VolumeMount } from './spec';
import type { ContainerStore } from './store';
import type { ContainerConfig, ContainerRecord, RestartPolicy } from './types';

export interface CreateRequest {
  image: string;
  name?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  ports?: PortMapping[];
  volumes?: VolumeMount[];
  network?: NetworkMode;
  limits?: ContainerConfig['limits'];
  restart?: RestartPolicy;
  autoRemove?: boolean;
  labels?: Record<string, string>;
  stopTimeout?: number;
  hostname?: string;
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
}

export interface ContainerSize {
  /** The writable layer. */
  sizeRw: number;
  /** The writable layer plus the image. */
  sizeRootFs: number;
}

const DEFAULT_STOP_TIMEOUT = 10;

export class ContainerService {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly waiters = new Map<string, AbortController>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly reservedNames = new Set<string>();
  /** Resolved whenever a container's record changes, for `logs -f` and `wait`. */
  private readonly changed = new Map<string, Array<() => void>>();
  /** Told the ID of every container whose record changed (or that was removed). */
  private readonly observers = new Set<(id: string) => void>();
  private closed = false;

  readonly store: ContainerStore;

  private constructor(private readonly o: ContainerServiceOptions) {
    this.store = o.store;
  }

  static async open(options: ContainerServiceOptions): Promise<ContainerService> {
    const service = new ContainerService(options);
    for (const record of service.store.list()) await service.adopt(record);
    return service;
  }

  /** Stop watching (containers keep running: they belong to their monitors, not to us). */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.values()) waiter.abort();
    for (const timer of this.restartTimers.values()) clearTimeout(timer);
  }

  list(options: { all?: boolean } = {}): ContainerRecord[] {
    return this.store.list().filter((c) => options.all || c.state.status === 'running' || c.state.status === 'restarting');
  }

  get(word: string): ContainerRecord {
    return this.store.resolve(word);
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
        args,
        stopSignal: imageConfig.StopSignal || 'SIGTERM',
        stopTimeout: req.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
        labels: { ...imageConfig.Labels, ...req.labels },
        ports: req.ports ?? [],
        volumes: req.volumes ?? [],
        network: req.network ?? 'bridge',
        limits: req.limits ?? {},
        restart: req.restart ?? { name: 'no', maximumRetryCount: 0 },
        autoRemove: req.autoRemove ?? false,
        ...(req.hostname ? { hostname: req.hostname } : {}),
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
    this.notify(record.id);
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
  start(word: string, options: { countAsRestart?: boolean } = {}): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) throw new BerthError('not-found', `No such container: ${word}`);
      if (current.state.status === 'running') return current;
      this.cancelRestart(current.id);
      const ranBefore = current.state.exitCode !== undefined;
      const restartCount = current.state.restartCount + (options.countAsRestart && ranBefore ? 1 : 0);
      return this.run({ ...current, state: { ...current.state, stoppedByUser: false, restartCount } });
    });
  }

  /** Make the container's process run: rootfs, network, bundle, runc create + start. */
  private async run(record: ContainerRecord): Promise<ContainerRecord> {
    const dir = this.store.dirOf(record.id);
    const image = this.o.images.get(record.config.imageId);
    if (!image) throw new BerthError('not-found', `container ${record.name}: its image ${record.config.imageId} is gone`);
    const layer = this.o.snapshots.writable(dir);
    let attached = false;
    try {
      const imageConfig = (await this.o.images.config(image)).config ?? {};
      this.o.snapshots.mount(layer, [this.store.initLayer, ...this.lowerDirs(image)]);
      const hostNetwork = record.config.network === 'host';
      // Written before the container is created (the runtime binds them), completed with the
      // container's address once the network has one: the same files, rewritten in place.
      const hostname = record.config.hostname ?? record.id.slice(0, 12);
      const etc = await writeEtcFiles(dir, hostname, undefined, hostNetwork);
      const bundle = path.join(dir, 'bundle');
      await mkdir(bundle, { recursive: true });
      let created: { pid: number } | undefined;
      const create = async (netns: string | undefined) => {
        const createOptions = { id: record.id, bundle, spec: this.specFor(record, image, imageConfig, layer.merged, netns, etc), logPath: logPathOf(dir), logMaxBytes: 16 * 1024 * 1024 };
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
      if (net?.ip) await writeEtcFiles(dir, hostname, net.ip, hostNetwork);
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
      delete running.state.error;
      delete running.state.nextRestartAt;
      await this.store.save(running);
      this.notify(record.id);
      this.watchExit(running.id);
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
        this.notify(record.id);
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
      hostname: c.hostname ?? record.id.slice(0, 12),
      rootfs,
      ...imageFiles(this.lowerDirs(image)),
      etcFiles,
      volumes: c.volumes,
      netns: c.network === 'host' ? 'host' : netns,
      limits: c.limits,
      cgroupsPath: `${this.o.cgroupParent}/${record.id}`,
      nofile: this.o.nofile,
      labels: c.labels,
    });
  }

  // ---- exits and restarts --------------------------------------------------------------------

  private watchExit(id: string): void {
    if (this.closed || this.waiters.has(id)) return;
    const controller = new AbortController();
    this.waiters.set(id, controller);
    const forget = () => {
      if (this.waiters.get(id) === controller) this.waiters.delete(id);
    };
    this.o.oci.waitExit(id, controller.signal).then(
      (exit) => this.serial(id, async () => {
        // Aborted meanwhile: a stop (or restart) that queued before us already recorded this
        // exit, and the record may now describe a newer run that this exit must not end.
        if (controller.signal.aborted) return;
        forget();
        await this.exited(id, exit.exitCode, exit.finishedAt, exit.oomKilled);
      }),
      forget,
    ).catch((err: unknown) => console.error(`container ${id.slice(0, 12)}: handling its exit failed:`, err));
  }

  /** Record an exit, release the container's runtime resources, apply the restart policy. */
  private async exited(id: string, exitCode: number, finishedAt: string, oomKilled: boolean): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.state.status !== 'running') return;
    const state = { ...record.state, status: 'exited' as const, exitCode, finishedAt, pid: 0, ...(oomKilled ? { error: 'OOMKilled' } : {}) };
    const decision = decideRestart(record.config, state);
    if (!decision.restart) {
      // The exit is recorded (and waiters answered) first; releasing the runtime's resources
      // takes longer (CNI DEL) and is nothing a waiter needs. Later verbs queue behind it.
      await this.store.save({ ...record, state });
      this.notify(id);
      await this.release(record);
      if (record.config.autoRemove) {
        await this.store.remove(id);
        this.notify(id);
      }
      return;
    }
    await this.release(record);
    const nextRestartAt = new Date(Date.now() + decision.delayMs).toISOString();
    await this.store.save({ ...record, state: { ...state, status: 'restarting', nextRestartAt } });
    this.notify(id);
    this.scheduleRestart(id, decision.delayMs);
  }

  private scheduleRestart(id: string, delayMs: number): void {
    if (this.closed) return;
    this.cancelRestart(id);
    const timer = setTimeout(() => {
      this.restartTimers.delete(id);
      void this.serial(id, async () => {
        const record = this.store.get(id);
        if (!record || record.state.status !== 'restarting') return;
        await this.run({ ...record, state: { ...record.state, restartCount: record.state.restartCount + 1 } }).catch(async (err: unknown) => {
          // A restart that cannot even start counts as another failure.
          const now = this.store.get(id);
          if (now && now.state.status !== 'running') await this.exited(id, (err as { exitCode?: number }).exitCode ?? 128, new Date().toISOString(), false).catch(() => {});
        });
      });
    }, delayMs);
    timer.unref();
    this.restartTimers.set(id, timer);
  }

  private cancelRestart(id: string): void {
    const timer = this.restartTimers.get(id);
    if (timer) clearTimeout(timer);
    this.restartTimers.delete(id);
  }

  /** runc state, network and mount of a container whose process is gone. */
  private async release(record: ContainerRecord): Promise<void> {
    await this.o.oci.delete(record.id, true).catch(() => {});
    // A joined namespace belongs to whoever made it (a pod): it outlives this container's runs.
    if (joinedNetns(record.config.network) === undefined) await this.o.network.detach(record.id);
    this.o.snapshots.unmount(this.o.snapshots.writable(this.store.dirOf(record.id)));
  }

  /** After an agent restart: pick up a running container's exit, or record one that happened. */
  private async adopt(record: ContainerRecord): Promise<void> {
    if (record.state.status === 'restarting') {
      const due = Date.parse(record.state.nextRestartAt ?? '') - Date.now();
      this.scheduleRestart(record.id, Math.max(0, Number.isNaN(due) ? 0 : due));
      return;
    }
    if (record.state.status !== 'running') return;
    const exit = await this.o.oci.exitOf(record.id);
    if (exit) {
      await this.serial(record.id, () => this.exited(record.id, exit.exitCode, exit.finishedAt, exit.oomKilled));
      return;
    }
    if (await this.o.oci.monitorAlive(record.id)) {
      this.watchExit(record.id);
      return;
    }
    // Its monitor died without recording an exit: the outcome is unknown; say so, as docker does.
    const state = await this.o.oci.state(record.id);
    if (state?.status === 'running') await this.o.oci.kill(record.id, 'KILL').catch(() => {});
    await this.serial(record.id, () => this.exited(record.id, 255, new Date().toISOString(), false));
  }

  // ---- stop, kill, restart, remove ---------------------------------------------------------------

  stop(word: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.serial(record.id, () => this.stopNow(record.id, timeoutSeconds));
  }

  private async stopNow(id: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    this.cancelRestart(id);
    let record = this.store.get(id)!;
    record = { ...record, state: { ...record.state, stoppedByUser: true } };
    await this.store.save(record);
    if (record.state.status === 'restarting') {
      const stopped = { ...record, state: { ...record.state, status: 'exited' as const } };
      delete stopped.state.nextRestartAt;
      await this.store.save(stopped);
      this.notify(id);
      return stopped;
    }
    if (record.state.status !== 'running') return record;
    const grace = (timeoutSeconds ?? record.config.stopTimeout) * 1000;
    await this.o.oci.kill(id, record.config.stopSignal);
    const exit = await this.awaitExit(id, grace);
    const final = exit ?? (await this.o.oci.kill(id, 'KILL'), await this.awaitExit(id, 30_000));
    if (!final) throw new BerthError('internal', `container ${record.name} did not stop after SIGKILL`);
    this.waiters.get(id)?.abort();
    this.waiters.delete(id);
    await this.exited(id, final.exitCode, final.finishedAt, final.oomKilled);
    return this.store.get(id) ?? record;
  }

  private async awaitExit(id: string, ms: number) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    try {
      return await this.o.oci.waitExit(id, controller.signal);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(word: string, signal = 'KILL'): Promise<void> {
    const record = this.store.resolve(word);
    return this.serial(record.id, async () => {
      const current = this.store.get(record.id)!;
      if (current.state.status !== 'running') throw new BerthError('failed-precondition', `Cannot kill container: ${word}: container ${current.id} is not running`);
      await this.o.oci.kill(current.id, signal.replace(/^SIG/, ''));
    });
  }

  /** With `countAsRestart`, the restart counts in restartCount (a pod's container killed by its liveness probe). */
  restart(word: string, timeoutSeconds?: number, options: { countAsRestart?: boolean } = {}): Promise<ContainerRecord> {
    const record = this.store.resolve(word);
    return this.serial(record.id, async () => {
      await this.stopNow(record.id, timeoutSeconds);
      const current = this.store.get(record.id)!;
      const restartCount = current.state.restartCount + (options.countAsRestart ? 1 : 0);
      return this.run({ ...current, state: { ...current.state, stoppedByUser: false, restartCount } });
    });
  }

  remove(word: string, options: { force?: boolean } = {}): Promise<void> {
    const record = this.store.resolve(word);
    return this.serial(record.id, async () => {
      const current = this.store.get(record.id);
      if (!current) return;
      if (current.state.status === 'running' && !options.force) {
        throw new BerthError('failed-precondition', `cannot remove container "${current.name}": container is running: stop the container before removing or force remove`);
      }
      this.cancelRestart(current.id);
      this.waiters.get(current.id)?.abort();
      if (current.state.status === 'running') await this.o.oci.kill(current.id, 'KILL').catch(() => {});
      await this.release(current);
      await this.store.remove(current.id);
      this.notify(current.id);
    });
  }

  /** container prune: every container that is not running. */
  async prune(): Promise<{ deleted: string[]; reclaimed: number }> {
    const victims = this.store.list().filter((c) => c.state.status === 'exited' || c.state.status === 'created');
    let reclaimed = 0;
    for (const c of victims) {
      reclaimed += await this.o.snapshots.usage(this.o.snapshots.writable(this.store.dirOf(c.id))).catch(() => 0);
      await this.remove(c.id, { force: true });
    }
    return { deleted: victims.map((v) => v.id), reclaimed };
  }

  // ---- looking at containers -----------------------------------------------------------------

  async size(record: ContainerRecord): Promise<ContainerSize> {
    const sizeRw = await this.o.snapshots.usage(this.o.snapshots.writable(this.store.dirOf(record.id)));
    const image = this.o.images.get(record.config.imageId);
    return { sizeRw, sizeRootFs: sizeRw + (image?.size ?? 0) };
  }

  async diff(word: string): Promise<Change[]> {
    const record = this.store.resolve(word);
    const image = this.o.images.get(record.config.imageId);
    if (!image) throw new BerthError('not-found', `container ${record.name}: its image is gone`);
    return changes(this.pathsOf(record).upper, this.lowerDirs(image));
  }

  pathsOf(record: ContainerRecord): WritableLayer {
    return this.o.snapshots.writable(this.store.dirOf(record.id));
  }

  lowerDirsOf(record: ContainerRecord): string[] {
    const image = this.o.images.get(record.config.imageId);
    return image ? this.lowerDirs(image) : [];
  }

  /** The image's snapshot directories, topmost first: overlay's lowerdir order. */
  private lowerDirs(image: ImageRecord): string[] {
    return this.o.snapshots.lowerDirs(image.layers.map((l) => l.chainId));
  }

  /**
   * berth commit: the container's writable layer as one more layer on its image's stack, a new
   * image with the container's settings as its defaults. The container should be stopped or
   * paused while its layer is read.
   */
  async commit(word: string, options: { reference?: string; author?: string; message?: string } = {}): Promise<ImageRecord> {
    const c = this.store.resolve(word);
    const parent = this.o.images.get(c.config.imageId);
    if (!parent) throw new BerthError('not-found', `container ${c.name}: its image is gone`);
    const { upper } = this.pathsOf(c);
    return this.o.images.importLayer({
      parent,
      writeTar: (out) => layerFromUpper(upper, out),
      ...(options.reference ? { repoTag: options.reference } : {}),
      ...(options.author ? { author: options.author } : {}),
      ...(options.message ? { message: options.message } : {}),
      containerConfig: {
        ...(c.config.cmd ? { Cmd: c.config.cmd } : {}),
        ...(c.config.entrypoint ? { Entrypoint: c.config.entrypoint } : {}),
        ...(c.config.env.length ? { Env: c.config.env } : {}),
      },
      createdBy: c.config.args.join(' '),
    });
  }

  logs(word: string, options: Omit<LogOptions, 'done'>, onLine: (line: LogLine) => void): Promise<void> {
    const record = this.store.resolve(word);
    return readLogs(logPathOf(this.store.dirOf(record.id)), { ...options, done: this.settled(record.id).then(() => {}) }, onLine);
  }

  /**
   * Resolves once the container is not running and no restart is pending, or it is gone; with
   * `untilGone` (a --rm container) only once it is removed. Resolves with the last exit code seen.
   */
  settled(id: string, untilGone = false): Promise<number> {
    return new Promise((resolve) => {
      let exitCode = this.store.get(id)?.state.exitCode ?? 0;
      const check = () => {
        const r = this.store.get(id);
        if (r?.state.exitCode !== undefined) exitCode = r.state.exitCode;
        const done = !r || (!untilGone && (r.state.status === 'exited' || r.state.status === 'created'));
        if (done) resolve(exitCode);
        return done;
      };
      if (check()) return;
      const listener = () => {
        if (check()) this.changed.set(id, (this.changed.get(id) ?? []).filter((l) => l !== listener));
      };
      this.changed.set(id, [...(this.changed.get(id) ?? []), listener]);
    });
  }

  /** docker wait: the exit code once it is settled (a --rm container: once it is removed). */
  async wait(word: string): Promise<number> {
    const record = this.store.resolve(word);
    return this.settled(record.id, record.config.autoRemove);
  }

  async exec(word: string, args: string[], options: { env?: string[]; workdir?: string; user?: string }, io: Parameters<OciRuntime['exec']>[2]): Promise<number> {
    const record = this.store.resolve(word);
    if (record.state.status !== 'running') {
      throw new BerthError('failed-precondition', `container ${record.id.slice(0, 12)} is not running`);
    }
    const image = this.o.images.get(record.config.imageId)!;
    const imageConfig = (await this.o.images.config(image)).config ?? {};
    const spec = this.specFor(
      { ...record, config: { ...record.config, entrypoint: args.slice(0, 1), cmd: args.slice(1), env: [...record.config.env, ...(options.env ?? [])], ...(options.workdir ? { workdir: options.workdir } : {}), ...(options.user ? { user: options.user } : {}) } },
      image, imageConfig, '/', undefined, { hosts: '', hostname: '', resolvConf: '' },
    ) as { process: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number } } };
    return this.o.oci.exec(record.id, { args: spec.process.args, env: spec.process.env, cwd: spec.process.cwd, user: spec.process.user }, io);
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private notify(id: string): void {
    for (const listener of this.changed.get(id) ?? []) listener();
    for (const observer of this.observers) observer(id);
  }

  /**
   * Be told the ID of each container whose record changes (created, started, exited, restarting,
   * removed), after the change is saved. Returns the unsubscribe function.
   */
  observe(observer: (id: string) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Run `fn` after every earlier operation on the same container. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return next;
  }
}

const logPathOf = (dir: string) => path.join(dir, 'container.log');

/**
 * The image's own /etc/passwd and /etc/group, read from its topmost layer that has them. Read
 * from the immutable snapshots (never through the container's rootfs, where a symlink could
 * point the agent at a host file), and ignored when they are anything but regular files.
 */
function imageFiles(lowerDirs: string[]): { passwd?: string; group?: string } {
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
