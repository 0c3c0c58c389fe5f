// The builder: a Dockerfile and a context made into an image on this node (types.ts has the
// lifecycle). One Build per request holds that build's state; the Builder holds what builds
// share (the cache, the runtime, where steps mount their root filesystems).

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError, withContext } from '../../proto/errors';
import { layerFromUpper, upperLayer } from '../diff';
import { type ImageRecord, type ImageService, type LayerRecord, mapBounded } from '../images';
import type { ContainerNetwork } from '../network';
import { berthFs } from '../native';
import { type Digest, familiarName, type HistoryEntry, type ImageConfig, parseReference, type Platform } from '../oci';
import { clearOneShots, imageFiles, resolveUser, runOnce, type OneShotRuntime, type VolumeMount } from '../runtime';
import type { Snapshotter, WritableLayer } from '../snapshots';
import { BuildCache, type CachedLayer, isUnwritten, snapshotOf } from './cache';
import { BuildContext, escapeRegExp, hasWildcard } from './context';
import { type Command, DockerfileError, type Dockerfile, type Env, expandWord, ExpansionError, readDockerfile, readTriggers, type Stage } from './dockerfile';
import { checkStopSignal, envList, envMap, exposedPorts, healthcheck, parseChmod } from './image-config';
import { contextTree, resolveInRoot, rootfsTree, type SourceEntry, type SourceTree, type UpperWrites, writeItems } from './rootfs';
import { unpackArchive, download } from './sources';
import { archivesAmong, chownOf, excluded, passwdOf, placeSources, type ResolvedSource, sourcesKey, type SourceWord } from './copy-plan';
import { CacheMounts, type HeldCaches, makeMountStubs, makeNestedMountPoints, type MountStubs } from './mount-points';
import { MountError, parseRunMount, type RunMount } from './run-mounts';
import type { BuildEvent, BuildRequest, BuildSink } from './types';

export interface BuilderOptions {
  images: ImageService;
  snapshots: Snapshotter;
  runtime: OneShotRuntime;
  network: ContainerNetwork;
  /** The read-only layer of mount points every container's rootfs has (the container store's). */
  initLayer: string;
  /** <data root>/build: each build's scratch space; emptied at open. */
  workRoot: string;
  /** <data root>/build-mounts: RUN --mount=type=cache's directories, kept between builds. */
  cacheMountRoot: string;
  /**
   * Where RUN --mount=type=secret's files are while a step runs: directories named with this
   * prefix on a tmpfs (/dev/shm/berth-build-secret-<agent>-), each removed after its step (and
   * at open, those a crash left).
   */
  secretPrefix: string;
  cacheFile: string;
  platform: Platform;
  /**
   * Bytes of layers the cache may keep: after each build, the least recently used entries beyond
   * it are dropped and what only they kept is collected (BuildKit's garbage collection).
   */
  keepStorage: number;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Build args Docker accepts without an ARG, passed to RUN but never recorded in the image. */
const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);
const NETWORK_PREFIX = 'build-';
/** Output lines a failed RUN's error keeps. */
const TAIL_LINES = 10;
/** Bytes of a step's output sent to the client (BuildKit's default clip). */
const MAX_STEP_OUTPUT = 2 * 1024 * 1024;

export class Builder {
  private readonly cacheMounts: CacheMounts;

  private constructor(
    private readonly o: BuilderOptions,
    readonly cache: BuildCache,
  ) {
    this.cacheMounts = new CacheMounts(o.cacheMountRoot);
  }

  /** Opens the cache and clears what a build an earlier agent was running left behind. */
  static async open(options: BuilderOptions): Promise<Builder> {
    await clearOneShots(options.runtime);
    for (const id of await options.network.list()) {
      if (id.startsWith(NETWORK_PREFIX)) await options.network.detach(id).catch(() => undefined);
    }
    await unmountBelow(options.workRoot);
    await fs.rm(options.workRoot, { recursive: true, force: true });
    // A crash mid-step left its secrets and its private cache mounts.
    const shm = path.dirname(options.secretPrefix);
    for (const name of await fs.readdir(shm).catch(() => [] as string[])) {
      if (path.join(shm, name).startsWith(options.secretPrefix)) await fs.rm(path.join(shm, name), { recursive: true, force: true });
    }
    await CacheMounts.sweep(options.cacheMountRoot);
    const cache = await BuildCache.open(options.cacheFile);
    options.images.keepLayers(() => cache.layers());
    return new Builder(options, cache);
  }

  /** Build; resolves to the image once it is stored and named. `signal` cancels (running steps are killed). */
  async build(request: BuildRequest, emit: BuildSink, signal?: AbortSignal): Promise<ImageRecord> {
    const build = new Build(this.o, this.cache, this.cacheMounts, request, emit, signal);
    try {
      return await this.o.images.holdingCollector(async () => {
        try {
          return await build.run();
        } catch (err) {
          // Stages running beside the one that failed stop, and are waited for while their
          // layers are still held from the collector.
          await build.stopAll();
          throw err;
        }
      });
    } finally {
      await build.cleanup();
      await this.cache.flush().catch(() => undefined);
      await this.trim().catch((err: unknown) => console.error('build cache trim failed:', (err as Error).message));
    }
  }

  /** Keep the cache within keepStorage (the entries used least recently go first). */
  private async trim(): Promise<void> {
    if (this.cache.usage().bytes <= this.o.keepStorage) return;
    await this.prune({ keepBytes: this.o.keepStorage });
  }

  /**
   * berth builder prune: drop cache entries (all, or the least recently used beyond `keepBytes`),
   * then free their layers; pruning all also empties the RUN --mount=type=cache directories.
   */
  async prune(options: { keepBytes?: number } = {}): Promise<{ entries: number; reclaimed: number }> {
    const before = await this.o.images.diskUsage();
    const entries = await this.cache.prune(options);
    await this.o.images.collectGarbage();
    const mounts = options.keepBytes === undefined ? await this.cacheMounts.clear() : 0;
    return { entries, reclaimed: Math.max(0, before - (await this.o.images.diskUsage())) + mounts };
  }
}

/**
 * A layer of a stage's stack: its snapshot's directory at once, its record (IDs and blob) once
 * its tar is written and stored. A step's own layer is written while the build goes on
 * (storeLayerLater): the steps above need only its snapshot, the image and the cache its record.
 * A step of a stage no image of the build has (one only COPY --from reads) writes no tar at all
 * (storeUnwrittenLayer, as BuildKit writes tars only for what it exports): the cache names its
 * snapshot, and its tar is written only if an image or a written layer above it ever needs it.
 */
interface StackLayer {
  /** The snapshot's directory, to stack as a lower dir (a made layer's pending one until the build commits it). */
  dir: string;
  /** How the build cache names it: its record once stored, or its unwritten snapshot. */
  cached: Promise<CachedLayer>;
  /** Its record: an unwritten layer's tar is written the first time it is asked for. */
  record(): Promise<LayerRecord>;
}

const recordsOf = (layers: readonly StackLayer[]): Promise<LayerRecord[]> => Promise.all(layers.map((l) => l.record()));
const cachedOf = (layers: readonly StackLayer[]): Promise<CachedLayer[]> => Promise.all(layers.map((l) => l.cached));
/** A stack's directories as overlay's lowerdir lists them: topmost first. */
const lowerDirs = (layers: readonly StackLayer[]): string[] => layers.map((l) => l.dir).reverse();

/** A RUN --mount as the step's key sees it, and how it is made ready when the step runs (in `dir`, the mount's own scratch directory). */
interface PlannedMount {
  key: Record<string, unknown>;
  /** A cache mount's ID and sharing: held for the whole step, with the step's other cache mounts. */
  cache?: { id: string; sharing: 'shared' | 'private' | 'locked'; mode: number; uid: number; gid: number };
  prepare(dir: string, caches: HeldCaches): Promise<PreparedMount>;
}

/** A mount made ready: what the container binds (a file or a directory), a variable for its environment, and what to let go after. */
interface PreparedMount {
  volume?: VolumeMount;
  file: boolean;
  env?: string;
  release(): Promise<void>;
}

/** A stage's state between instructions: its layers and the image config it is making. */
interface State {
  layers: StackLayer[];
  /** An image of this build has the stage's layers (the target or a stage it is FROM): their tars are written as they are made. */
  written: boolean;
  /**
   * What the next step's cache key is made on: the step key of the newest layer this build made
   * or took from the cache, else the base image's top chain ID ('scratch': none). Step keys chain
   * rather than diff IDs, so a step can start before the layer below has its tar (as BuildKit's
   * keys chain on its operations).
   */
  below: string;
  config: ImageConfig & { config: NonNullable<ImageConfig['config']> };
  history: HistoryEntry[];
  /** ARGs declared in this stage so far, with their values. */
  args: Map<string, string>;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /**
   * When the newest layer was made (the base image's time until a step makes one): the time of
   * the history rows and of the image, so that a build whose every step is cached gives the
   * image it gave before.
   */
  time: string;
}

class Build {
  private readonly id = randomBytes(6).toString('hex');
  private readonly dir: string;
  private readonly file: Dockerfile;
  private readonly stagePromises = new Map<number, Promise<State>>();
  private nextStep = 1;
  private contextPromise?: Promise<BuildContext>;
  private networkPromise?: Promise<string | undefined>;
  private readonly globalArgs = new Map<string, string>();
  /** Build args something used (the rest are warned about). */
  private readonly consumed = new Set<string>();
  private readonly epoch?: number;
  private readonly mounted = new Set<WritableLayer>();
  private readonly controller = new AbortController();
  /** Work that goes on beside the steps (blobs being stored, cache entries waiting for them): settled before the build ends. */
  private readonly background: Array<Promise<unknown>> = [];
  /** Layers this build made whose snapshots are still pending (commitPending). */
  private readonly pending: Array<{ dir: string; commit(): Promise<void> }> = [];
  /** Stages an image of this build has the layers of: the target and those it is FROM, transitively. */
  private exported = new Set<number>();

  constructor(
    private readonly o: BuilderOptions,
    private readonly cache: BuildCache,
    private readonly cacheMounts: CacheMounts,
    private readonly req: BuildRequest,
    private readonly emit: BuildSink,
    signal?: AbortSignal,
  ) {
    this.dir = path.join(o.workRoot, this.id);
    this.file = readDockerfile(req.dockerfile, req.dockerfileName);
    if (req.sourceDateEpoch !== undefined) this.epoch = req.sourceDateEpoch;
    if (signal?.aborted) this.controller.abort();
    else signal?.addEventListener('abort', () => this.controller.abort(), { once: true });
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  async run(): Promise<ImageRecord> {
    for (const warning of this.file.warnings) this.emit({ kind: 'warning', message: warning });
    const tags = this.req.tags.map((t) => tagOf(t));
    await fs.mkdir(this.dir, { recursive: true });
    this.evaluateMetaArgs();
    const target = this.targetStage();
    this.exported = this.fromChain(target);
    // Every stage the target needs starts now, so that independent ones run side by side; each
    // is awaited where it is used.
    for (const index of this.needed(target)) if (index !== target.index) this.stage(index).catch(() => undefined);
    const result = await this.stage(target.index);
    this.signal.throwIfAborted();
    const unused = Object.keys(this.req.buildArgs).filter((k) => !this.consumed.has(k) && !PROXY_ARGS.has(k));
    if (unused.length) this.emit({ kind: 'warning', message: `One or more build-args [${unused.join(' ')}] were not consumed` });
    const image = await this.export(result, tags);
    // Blobs of layers the image does not have (other stages') are stored, and cached, before the
    // build leaves the collector's hold.
    // A stage only a heredoc-only COPY --from named was never awaited: it may still be making layers.
    await Promise.allSettled(this.stagePromises.values());
    await Promise.allSettled(this.background);
    await this.commitPending();
    return image;
  }

  /** Cancel every stage still running and wait for them all (and the work beside them) to end. */
  async stopAll(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.stagePromises.values());
    await Promise.allSettled(this.background);
    // The layers made before the failure stay, for the cache (those whose tar failed go).
    await this.commitPending();
  }

  /**
   * Commit the snapshots of the layers made so far (each once), or of those in `only` (their
   * directories); only when no step stacks them.
   */
  private async commitPending(only?: ReadonlySet<string>): Promise<void> {
    await Promise.all(this.pending.filter((layer) => !only || only.has(layer.dir)).map((layer) => layer.commit()));
  }

  /** A stored layer as a stage stacks it. */
  private stored(record: LayerRecord): StackLayer {
    return { dir: this.o.images.snapshots.dirOf(record.chainId), cached: Promise.resolve(record), record: () => Promise.resolve(record) };
  }

  /** An unwritten layer (snapshot `id`, in `dir`) on `below`: its tar written, from the snapshot, when its record is first asked for. */
  private unwritten(id: Digest, dir: string, below: readonly StackLayer[]): StackLayer {
    let record: Promise<LayerRecord> | undefined;
    // Clamped as the step clamped it (a cache hit has the same SOURCE_DATE_EPOCH: it is in the
    // key): settling clamped every entry's time but a whiteout's, which the tar takes from here.
    const clamp = this.epoch !== undefined ? { maxMtime: this.epoch } : {};
    const write = async (): Promise<LayerRecord> => {
      const written = await this.o.images.writtenLayer(await recordsOf(below), id, (out) => layerFromUpper(dir, out, clamp));
      // Entries then name the written layer, and the unwritten snapshot can go (a cache file
      // that cannot be written costs the entry, not the image).
      await this.cache.useRecord(id, written).catch(() => undefined);
      return written;
    };
    return { dir, cached: Promise.resolve({ unwritten: id }), record: () => (record ??= write()) };
  }

  /** A cache entry's stack as a stage stacks it. */
  private stackOf(layers: readonly CachedLayer[]): StackLayer[] {
    const stack: StackLayer[] = [];
    for (const l of layers) stack.push(isUnwritten(l) ? this.unwritten(l.unwritten, this.o.images.snapshots.dirOf(l.unwritten), [...stack]) : this.stored(l));
    return stack;
  }

  /** Unmount whatever is still mounted, leave the network, remove the scratch space. */
  async cleanup(): Promise<void> {
    this.controller.abort();
    for (const layer of this.mounted) {
      try {
        this.o.snapshots.unmount(layer);
      } catch {
        // Still busy: the unmount below the work root at the next open takes it.
      }
    }
    if (this.networkPromise) {
      await this.networkPromise.catch(() => undefined);
      await this.o.network.detach(this.networkId).catch(() => undefined);
    }
    await fs.rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private get networkId(): string {
    return `${NETWORK_PREFIX}${this.id}`;
  }

  // ---- arguments and stages ---------------------------------------------------------------------

  /** The platform args every build has, then the ARGs before the first FROM, overridden by --build-arg. */
  private evaluateMetaArgs(): void {
    const p = this.o.platform;
    const platform = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
    for (const prefix of ['TARGET', 'BUILD']) {
      this.globalArgs.set(`${prefix}PLATFORM`, platform);
      this.globalArgs.set(`${prefix}OS`, p.os);
      this.globalArgs.set(`${prefix}ARCH`, p.architecture);
      this.globalArgs.set(`${prefix}VARIANT`, p.variant ?? '');
    }
    for (const command of this.file.metaArgs) {
      for (const arg of command.args) {
        const given = this.req.buildArgs[arg.key];
        if (given !== undefined) this.consumed.add(arg.key);
        const value = given ?? (arg.value === undefined ? undefined : this.expand(arg.value, this.globalArgs, command.line));
        if (value !== undefined) this.globalArgs.set(arg.key, value);
        else this.globalArgs.delete(arg.key);
      }
    }
  }

  private targetStage(): Stage {
    const { stages } = this.file;
    if (this.req.target === undefined || this.req.target === '') return stages.at(-1)!;
    const stage = stages.find((s) => s.name === this.req.target!.toLowerCase());
    if (!stage) throw new BerthError('invalid-argument', `target stage "${this.req.target}" could not be found in ${this.req.dockerfileName}`);
    return stage;
  }

  /** `target` and the stages it is FROM, transitively: those whose layers its image has. */
  private fromChain(target: Stage): Set<number> {
    const chain = new Set<number>();
    for (let stage: Stage | undefined = target; stage && !chain.has(stage.index);) {
      chain.add(stage.index);
      try {
        stage = this.stageNamed(expandWord(stage.from.image, this.globalArgs, this.file.escape).value, stage.index);
      } catch {
        stage = undefined; // reported when the stage gets there
      }
    }
    return chain;
  }

  /** The stages `target` needs, itself included: through FROM and COPY --from, transitively. */
  private needed(target: Stage): Set<number> {
    const seen = new Set<number>();
    const visit = (stage: Stage) => {
      if (seen.has(stage.index)) return;
      seen.add(stage.index);
      const refs = [stage.from.image, ...stage.commands.flatMap((c) => {
        if ((c.kind === 'COPY' || c.kind === 'ADD') && c.from !== undefined) return [c.from];
        // RUN --mount=...,from=STAGE (read properly when the step runs).
        if (c.kind === 'RUN') return c.mounts.flatMap((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1] ?? []);
        return [];
      })];
      for (const ref of refs) {
        let word: string;
        try {
          word = expandWord(ref, this.globalArgs, this.file.escape).value;
        } catch {
          continue; // reported when the stage gets there
        }
        const dependency = (() => {
          try {
            return this.stageNamed(word, stage.index);
          } catch {
            return undefined;
          }
        })();
        if (dependency) visit(dependency);
      }
    };
    visit(target);
    return seen;
  }

  /** A stage by its name or index as FROM and COPY --from name it, when it is one before `before`. */
  private stageNamed(word: string, before: number): Stage | undefined {
    const lower = word.toLowerCase();
    const byName = this.file.stages.find((s) => s.name === lower && s.index < before);
    if (byName) return byName;
    if (/^\d+$/.test(word)) {
      const index = Number(word);
      if (index >= before) throw new BerthError('invalid-argument', `stage ${index} is not before the stage that refers to it (${before})`);
      return this.file.stages[index];
    }
    return undefined;
  }

  /** Each stage is built once, when something first needs it; stages that do not wait on each other run at the same time. */
  private stage(index: number): Promise<State> {
    let running = this.stagePromises.get(index);
    if (!running) {
      running = this.buildStage(this.file.stages[index]!);
      this.stagePromises.set(index, running);
    }
    return running;
  }

  private label(stage: Stage, step: number): string {
    const name = stage.name ?? (this.file.stages.length > 1 ? `stage-${stage.index}` : '');
    return `[${name ? `${name} ` : ''}${step}/${stage.commands.length + 1}]`;
  }

  private async buildStage(stage: Stage): Promise<State> {
    let state = await this.from(stage).catch((err: unknown) => {
      if (err instanceof DockerfileError || this.signal.aborted || this.located(err)) throw err;
      throw withContext(`${this.req.dockerfileName}:${stage.from.line}: ${firstLine(stage.from.text)}`, err);
    });
    state.written = this.exported.has(stage.index);
    const triggers = state.config.config.OnBuild ?? [];
    if (triggers.length > 0) {
      state.config.config.OnBuild = null;
      for (const command of readTriggers(triggers, this.req.dockerfileName, stage.from.line)) {
        state = await this.command(stage, state, command, `[${stage.name ?? `stage-${stage.index}`} ONBUILD]`, true);
      }
    }
    for (const [i, command] of stage.commands.entries()) {
      this.signal.throwIfAborted();
      state = await this.command(stage, state, command, this.label(stage, i + 2));
    }
    return state;
  }

  // ---- FROM ---------------------------------------------------------------------------------------

  private async from(stage: Stage): Promise<State> {
    const { from } = stage;
    const word = this.expand(from.image, this.globalArgs, from.line);
    if (from.platform !== undefined) this.checkPlatform(this.expand(from.platform, this.globalArgs, from.line), from.line);
    // The stack is shared (its layers are immutable), the rest copied.
    const fresh = ({ layers, ...base }: Omit<State, 'args' | 'cmdSet' | 'written'>): State => ({ ...structuredClone(base), layers: [...layers], args: new Map(), cmdSet: false, written: true });
    const epoch = new Date(0).toISOString();
    const earlier = this.stageNamed(word, stage.index);
    if (earlier) return fresh(await this.stage(earlier.index));
    if (word === '') throw new DockerfileError('FROM names no image (the variable it uses is empty)', this.req.dockerfileName, from.line);
    if (word.toLowerCase() === 'scratch') {
      return fresh({
        layers: [],
        below: 'scratch',
        config: { architecture: this.o.platform.architecture, os: this.o.platform.os, ...(this.o.platform.variant ? { variant: this.o.platform.variant } : {}), rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [DEFAULT_PATH] } },
        history: [],
        time: this.epoch !== undefined ? this.now() : epoch,
      });
    }
    const image = await this.step(`${this.label(stage, 1)} FROM ${word}`, async (id) => this.baseImage(word, id));
    const config = await this.o.images.config(image);
    const history = config.history?.length ? config.history : image.layers.map(() => ({ created_by: '' }));
    return fresh({ layers: image.layers.map((l) => this.stored(l)), below: image.layers.at(-1)?.chainId ?? 'scratch', config: { ...config, config: { ...(config.config ?? {}) } }, history, time: this.epoch !== undefined ? this.now() : config.created ?? image.created });
  }

  private checkPlatform(platform: string, line: number): void {
    const p = this.o.platform;
    const ours = [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
    if (platform !== ours && platform !== `${p.os}/${p.architecture}`) {
      throw new DockerfileError(`--platform=${platform}: this node builds for ${ours} only`, this.req.dockerfileName, line);
    }
  }

  /** The image FROM or COPY --from names: the local one unless --pull or absent, else pulled. */
  private async baseImage(word: string, stepId: number): Promise<ImageRecord> {
    if (!this.req.pull) {
      try {
        return this.o.images.resolve(word);
      } catch (err) {
        if (!(err instanceof BerthError && err.code === 'not-found')) throw err;
      }
    }
    this.output(stepId, `pulling ${word}\n`);
    // A cancelled build stops waiting at once; the pull itself, which another pull of the same
    // image may share, runs on to its end under its own hold.
    return untilAborted(this.o.images.pull(word, { platform: this.o.platform }), this.signal);
  }

  // ---- instructions -------------------------------------------------------------------------------

  private async command(stage: Stage, state: State, command: Command, label: string, trigger = false): Promise<State> {
    try {
      return await this.apply(stage, state, command, label);
    } catch (err) {
      if (err instanceof DockerfileError || this.signal.aborted || this.located(err)) throw err;
      const where = `${this.req.dockerfileName}:${command.line}`;
      throw withContext(`${where}: ${trigger ? 'ONBUILD ' : ''}${firstLine(command.text)}`, err);
    }
  }

  /** An error that names its Dockerfile line already (one from a stage this one waited for). */
  private located(err: unknown): boolean {
    return err instanceof Error && err.message.startsWith(`${this.req.dockerfileName}:`);
  }

  private async apply(stage: Stage, state: State, command: Command, label: string): Promise<State> {
    const c = state.config.config;
    const env = this.envOf(state);
    const x = (word: string) => this.expand(word, env, command.line);
    const metadata = (createdBy: string): State => this.record(state, createdBy);
    switch (command.kind) {
      case 'RUN':
        return this.runStep(stage, state, command, label);
      case 'COPY':
      case 'ADD':
        return this.copyStep(stage, state, command, label);
      case 'WORKDIR': {
        const dir = path.posix.resolve(c.WorkingDir || '/', x(command.value));
        c.WorkingDir = dir;
        return this.workdirStep(state, dir, label, `WORKDIR ${dir}`);
      }
      case 'ENV': {
        const vars = envMap(c.Env);
        const added: string[] = [];
        for (const pair of command.pairs) {
          // Each pair sees the ones before it on the same line.
          const scope = new Map([...state.args, ...vars]);
          const key = this.expand(pair.key, scope, command.line);
          const value = this.expand(pair.value, scope, command.line);
          vars.set(key, value);
          added.push(`${key}=${value}`);
        }
        c.Env = envList(vars);
        return metadata(`ENV ${added.join(' ')}`);
      }
      case 'ARG': {
        for (const arg of command.args) {
          const given = this.req.buildArgs[arg.key];
          if (given !== undefined) this.consumed.add(arg.key);
          const fallback = arg.value !== undefined ? this.expand(arg.value, env, command.line) : this.globalArgs.get(arg.key);
          const value = given ?? fallback;
          if (value !== undefined) state.args.set(arg.key, value);
          else state.args.delete(arg.key);
        }
        return metadata(`ARG ${command.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`);
      }
      case 'LABEL': {
        const labels = { ...(c.Labels ?? {}) };
        const added: string[] = [];
        for (const pair of command.pairs) {
          const key = x(pair.key);
          const value = x(pair.value);
          labels[key] = value;
          added.push(`${key}=${value}`);
        }
        c.Labels = labels;
        return metadata(`LABEL ${added.join(' ')}`);
      }
      case 'USER': {
        c.User = x(command.value);
        return metadata(`USER ${c.User}`);
      }
      case 'CMD': {
        c.Cmd = this.commandArgs(state, command.form);
        state.cmdSet = true;
        return metadata(`CMD ${JSON.stringify(c.Cmd)}`);
      }
      case 'ENTRYPOINT': {
        c.Entrypoint = this.commandArgs(state, command.form);
        // An ENTRYPOINT drops a CMD the base image gave: it was for the old entrypoint.
        if (!state.cmdSet) c.Cmd = null;
        return metadata(`ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
      }
      case 'SHELL':
        c.Shell = command.shell;
        return metadata(`SHELL ${JSON.stringify(command.shell)}`);
      case 'EXPOSE': {
        const ports = exposedPorts(command.values.map(x).flatMap((v) => v.split(/\s+/)).filter(Boolean));
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) };
        return metadata(`EXPOSE map[${ports.map((p) => `${p}:{}`).join(' ')}]`);
      }
      case 'VOLUME': {
        const paths = command.values.map(x);
        if (paths.some((p) => p.trim() === '')) throw new DockerfileError('VOLUME specified can not be an empty string', this.req.dockerfileName, command.line);
        c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) };
        return metadata(`VOLUME ${JSON.stringify(paths)}`);
      }
      case 'STOPSIGNAL':
        c.StopSignal = checkStopSignal(x(command.value));
        return metadata(`STOPSIGNAL ${c.StopSignal}`);
      case 'HEALTHCHECK': {
        const test = command.test && 'shell' in command.test ? { shell: command.test.shell } : command.test;
        c.Healthcheck = healthcheck(test, command.options);
        return metadata(`HEALTHCHECK ${command.test ? `&{${JSON.stringify(c.Healthcheck.Test)}}` : 'NONE'}`);
      }
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), command.trigger];
        return metadata(`ONBUILD ${command.trigger}`);
      case 'MAINTAINER':
        state.config.author = command.value;
        return metadata(`MAINTAINER ${command.value}`);
    }
  }

  /** A shell-form command runs through the stage's SHELL. */
  private commandArgs(state: State, form: { exec: string[] } | { shell: string }): string[] {
    return 'exec' in form ? form.exec : [...(state.config.config.Shell ?? DEFAULT_SHELL), form.shell];
  }

  /** A history row for an instruction that changes no file. */
  private record(state: State, createdBy: string, emptyLayer = true): State {
    state.history.push({ created: state.time, created_by: createdBy, comment: 'buildkit.dockerfile.v0', ...(emptyLayer ? { empty_layer: true } : {}) });
    return state;
  }

  /** Variables a word may use: the stage's ARGs, overridden by its ENV (Docker's precedence). */
  private envOf(state: State): Env {
    return new Map([...state.args, ...envMap(state.config.config.Env)]);
  }

  private expand(word: string, env: Env, line: number): string {
    try {
      const { value, used } = expandWord(word, env, this.file.escape);
      for (const name of used) if (name in this.req.buildArgs) this.consumed.add(name);
      return value;
    } catch (err) {
      if (err instanceof ExpansionError) throw new DockerfileError(err.message, this.req.dockerfileName, line);
      throw err;
    }
  }

  private now(): string {
    return this.epoch !== undefined ? new Date(this.epoch * 1000).toISOString() : new Date().toISOString();
  }

  // ---- steps that change files -------------------------------------------------------------------

  private async runStep(stage: Stage, state: State, command: Extract<Command, { kind: 'RUN' }>, label: string): Promise<State> {
    if (command.security !== undefined && command.security !== 'sandbox') {
      throw new DockerfileError(`RUN --security=${command.security} is not allowed (it would need the insecure entitlement)`, this.req.dockerfileName, command.line);
    }
    const network = command.network ?? this.req.network;
    if (network !== 'default' && network !== 'none') {
      throw new DockerfileError(`RUN --network=${network}: berth builds with "default" or "none"`, this.req.dockerfileName, command.line);
    }
    const c = state.config.config;
    const { args, script } = this.runArgs(state, command);
    // ARGs are in RUN's environment (the ENV of the same name wins); proxies too, unrecorded.
    const vars = new Map(state.args);
    for (const [k, v] of Object.entries(this.req.buildArgs)) if (PROXY_ARGS.has(k)) vars.set(k, v);
    for (const [k, v] of envMap(c.Env)) vars.set(k, v);
    const env = envList(vars);
    const workdir = c.WorkingDir || '/';
    const user = c.User ?? '';
    const argsShown = [...state.args].filter(([k]) => !envMap(c.Env).has(k)).map(([k, v]) => `${k}=${v}`);
    const createdBy = `RUN ${argsShown.length ? `|${argsShown.length} ${argsShown.join(' ')} ` : ''}${args.join(' ')} # buildkit`;
    const mounts = await this.runMounts(state, command, workdir);
    const key = this.key(state, { op: 'run', args, script, env, workdir, user, network, ...(mounts.length ? { mounts: mounts.map((m) => m.key) } : {}) });
    return this.layerStep(state, key, `${label} ${firstLine(command.text)}`, createdBy, async (id) => {
      const netns = network === 'default' ? await this.network() : undefined;
      return this.withRootfs(state.layers, true, async (layer, lowers, dir) => {
        const held: Array<{ release(): Promise<void> }> = [];
        let stubs: MountStubs | undefined;
        try {
          const caches = await this.cacheMounts.acquire(mounts.flatMap((m) => (m.cache ? [m.cache] : [])), this.signal);
          held.push({ release: async () => caches.release() });
          const prepared: PreparedMount[] = [];
          for (const [i, m] of mounts.entries()) {
            const p = await m.prepare(path.join(dir, `mount-${i}`), caches);
            held.push(p);
            prepared.push(p);
          }
          // Parents before what is mounted inside them (runc mounts in the order given), as BuildKit sorts them.
          const depth = (p: PreparedMount) => (p.volume ? p.volume.destination.split('/').filter((s) => s !== '').length : 0);
          prepared.sort((a, b) => depth(a) - depth(b));
          // Mount points the image lacks are made for the step and removed after it; one inside
          // another mount is made in that mount's source (the context's copy, a stage's view, a
          // cache), where runc would otherwise have to make it through a read-only bind.
          const targets = prepared.flatMap((p) => (p.volume ? [{ target: p.volume.destination, file: p.file }] : []));
          await makeNestedMountPoints(prepared.flatMap((p) => (p.volume && !p.file ? [p.volume] : [])), targets);
          const made = await makeMountStubs(layer.merged, targets);
          stubs = made;
          held.push({ release: () => made.remove() });
          await this.runContainer(id, dir, layer.merged, {
            args, env: [...env, ...prepared.flatMap((p) => (p.env ? [p.env] : []))], workdir, user, files: imageFiles(lowers), netns,
            volumes: prepared.flatMap((p) => (p.volume ? [p.volume] : [])), script,
          });
        } finally {
          // The stubs first (the root filesystem is still mounted), then what the mounts held.
          for (const h of held.reverse()) await h.release().catch(() => undefined);
        }
        // Directories overlay copied up only to hold a stub are not the step's change.
        const copied = stubs;
        return copied ? { finish: (upper: string) => copied.dropCopyUps(upper, [this.o.initLayer, ...lowers]) } : undefined;
      });
    });
  }

  /**
   * RUN --mount's mounts: each read (names expanded with the step's variables), what of it goes
   * into the cache key (a bind's source content or stage, a cache's ID and options; never a
   * secret's value nor a cache's content), and how it is made ready when the step runs.
   */
  private async runMounts(state: State, command: Extract<Command, { kind: 'RUN' }>, workdir: string): Promise<PlannedMount[]> {
    const env = this.envOf(state);
    const planned: PlannedMount[] = [];
    const targets = new Set<string>();
    for (const text of command.mounts) {
      let mount: RunMount;
      try {
        mount = parseRunMount(text, workdir, (value) => this.expand(value, env, command.line));
      } catch (err) {
        if (err instanceof MountError) throw new DockerfileError(err.message, this.req.dockerfileName, command.line);
        throw err;
      }
      const target = mount.target;
      if (target !== undefined) {
        if (target === '/') throw new DockerfileError(`--mount=${text}: a mount cannot replace the root filesystem`, this.req.dockerfileName, command.line);
        if (targets.has(target)) throw new DockerfileError(`--mount=${text}: ${target} is the target of another mount of the step`, this.req.dockerfileName, command.line);
        targets.add(target);
      }
      planned.push(await this.planMount(mount, command));
    }
    return planned;
  }

  private async planMount(mount: RunMount, command: Extract<Command, { kind: 'RUN' }>): Promise<PlannedMount> {
    const none = async (): Promise<void> => undefined;
    switch (mount.type) {
      case 'cache': {
        const { type, target, id, sharing, readonly, mode, uid, gid } = mount;
        return {
          key: { type, target, id, sharing, readonly, mode, uid, gid },
          cache: { id, sharing, mode, uid, gid },
          // Held already, with the step's other cache mounts; released with them.
          prepare: async (_dir, caches) => ({ volume: { source: caches.dirOf(id), destination: target, readonly }, file: false, release: none }),
        };
      }
      case 'tmpfs':
        // An empty directory of the step's own, gone with it (not memory-backed: the runtime binds directories).
        return {
          key: { type: 'tmpfs', target: mount.target },
          prepare: async (dir) => {
            await fs.mkdir(dir, { recursive: true, mode: 0o1777 });
            await fs.chmod(dir, 0o1777);
            return { volume: { source: dir, destination: mount.target, readonly: false }, file: false, release: none };
          },
        };
      case 'secret': {
        const value = this.req.secrets?.get(mount.id);
        const { id, target, env, required, mode, uid, gid } = mount;
        return {
          key: { type: 'secret', id, target, env, mode, uid, gid },
          prepare: async () => {
            // Only a step that runs needs it (a cached one does not), as in BuildKit; absent and
            // not required, the step runs without it.
            if (value === undefined) {
              if (required) throw new BerthError('invalid-argument', `secret ${id} is required by RUN --mount but the build was given none of that id (berth build --secret id=${id},src=FILE)`);
              return { file: false, release: none };
            }
            let volume: VolumeMount | undefined;
            let release: () => Promise<void> = none;
            if (target !== undefined) {
              // In memory (/dev/shm), never on the data root's disk, and removed after the step
              // (or at the agent's next start, after a crash).
              const home = await fs.mkdtemp(this.o.secretPrefix);
              release = () => fs.rm(home, { recursive: true, force: true });
              try {
                const file = path.join(home, 'secret');
                await fs.writeFile(file, value, { mode: 0o600 });
                await fs.chown(file, uid, gid);
                await fs.chmod(file, mode);
                volume = { source: file, destination: target, readonly: true };
              } catch (err) {
                await release();
                throw err;
              }
            }
            return { ...(volume ? { volume } : {}), file: true, ...(env ? { env: `${env}=${value.toString('utf8')}` } : {}), release };
          },
        };
      }
      case 'bind':
        return this.planBind(mount, command);
    }
  }

  /** A bind mount of the context (what .dockerignore leaves of it), a stage or an image. */
  private async planBind(mount: Extract<RunMount, { type: 'bind' }>, command: Extract<Command, { kind: 'RUN' }>): Promise<PlannedMount> {
    const { target, readwrite } = mount;
    const source = mount.source.replace(/^\/+/, '') || '.';
    if (mount.from === undefined) {
      // The context's files are copied for the step (a writable bind's writes go nowhere), so
      // that what .dockerignore excludes is not there to read.
      const tree = contextTree(await this.context());
      const entry = await tree.resolve(source);
      if (!entry) throw new BerthError('not-found', `--mount source "${mount.source}" not found in the build context (or excluded by .dockerignore)`);
      const resolved: ResolvedSource = { tree, entries: [entry], origin: 'context', word: source };
      return {
        key: { type: 'bind', target, readwrite, source: await sourcesKey([resolved]) },
        prepare: async (dir) => {
          await fs.mkdir(dir, { recursive: true });
          await (await writeItems(dir, await placeSources(dir, [resolved], '/', true, new Set()), {})).finish(dir);
          const host = entry.type === 'dir' ? dir : path.join(dir, entry.name ?? path.posix.basename(entry.rel));
          return { volume: { source: host, destination: target, readonly: !readwrite }, file: entry.type !== 'dir', release: async () => undefined };
        },
      };
    }
    const from = this.expand(mount.from, this.globalArgs, command.line);
    const { layers, origin } = await this.layersFrom(from, command);
    return {
      key: { type: 'bind', target, readwrite, from: origin, source },
      prepare: async () => {
        // A view with a throwaway upper dir: a writable bind's writes are thrown away with it.
        const view = await this.mountReadOnly(layers);
        try {
          const resolved = await resolveInRoot(view.root, source, true);
          const st = await fs.stat(path.join(view.root, resolved)).catch(() => undefined);
          if (!st) throw new BerthError('not-found', `--mount source "${mount.source}" not found in ${from}`);
          return { volume: { source: path.join(view.root, resolved), destination: target, readonly: !readwrite }, file: !st.isDirectory(), release: view.release };
        } catch (err) {
          await view.release();
          throw err;
        }
      },
    };
  }

  /** One RUN's container, to its end; a failure is the step's error with the last lines of its output. */
  private async runContainer(
    id: number, dir: string, rootfs: string,
    o: { args: string[]; env: string[]; workdir: string; user: string; files: ReturnType<typeof imageFiles>; netns: string | undefined; volumes: VolumeMount[]; script: { path: string; content: string } | undefined },
  ): Promise<void> {
    const { args, env, workdir, user, files, netns, script } = o;
    const volumes = [...o.volumes];
    if (script) {
      const file = path.join(dir, 'script');
      await fs.writeFile(file, script.content, { mode: 0o755 });
      volumes.push({ source: file, destination: script.path, readonly: true });
    }
    const tail = new OutputTail();
    // A step's output reaches the client up to a cap, as BuildKit clips it: `yes` in a RUN
    // must not fill the agent's memory. Its last lines are kept for the error all the same.
    let shown = 0;
    const onOutput = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      tail.push(data);
      if (shown >= MAX_STEP_OUTPUT) return;
      shown += data.length;
      this.emit({ kind: 'output', id, stream, data: shown < MAX_STEP_OUTPUT ? data : Buffer.from(`\n[output clipped, log limit ${MAX_STEP_OUTPUT / 1024 / 1024}MiB reached]\n`) });
    };
    const code = await runOnce(this.o.runtime, {
      id: `berth-build-${this.id}-${id}`,
      dir,
      rootfs,
      args,
      env,
      workdir,
      ...(user ? { user } : {}),
      ...files,
      hostname: 'buildkitsandbox',
      ...(netns ? { netns } : {}),
      volumes,
    }, { onStdout: onOutput('stdout'), onStderr: onOutput('stderr'), signal: this.signal });
    this.signal.throwIfAborted();
    if (code !== 0) {
      throw new BerthError('failed-precondition', `process "${args.join(' ')}" did not complete successfully: exit code: ${code}${tail.text()}`);
    }
  }

  /**
   * RUN's argv: exec form as written; shell form through the SHELL. A heredoc that is the whole
   * command is the script itself (run by its #! line when it has one); heredocs within a command
   * are handed to the shell with the command, as a shell would read them.
   */
  private runArgs(state: State, command: Extract<Command, { kind: 'RUN' }>): { args: string[]; script?: { path: string; content: string } } {
    if ('exec' in command.form) return { args: command.form.exec };
    const shell = state.config.config.Shell ?? DEFAULT_SHELL;
    const text = command.form.shell;
    if (command.heredocs.length === 0) return { args: [...shell, text] };
    const only = command.heredocs.length === 1 ? command.heredocs[0]! : undefined;
    if (only && new RegExp(`^\\d*<<-?["']?${escapeRegExp(only.name)}["']?$`).test(text.trim())) {
      if (only.content.startsWith('#!') && !only.name.includes('/') && only.name !== '.' && only.name !== '..') {
        const scriptPath = `/dev/pipes/${only.name}`;
        return { args: [scriptPath], script: { path: scriptPath, content: only.content } };
      }
      return { args: [...shell, only.content] };
    }
    const script = [text, ...command.heredocs.map((h) => `${h.content}${h.name}`)].join('\n');
    return { args: [...shell, script] };
  }

  private async workdirStep(state: State, dir: string, label: string, createdBy: string): Promise<State> {
    const user = state.config.config.User ?? '';
    const key = this.key(state, { op: 'workdir', dir, user });
    return this.layerStep(state, key, `${label} ${createdBy}`, createdBy, async () =>
      this.withRootfs(state.layers, false, async (layer, lowers) => {
        const resolved = await resolveInRoot(layer.merged, dir, true);
        const host = path.join(layer.merged, resolved);
        const st = await fs.stat(host).catch(() => undefined);
        if (st?.isDirectory()) return;
        if (st) throw new BerthError('failed-precondition', `cannot make the working directory ${dir}: /${resolved} exists and is not a directory`);
        const owner = user ? resolveUser(user, ...passwdOf(lowers)) : { uid: 0, gid: 0 };
        await mkdirOwned(layer.merged, resolved, owner);
      }), { quiet: true });
  }

  private async copyStep(stage: Stage, state: State, command: Extract<Command, { kind: 'COPY' | 'ADD' }>, label: string): Promise<State> {
    const env = this.envOf(state);
    const x = (word: string) => this.expand(word, env, command.line);
    const c = state.config.config;
    const rawDest = x(command.dest);
    const dest = path.posix.resolve(c.WorkingDir || '/', rawDest);
    const destIsDir = rawDest.endsWith('/') || rawDest.endsWith('/.') || rawDest === '.' || rawDest === '..';
    const chown = command.chown !== undefined ? x(command.chown) : undefined;
    const chmod = command.chmod !== undefined ? parseChmod(x(command.chmod)) : undefined;
    const fromWord = command.from !== undefined ? this.expand(command.from, this.globalArgs, command.line) : undefined;
    const heredocNames = new Set(command.heredocs.map((h) => h.name));
    const words = command.sources.map((s): SourceWord => {
      const m = /^<<-?["']?([^"']+)["']?$/.exec(s);
      const heredoc = m && heredocNames.has(m[1]!) ? command.heredocs.find((h) => h.name === m[1]) : undefined;
      return heredoc ? { heredoc } : { path: x(s) };
    });

    return this.withSources(command, words, fromWord, x, async (sources) => {
      if (sources.length > 1 && !destIsDir) {
        throw new BerthError('invalid-argument', `When using ${command.kind} with more than one source file, the destination must be a directory and end with a /`);
      }
      const listing = await sourcesKey(sources);
      const key = this.key(state, {
        op: command.kind.toLowerCase(), dest, destIsDir, chown, chmod, listing, from: sources[0]?.origin,
        exclude: command.exclude, checksum: command.checksum,
      });
      const shown = `${command.kind} ${command.from !== undefined ? `--from=${fromWord} ` : ''}${command.chown !== undefined ? `--chown=${chown} ` : ''}${command.chmod !== undefined ? `--chmod=${x(command.chmod)} ` : ''}${words.map((w) => ('heredoc' in w ? `<<${w.heredoc.name}` : w.path)).join(' ')} ${rawDest}`;
      return this.layerStep(state, key, `${label} ${firstLine(command.text)}`, `${shown} # buildkit`, async () =>
        this.withRootfs(state.layers, false, async (layer, lowers) => {
          const owner = chown === undefined ? undefined : chownOf(chown, lowers);
          const archives = command.kind === 'ADD' ? await archivesAmong(sources) : new Set<SourceEntry>();
          const items = await placeSources(layer.merged, sources, dest, destIsDir, archives);
          // Archives unpack through the overlay, after everything else is in place there.
          const rest = await writeItems(layer.merged, items, { ...(owner ? { chown: owner } : {}), ...(chmod !== undefined ? { chmod } : {}), throughRoot: archives.size > 0 });
          if (archives.size === 0) return rest;
          for (const archive of archives) {
            const into = await resolveInRoot(layer.merged, dest.slice(1), true);
            await fs.mkdir(path.join(layer.merged, into), { recursive: true });
            await unpackArchive(archive.hostPath, path.join(layer.merged, into));
          }
          return undefined;
        }));
    });
  }

  /** Sources of a COPY/ADD, resolved in their tree (context, stage, image or heredoc files); released after `use`. */
  private async withSources<T>(
    command: Extract<Command, { kind: 'COPY' | 'ADD' }>,
    words: SourceWord[],
    fromWord: string | undefined,
    x: (word: string) => string,
    use: (sources: ResolvedSource[]) => Promise<T>,
  ): Promise<T> {
    const releases: Array<() => Promise<void>> = [];
    try {
      const sources: ResolvedSource[] = [];
      let tree: SourceTree | undefined;
      let origin = 'context';
      const treeFor = async (): Promise<SourceTree> => {
        if (tree) return tree;
        if (fromWord !== undefined) {
          const from = await this.layersFrom(fromWord, command);
          const layers = from.layers;
          origin = from.origin;
          const mounted = await this.mountReadOnly(layers);
          releases.push(mounted.release);
          tree = rootfsTree(mounted.root);
        } else tree = contextTree(await this.context());
        return tree;
      };
      for (const word of words) {
        if ('heredoc' in word) {
          // The heredoc's name is only the file's name at its destination: it is written under a
          // fixed name of ours, and a name that is not one plain file name is refused.
          const name = word.heredoc.name;
          if (name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
            throw new BerthError('invalid-argument', `<<${name}: a heredoc copied as a file must be named by a plain file name`);
          }
          const dir = path.join(this.dir, `heredoc-${randomBytes(4).toString('hex')}`);
          await fs.mkdir(path.join(dir, 'file'), { recursive: true });
          releases.push(() => fs.rm(dir, { recursive: true, force: true }));
          const content = word.heredoc.quoted ? word.heredoc.content : x(word.heredoc.content);
          await fs.writeFile(path.join(dir, 'file', 'content'), content, { mode: 0o644 });
          const heredocTree = rootfsTree(dir);
          const entry = await heredocTree.resolve('file/content');
          if (!entry) throw new BerthError('internal', `heredoc ${name} vanished`);
          sources.push({ tree: heredocTree, entries: [{ ...entry, name, uid: 0, gid: 0, mtimeNs: 0n }], origin: 'heredoc', word: `<<${name}` });
          continue;
        }
        if (command.kind === 'ADD' && /^https?:\/\//i.test(word.path)) {
          if (fromWord !== undefined) throw new BerthError('invalid-argument', 'ADD --from cannot fetch a URL');
          const dir = path.join(this.dir, `download-${randomBytes(4).toString('hex')}`);
          await fs.mkdir(dir, { recursive: true });
          releases.push(() => fs.rm(dir, { recursive: true, force: true }));
          const name = await download(word.path, dir, command.checksum, this.signal);
          const urlTree = rootfsTree(dir);
          const entry = await urlTree.resolve('download');
          if (!entry) throw new BerthError('internal', `ADD ${word.path}: the download vanished`);
          sources.push({ tree: urlTree, entries: [{ ...entry, name, uid: 0, gid: 0, mode: 0o600 }], origin: word.path, word: word.path, remote: true });
          continue;
        }
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(word.path) || word.path.startsWith('git@')) {
          throw new BerthError('invalid-argument', `${command.kind} ${word.path}: only local paths${command.kind === 'ADD' ? ' and http(s) URLs' : ''} can be copied`);
        }
        const t = await treeFor();
        const rel = word.path;
        let entries: SourceEntry[];
        if (hasWildcard(rel)) {
          // A wildcard may match nothing (COPY package.json package-lock.json* ./), as BuildKit allows.
          // A symlink it matches is followed, as a named source is, and copied under its own name
          // (BuildKit copies with FollowSymlinks); one that leads nowhere is copied as the link.
          const matched = (await t.match(rel)).filter((e) => !excluded(e.rel, command.exclude));
          entries = await Promise.all(matched.map(async (e) => {
            if (e.type !== 'symlink') return e;
            const target = await t.resolve(e.rel);
            const name = path.posix.basename(e.rel);
            return target && target.type !== 'dir' ? { ...target, name } : target ?? e;
          }));
          if (entries.length === 0) continue;
        } else {
          const e = await t.resolve(rel);
          const asked = path.posix.basename(path.posix.resolve('/', rel));
          entries = e ? [e.type !== 'dir' && asked !== '' && asked !== path.posix.basename(e.rel) ? { ...e, name: asked } : e] : [];
        }
        if (entries.length === 0) {
          const where = fromWord !== undefined ? `in ${fromWord}` : 'in the build context (or excluded by .dockerignore)';
          throw new BerthError('not-found', `"${rel}" not found ${where}`);
        }
        sources.push({ tree: t, entries, origin, word: rel, ...(command.exclude.length ? { exclude: command.exclude } : {}) });
      }
      // Several matches of one wildcard count as several sources.
      const flattened = sources.flatMap((s) => s.entries.map((e) => ({ ...s, entries: [e] })));
      return await use(flattened);
    } finally {
      for (const release of releases.reverse()) await release().catch(() => undefined);
    }
  }

  /**
   * The layers COPY --from names, an earlier stage's or an image's (pulled if absent), and what
   * they are known by in a cache key (the stage's `below`, the image's top chain ID).
   */
  private async layersFrom(word: string, command: Command): Promise<{ layers: StackLayer[]; origin: string }> {
    const stageIndex = this.file.stages.findIndex((s) => s.commands.includes(command));
    const stage = this.stageNamed(word, stageIndex < 0 ? this.file.stages.length : stageIndex);
    if (stage) {
      const state = await this.stage(stage.index);
      return { layers: state.layers, origin: state.below };
    }
    if (word.toLowerCase() === 'scratch') return { layers: [], origin: 'scratch' };
    const id = this.nextStep++;
    const image = await this.step(`[internal] load ${word}`, () => this.baseImage(word, id), id);
    return { layers: image.layers.map((l) => this.stored(l)), origin: image.layers.at(-1)?.chainId ?? 'scratch' };
  }

  private context(): Promise<BuildContext> {
    if (!this.contextPromise) {
      this.contextPromise = this.step('[internal] load build context', async (id) => {
        const context = await BuildContext.open(this.req.contextDir, this.req.ignore ?? '');
        this.output(id, `${context.size} entries\n`);
        return context;
      });
    }
    return this.contextPromise;
  }

  /** The build's network namespace for RUN steps on the default network: attached at the first such step. */
  private network(): Promise<string | undefined> {
    if (!this.networkPromise) {
      this.networkPromise = this.o.network.attach(this.networkId, 'bridge', []).then((a) => a?.netns);
    }
    return this.networkPromise;
  }

  // ---- layers, mounts, the cache ----------------------------------------------------------------

  /** A step's cache key: the stack below (State.below), the instruction as it will run, SOURCE_DATE_EPOCH. */
  private key(state: State, step: Record<string, unknown>): Digest {
    const text = JSON.stringify({ below: state.below, step, epoch: this.epoch ?? null });
    return `sha256:${createHash('sha256').update(text).digest('hex')}`;
  }

  /**
   * A step that may change files: reused from the cache when its key is there (and its layers are
   * still unpacked), else run by `work` in an overlay whose upper dir becomes the step's layer.
   */
  private async layerStep(state: State, key: Digest, name: string, createdBy: string, work: (id: number) => Promise<string>, options: { quiet?: boolean } = {}): Promise<State> {
    this.signal.throwIfAborted();
    const hit = this.req.noCache ? undefined : this.cache.get(key);
    if (hit && (await this.unpacked(hit.layers))) {
      if (!options.quiet || hit.madeLayer) this.emit({ kind: 'step', id: this.nextStep++, name, status: 'cached' });
      state.layers = this.stackOf(hit.layers);
      if (hit.madeLayer) {
        state.below = key;
        state.time = this.epoch !== undefined ? this.now() : hit.created;
      }
      return this.record(state, createdBy, !hit.madeLayer);
    }
    const made = await this.step(name, async (id) => {
      const upper = await work(id);
      // A build stopping meanwhile (another stage failed, ctrl-C) keeps no half-made layer.
      this.signal.throwIfAborted();
      return this.commitUpper(state.layers, upper, state.written);
    });
    this.signal.throwIfAborted();
    const layers = made.layer ? [...state.layers, made.layer] : state.layers;
    const created = new Date().toISOString();
    // Cached once every blob of the stack is stored: an entry names only layers that are whole.
    // A blob that failed fails the build where the image needs it; here the step is just not cached.
    // A cache file that cannot be written (a full disk) costs the entry, not the agent: the
    // rejection is handled here, not left for the build's end.
    this.background.push(cachedOf(layers).then(
      (cached) => this.cache.put(key, { layers: cached, madeLayer: made.layer !== undefined, size: made.size, created }),
      () => undefined,
    ).catch(() => undefined));
    state.layers = layers;
    if (made.layer) {
      state.below = key;
      state.time = this.epoch !== undefined ? this.now() : created;
    }
    return this.record(state, createdBy, made.layer === undefined);
  }

  /**
   * The upper dir a step's work left, as a layer on `below`, its tar written or not (`written`,
   * State's); none when it changed nothing.
   */
  private async commitUpper(belowLayers: StackLayer[], upper: string, written: boolean): Promise<{ layer?: StackLayer; size: number }> {
    try {
      if ((await fs.readdir(upper)).length === 0) return { size: 0 };
      const clamp = this.epoch !== undefined ? { maxMtime: this.epoch } : {};
      // The upper dir itself becomes the snapshot (nobody uses it after the step), settled into
      // the form unpacking the blob would give, rather than unpacked again from the blob.
      const layer = upperLayer(upper, clamp);
      if (!written) {
        // Named by an ID of its own, not the step's key: a step made again (--no-cache, a
        // concurrent build) gives another snapshot, and the entry names the last one put.
        const id: Digest = `sha256:${randomBytes(32).toString('hex')}`;
        const kept = await this.o.images.storeUnwrittenLayer(id, layer);
        if (kept) {
          this.pending.push(kept);
          return { layer: this.unwritten(id, kept.dir, belowLayers), size: kept.size };
        }
      }
      const below = recordsOf(belowLayers);
      below.catch(() => undefined);
      const later = await this.o.images.storeLayerLater(below, layer);
      this.pending.push(later);
      this.background.push(later.record);
      return { layer: { dir: later.dir, cached: later.record, record: () => later.record }, size: later.size };
    } finally {
      await fs.rm(path.dirname(upper), { recursive: true, force: true });
    }
  }

  private async unpacked(layers: readonly CachedLayer[]): Promise<boolean> {
    for (const layer of layers) if (!(await this.o.images.snapshots.stat(snapshotOf(layer)))) return false;
    return true;
  }

  /**
   * Mount an overlay of `layers` (with the mount-point layer under the upper dir for a RUN) in a
   * step directory, run `work`, unmount. Returns the upper dir, for commitUpper (which removes the step directory).
   */
  private async withRootfs(layers: readonly StackLayer[], forRun: boolean, work: (layer: WritableLayer, lowers: string[], dir: string) => Promise<UpperWrites | void>): Promise<string> {
    const dir = path.join(this.dir, `step-${randomBytes(4).toString('hex')}`);
    const layer = await this.o.snapshots.prepareWritable(dir);
    const lowers = lowerDirs(layers);
    const stack = forRun ? [this.o.initLayer, ...lowers] : lowers.length ? lowers : [await this.emptyDir()];
    this.mounted.add(layer);
    // Volatile: the upper dir becomes a snapshot or goes, and a sync of the whole filesystem at
    // each unmount (overlay's default) cost a step about 0.1 s after a large COPY.
    this.o.snapshots.mount(layer, stack, { volatile: true });
    try {
      const rest = await work(layer, lowers, dir);
      this.o.snapshots.unmount(layer);
      this.mounted.delete(layer);
      // What the work left to write straight into the upper dir, now that overlay is not over it.
      await rest?.finish(layer.upper);
    } catch (err) {
      this.o.snapshots.unmount(layer);
      this.mounted.delete(layer);
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    return layer.upper;
  }

  /** A read-only view of `layers` for COPY --from (a throwaway upper dir keeps overlay happy). */
  private async mountReadOnly(layers: readonly StackLayer[]): Promise<{ root: string; release: () => Promise<void> }> {
    const dir = path.join(this.dir, `from-${randomBytes(4).toString('hex')}`);
    const layer = await this.o.snapshots.prepareWritable(dir);
    const lowers = lowerDirs(layers);
    this.mounted.add(layer);
    this.o.snapshots.mount(layer, lowers.length ? lowers : [await this.emptyDir()], { volatile: true });
    return {
      root: layer.merged,
      release: async () => {
        this.o.snapshots.unmount(layer);
        this.mounted.delete(layer);
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  }

  private async emptyDir(): Promise<string> {
    const dir = path.join(this.dir, 'empty');
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }

  // ---- progress -------------------------------------------------------------------------------------

  /** Run `work` as a numbered step the client sees start, end, and fail. */
  private async step<T>(name: string, work: (id: number) => Promise<T>, id = this.nextStep++): Promise<T> {
    const started = Date.now();
    this.emit({ kind: 'step', id, name, status: 'started' });
    try {
      const result = await work(id);
      this.emit({ kind: 'step', id, name, status: 'done', elapsedMs: Date.now() - started });
      return result;
    } catch (err) {
      const message = this.signal.aborted ? 'cancelled' : err instanceof Error ? err.message : String(err);
      this.emit({ kind: 'step', id, name, status: 'error', elapsedMs: Date.now() - started, error: message });
      throw err;
    }
  }

  private output(id: number, text: string): void {
    this.emit({ kind: 'output', id, stream: 'stdout', data: Buffer.from(text) });
  }

  // ---- export -------------------------------------------------------------------------------------

  private async export(state: State, tags: string[]): Promise<ImageRecord> {
    const id = this.nextStep++;
    return this.step('exporting to image', async () => {
      const created = state.time;
      const config: ImageConfig = {
        ...state.config,
        created,
        config: { ...state.config.config, ...(Object.keys(this.req.labels).length ? { Labels: { ...(state.config.config.Labels ?? {}), ...this.req.labels } } : {}) },
        rootfs: { type: 'layers', diff_ids: (await recordsOf(state.layers)).map((l) => l.diffId) },
        history: state.history,
      };
      // Its snapshots under their chain IDs before anyone is told of it (nothing stacks them
      // any more; a stage still running, one only a heredoc COPY --from named, may stack others).
      await this.commitPending(new Set(state.layers.map((l) => l.dir)));
      const sizes = await Promise.all((await recordsOf(state.layers)).map(async (l) => {
        // A commit that failed (a full disk) dropped its snapshot: no image without its layers.
        const info = await this.o.images.snapshots.stat(l.chainId);
        if (!info) throw new BerthError('internal', `the snapshot of layer ${l.diffId} could not be committed`);
        return info.size;
      }));
      // The image names every blob, gzipped: those still being stored are waited for, and a
      // build's plain-tar ones compressed now (the cache then keeps the gzipped one instead).
      // Two at a time (each keeps several pool threads busy), and all done before a failure is
      // reported: none may still be storing once the build lets the collector go.
      const layers = await mapBounded(await recordsOf(state.layers), 2, async (layer) => {
        const gzipped = await this.o.images.gzippedLayer(layer);
        if (gzipped !== layer) await this.cache.useBlob(gzipped).catch(() => undefined);
        return gzipped;
      });
      const image = await this.o.images.storeImage({
        config, layers, platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
        repoTags: tags, size: sizes.reduce((a, b) => a + b, 0),
      });
      this.output(id, `writing image ${image.id}\n`);
      for (const tag of tags) this.output(id, `naming to ${tag}\n`);
      this.emit({ kind: 'done', imageId: image.id, tags });
      return image;
    }, id);
  }
}

/** The last lines of a process's output, for its error. */
class OutputTail {
  private text_ = '';
  push(data: Buffer): void {
    this.text_ = (this.text_ + data.toString('utf8')).slice(-8192);
  }
  text(): string {
    const lines = this.text_.split('\n').filter((l) => l.trim() !== '').slice(-TAIL_LINES);
    return lines.length ? `; last output:\n${lines.map((l) => `    ${l}`).join('\n')}` : '';
  }
}

/** `work`'s result, or a rejection as soon as `signal` aborts (`work` is left to finish unobserved). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const firstLine = (text: string): string => {
  const line = text.split('\n')[0]!;
  return text.includes('\n') ? `${line.replace(/\\\s*$/, '')}...` : line;
};




async function mkdirOwned(root: string, rel: string, owner: { uid: number; gid: number }): Promise<void> {
  let at = '';
  for (const part of rel.split('/').filter(Boolean)) {
    at = at ? `${at}/${part}` : part;
    const host = path.join(root, at);
    if (await fs.lstat(host).then(() => true, () => false)) continue;
    await fs.mkdir(host, { mode: 0o755 });
    await fs.chmod(host, 0o755);
    await fs.lchown(host, owner.uid, owner.gid);
  }
}

async function unmountBelow(dir: string): Promise<void> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const targets = mounts.split('\n').map((l) => l.split(' ')[4]).filter((t): t is string => t !== undefined && t.startsWith(`${dir}/`));
  for (const target of targets.sort().reverse()) {
    try {
      berthFs().unmount(target, true);
    } catch {
      // Gone already.
    }
  }
}

/** A -t name as the image store keeps it (name:tag), checked before any step runs. */
function tagOf(reference: string): string {
  let ref;
  try {
    ref = parseReference(reference);
  } catch (err) {
    throw new BerthError('invalid-argument', `invalid tag "${reference}": ${(err as Error).message}`);
  }
  if (ref.digest) throw new BerthError('invalid-argument', `invalid tag "${reference}": a build is named by a tag, not a digest`);
  return `${familiarName(ref)}:${ref.tag ?? 'latest'}`;
}

export type { BuildEvent, BuildRequest };
