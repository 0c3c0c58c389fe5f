// The image service: the agent's images, their names, and the blobs and snapshots behind them.
// It owns the content store and the image metadata, and is the only writer of both and of the
// snapshotter's layer snapshots (the snapshotter itself is opened by whoever composes the agent,
// which hands the runtime its writable-layer side).

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import type { LayerSnapshotter } from '../snapshots';
import { openContentStore, type ContentStore } from '../content';
import {
  type Digest, familiarName, familiarString, type HistoryEntry, type ImageConfig, loadSchemas, MediaType,
  parseReference, shortDigest,
} from '../oci';
import { ImageMetadata } from './metadata';
import { pullImage, type PullLimits, type PullOptions } from './pull';
import { pushImage, type PushOptions, type PushResult } from './push';
import { loadArchive } from './archive-load';
import { saveImages, type SaveEntry } from './archive-save';
import { gzippedLayer, importLayer, type LaterLayer, type LayerIds, type SettlingLayer, storeImage, storeLayerLater, type StoreImageArgs, storeUnwrittenLayer, type UnwrittenLayer, writtenLayer } from './import-layer';
import type { Readable, Writable } from 'node:stream';
import { createRegistryClient, normalizeRegistryKey, type Credentials, type RegistryClient, type RegistryOptions } from './registry';
import type { ImageRecord, ImageStore, ImportLayerArgs, KeptLayer, LayerRecord } from './types';

export interface ImageServiceOptions {
  /** Directory holding content/, images.json, auth.json and tmp/. */
  root: string;
  /** Where layers are unpacked (the data root's snapshots/). */
  snapshots: LayerSnapshotter;
  /** Which container, if any, uses an image: such an image is not removed or pruned. */
  usersOf?: ImageUsers;
  registry?: RegistryOptions;
  limits?: Partial<PullLimits>;
}

export const DEFAULT_LIMITS: PullLimits = {
  maxLayerBytes: 8 * 1024 ** 3,
  maxHeaderBytes: 1024 * 1024,
  maxConfigBytes: 8 * 1024 * 1024,
  concurrency: 3,
};

export interface HistoryRow {
  /** The image ID on the top row, undefined ("<missing>") below, as docker prints it. */
  id?: Digest;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  emptyLayer: boolean;
}

export interface RemoveResult {
  untagged: string[];
  deleted: Digest[];
}

/** Says whether a container uses an image (and which); the container runtime's records tell. */
export type ImageUsers = (imageId: Digest) => string | undefined;

export class ImageService implements ImageStore {
  private readonly inflight = new Map<Digest, Promise<number>>();
  /** Pulls, loads and commits under way (see holdingCollector). */
  private activePulls = 0;
  private gcWanted = false;
  /** The collection under way: no hold is taken meanwhile (it decided what to keep before). */
  private collecting: Promise<void> | undefined;
  /** Layers kept though no image has them (the build cache's), asked at each collection. */
  private readonly extraRoots: Array<() => Iterable<KeptLayer>> = [];

  private constructor(
    readonly content: ContentStore,
    readonly snapshots: LayerSnapshotter,
    readonly metadata: ImageMetadata,
    private readonly usersOf: ImageUsers,
    readonly registry: RegistryClient & { close(): void },
    private readonly limits: PullLimits,
    /** The data root: content/, snapshots/, images.json, auth.json, tmp/. */
    readonly root: string,
  ) {}

  /** Where `berth login` keeps credentials, in docker's config.json format. */
  private get authFile(): string {
    return path.join(this.root, 'auth.json');
  }

  /** Scratch space on the data root's filesystem (archive spools); emptied at open. */
  private get scratch(): string {
    return path.join(this.root, 'tmp');
  }

  static async open(options: ImageServiceOptions): Promise<ImageService> {
    // A missing schema directory is a broken install: say so at start, not at the first pull.
    loadSchemas();
    const content = await openContentStore(path.join(options.root, 'content'));
    const metadata = await ImageMetadata.open(path.join(options.root, 'images.json'));
    // Whatever is in tmp/ belonged to an operation that a crash interrupted.
    await fs.rm(path.join(options.root, 'tmp'), { recursive: true, force: true });
    const authFile = path.join(options.root, 'auth.json');
    const registry = createRegistryClient({
      ...options.registry,
      authFiles: [authFile, ...(options.registry?.authFiles ?? [])],
    });
    return new ImageService(content, options.snapshots, metadata, options.usersOf ?? (() => undefined), registry, { ...DEFAULT_LIMITS, ...options.limits }, options.root);
  }

  async close(): Promise<void> {
    this.registry.close();
  }

  /** Pull; `credentials` (by registry host) are tried first for this pull only (a pod's imagePullSecrets). */
  async pull(reference: string, options: PullOptions & { credentials?: ReadonlyMap<string, Credentials> } = {}): Promise<ImageRecord> {
    const { credentials, ...pullOptions } = options;
    const deps = credentials?.size ? { ...this.pullDeps, registry: this.registry.withCredentials(credentials) } : this.pullDeps;
    return this.holdingCollector(() => pullImage(deps, reference, pullOptions));
  }

  /** What pull, load and commit work with. */
  private get pullDeps() {
    return { registry: this.registry, content: this.content, snapshots: this.snapshots, metadata: this.metadata, limits: this.limits, inflight: this.inflight };
  }

  /**
   * Run an operation that makes blobs and snapshots no image refers to until it finishes (a
   * pull, a load, a commit): the garbage collector waits for every such operation to end.
   */
  async holdingCollector<T>(operation: () => Promise<T>): Promise<T> {
    // A collection under way took its keep-sets before this operation's blobs existed: wait it out.
    while (this.collecting) await this.collecting;
    this.activePulls++;
    try {
      return await operation();
    } finally {
      this.activePulls--;
      if (this.activePulls === 0 && this.gcWanted) await this.collectGarbage();
    }
  }

  list(options: { all?: boolean; dangling?: boolean } = {}): ImageRecord[] {
    const images = this.metadata.list();
    const filtered = options.dangling === undefined ? images : images.filter((i) => (i.repoTags.length === 0) === options.dangling);
    return filtered.sort((a, b) => b.created.localeCompare(a.created));
  }

  /**
   * The image a user's word names, as docker resolves it: a full ID, a name[:tag] or name@digest,
   * or an unambiguous ID prefix.
   */
  resolve(word: string): ImageRecord {
    const exact = /^(sha256:)?[a-f0-9]{64}$/.test(word) ? this.metadata.get((word.startsWith('sha256:') ? word : `sha256:${word}`) as Digest) : undefined;
    if (exact) return exact;
    const byName = this.byReference(word);
    if (byName) return byName;
    const byPrefix = this.metadata.byIdPrefix(word);
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new BerthError('invalid-argument', `image ID prefix "${word}" is ambiguous: it matches ${byPrefix.length} images`);
    throw new BerthError('not-found', `No such image: ${word}`);
  }

  private byReference(word: string): ImageRecord | undefined {
    let name: string;
    try {
      const ref = parseReference(word);
      name = ref.digest ? `${familiarName(ref)}@${ref.digest}` : familiarString({ ...ref, tag: ref.tag ?? 'latest' });
    } catch {
      return undefined;
    }
    return this.metadata.byName(name);
  }

  /** The image with this ID, or undefined. */
  get(id: Digest): ImageRecord | undefined {
    return this.metadata.get(id);
  }

  async config(image: ImageRecord): Promise<ImageConfig> {
    return JSON.parse((await this.content.read(image.id)).toString('utf8')) as ImageConfig;
  }

  /** docker image inspect's document. */
  async inspect(word: string): Promise<Record<string, unknown>> {
    const image = this.resolve(word);
    const config = await this.config(image);
    return {
      Id: image.id,
      RepoTags: image.repoTags,
      RepoDigests: image.repoDigests,
      Created: image.created,
      Author: config.author ?? '',
      Config: config.config ?? {},
      Architecture: image.platform.architecture,
      Os: image.platform.os,
      ...(image.platform.variant ? { Variant: image.platform.variant } : {}),
      Size: image.size,
      RootFS: { Type: 'layers', Layers: image.layers.map((l) => l.diffId) },
      Manifest: image.manifest,
      ...(image.index ? { Index: image.index } : {}),
      Layers: image.layers.map((l) => ({ Digest: l.descriptor.digest, MediaType: l.descriptor.mediaType, Size: l.descriptor.size, DiffID: l.diffId, ChainID: l.chainId })),
    };
  }

  /** docker history: newest first; layer-less steps show size 0. */
  async history(word: string): Promise<HistoryRow[]> {
    const image = this.resolve(word);
    const config = await this.config(image);
    const entries: HistoryEntry[] = config.history?.length
      ? config.history
      : image.layers.map(() => ({ created_by: '' }));
    const sizes = await Promise.all(image.layers.map(async (l) => (await this.snapshots.stat(l.chainId))?.size ?? 0));
    let layer = 0;
    const rows = entries.map((h): HistoryRow => {
      const size = h.empty_layer ? 0 : (sizes[layer++] ?? 0);
      return { ...(h.created ? { created: h.created } : {}), createdBy: h.created_by ?? '', size, comment: h.comment ?? '', emptyLayer: Boolean(h.empty_layer) };
    });
    rows.reverse();
    if (rows[0]) rows[0].id = image.id;
    return rows;
  }

  /** berth tag SOURCE TARGET. */
  async tag(source: string, target: string): Promise<void> {
    const image = this.resolve(source);
    const ref = parseReference(target);
    if (ref.digest) throw new BerthError('invalid-argument', `invalid tag "${target}": a tag cannot contain a digest`);
    await this.metadata.tag(image.id, familiarString({ ...ref, tag: ref.tag ?? 'latest' }));
  }

  /**
   * berth rmi: by name, untag (and delete the image when that was its last name); by ID, delete
   * the image with all its names, which needs `force` when it has several. An image a container
   * uses is refused unless forced, and then only untagged, as docker does.
   */
  async remove(word: string, options: { force?: boolean } = {}): Promise<RemoveResult> {
    const image = this.resolve(word);
    // A word that is a name removes that name; otherwise it named the image by its ID.
    const named = this.byReference(word)?.id === image.id;
    const user = this.usersOf(image.id);
    if (user && !options.force) {
      throw new BerthError('failed-precondition', `conflict: unable to remove image ${word} (must force) - container ${user.slice(0, 12)} is using its referenced image ${shortDigest(image.id).slice(7)}`);
    }
    const result: RemoveResult = { untagged: [], deleted: [] };
    if (named) {
      const name = this.canonicalName(word);
      await this.metadata.untag(image.id, name);
      result.untagged.push(name);
      // Other tags keep the image; with only repo digests left it goes, as docker does.
      if (this.metadata.get(image.id)!.repoTags.length > 0) return result;
    } else if (image.repoTags.length > 1 && !options.force) {
      throw new BerthError('failed-precondition', `conflict: unable to delete ${shortDigest(image.id).slice(7)} (must be forced) - image is referenced in multiple repositories`);
    }
    const rest = this.metadata.get(image.id)!;
    const names = [...rest.repoTags, ...rest.repoDigests];
    result.untagged.push(...names);
    if (user) {
      // Forced removal of an image in use keeps the image for its container, untagged.
      for (const name of names) await this.metadata.untag(image.id, name);
      return result;
    }
    await this.metadata.delete(image.id);
    result.deleted.push(image.id);
    await this.collectGarbage();
    return result;
  }

  private canonicalName(word: string): string {
    const ref = parseReference(word);
    return ref.digest ? `${familiarName(ref)}@${ref.digest}` : familiarString({ ...ref, tag: ref.tag ?? 'latest' });
  }

  /** berth image prune: dangling images (no tags), or with `all` every image no container uses. */
  async prune(options: { all?: boolean } = {}): Promise<{ deleted: Digest[]; reclaimed: number }> {
    const before = await this.diskUsage();
    const victims = this.metadata.list().filter((i) => (options.all || i.repoTags.length === 0) && !this.usersOf(i.id));
    for (const image of victims) await this.metadata.delete(image.id);
    await this.collectGarbage();
    return { deleted: victims.map((v) => v.id), reclaimed: Math.max(0, before - (await this.diskUsage())) };
  }

  /** Bytes held by layer snapshots (what `images` and `system df` count). */
  async diskUsage(): Promise<number> {
    return (await this.snapshots.list()).reduce((sum, s) => sum + s.size, 0);
  }

  /**
   * Delete blobs and snapshots no image refers to. Deferred while a pull runs: its blobs and
   * snapshots are not referenced by any image until it finishes.
   */
  async collectGarbage(): Promise<void> {
    if (this.activePulls > 0) {
      this.gcWanted = true;
      return;
    }
    // One at a time; holdingCollector waits for it (see there).
    while (this.collecting) await this.collecting;
    if (this.activePulls > 0) {
      this.gcWanted = true;
      return;
    }
    const run = this.collect();
    this.collecting = run.catch(() => undefined).finally(() => {
      this.collecting = undefined;
    });
    await run;
  }

  private async collect(): Promise<void> {
    this.gcWanted = false;
    const keepBlobs = new Set<Digest>();
    const keepSnapshots = new Set<Digest>();
    for (const roots of this.extraRoots) {
      for (const layer of roots()) {
        if (layer.blob) keepBlobs.add(layer.blob);
        keepSnapshots.add(layer.snapshot);
      }
    }
    for (const image of this.metadata.list()) {
      keepBlobs.add(image.id).add(image.manifest.digest);
      if (image.index) keepBlobs.add(image.index.digest);
      for (const layer of image.layers) {
        keepBlobs.add(layer.descriptor.digest);
        keepSnapshots.add(layer.chainId);
      }
    }
    for (const snapshot of await this.snapshots.list()) {
      if (!keepSnapshots.has(snapshot.chainId)) await this.snapshots.remove(snapshot.chainId);
    }
    for (const digest of await this.content.list()) {
      if (!keepBlobs.has(digest)) await this.content.delete(digest);
    }
  }

  /** berth login: check the credentials against the registry, then keep them for later pulls and pushes. */
  async login(registry: string, username: string, password: string): Promise<void> {
    const domain = normalizeRegistryKey(registry || 'docker.io');
    await this.registry.login(domain, username, password);
    let doc: { auths?: Record<string, { auth: string }> } = {};
    try {
      doc = JSON.parse(await fs.readFile(this.authFile, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    doc.auths = { ...doc.auths, [domain]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
    const tmp = `${this.authFile}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(doc, null, 2), { mode: 0o600 });
    await fs.rename(tmp, this.authFile);
  }

  /**
   * berth push REF: the image REF names goes to REF's registry, repository and tag. Layers the
   * registry has are skipped, those in another repository of it that the image came from are
   * mounted, the rest uploaded; the manifest is sent byte for byte, so its digest is unchanged.
   */
  async push(reference: string, options: Omit<PushOptions, 'concurrency'> = {}): Promise<PushResult> {
    const image = this.resolve(reference);
    return pushImage({ registry: this.registry, content: this.content, metadata: this.metadata }, image, reference, options);
  }

  /** berth save: the named images as one tar (OCI layout + docker save's format) written to `out`, which is ended. */
  async save(names: string[], out: Writable): Promise<void> {
    const entries: SaveEntry[] = names.map((word) => {
      const image = this.resolve(word);
      // Named by tag: saved under that tag. By ID or digest: saved untagged, as docker does.
      const byId = /^(sha256:)?[a-f0-9]{64}$/.test(word) || this.byReference(word)?.id !== image.id;
      const byTag = !byId && !word.includes('@');
      return byTag ? { image, name: this.canonicalName(word) } : { image };
    });
    await saveImages(this.content, entries, out);
  }

  /**
   * berth load: every image of a tar from `save`, docker save, or an OCI layout. Returns the names
   * loaded (busybox:latest), or the image ID of an image loaded without a name.
   */
  async load(input: Readable): Promise<string[]> {
    return this.holdingCollector(() => loadArchive({ ...this.pullDeps, spoolRoot: this.scratch }, input));
  }

  /** A new layer on `args.parent`, a new image: what berth commit makes of a container's diff. */
  async importLayer(args: ImportLayerArgs): Promise<ImageRecord> {
    return this.holdingCollector(() => importLayer({ ...this.pullDeps, scratch: this.scratch }, args));
  }

  /**
   * Keep the layers `roots` names (and their blobs) through every collection, though no image has
   * them: what the build cache holds.
   */
  keepLayers(roots: () => Iterable<KeptLayer>): void {
    this.extraRoots.push(roots);
  }

  /**
   * A build step's new layer on `below`: its snapshot settled by `layer` (or else unpacked from
   * the blob), its tar stored as its blob in the background (LaterLayer.record), the snapshot
   * committed by LaterLayer.commit. Call inside holdingCollector, and let every record settle and
   * every commit end there, until something refers to it.
   */
  storeLayerLater(below: Promise<readonly LayerIds[]>, layer: SettlingLayer): Promise<LaterLayer> {
    return storeLayerLater({ ...this.pullDeps, scratch: this.scratch }, below, layer);
  }

  /**
   * A build step's layer kept as a snapshot under `id` only, its tar unwritten (undefined when the
   * snapshot cannot be made in place: store it with storeLayerLater). Call inside holdingCollector
   * until the build cache names it.
   */
  storeUnwrittenLayer(id: Digest, layer: Pick<SettlingLayer, 'settleInto'>): Promise<UnwrittenLayer | undefined> {
    return storeUnwrittenLayer({ ...this.pullDeps, scratch: this.scratch }, id, layer);
  }

  /** An unwritten layer made one an image can name: its tar stored, its snapshot under its chain ID. Inside holdingCollector. */
  writtenLayer(below: readonly LayerIds[], id: Digest, writeTar: SettlingLayer['writeTar']): Promise<LayerRecord> {
    return writtenLayer({ ...this.pullDeps, scratch: this.scratch }, below, id, writeTar);
  }

  /**
   * The layer as an image names it: a build's plain-tar blob gzipped (the same diff ID and
   * snapshot), any other as it is. Call inside holdingCollector until something refers to it.
   */
  async gzippedLayer(layer: LayerRecord): Promise<LayerRecord> {
    if (layer.descriptor.mediaType !== MediaType.ociLayer) return layer;
    // Gzipped once already for an image (a base loaded uncompressed, built on again): that blob
    // again, not another compression of the same bytes.
    for (const image of this.metadata.list()) {
      const known = image.layers.find((l) => l.chainId === layer.chainId && l.descriptor.mediaType === MediaType.ociLayerGzip);
      if (known && (await this.content.size(known.descriptor.digest)) !== undefined) return known;
    }
    return gzippedLayer({ ...this.pullDeps, scratch: this.scratch }, layer);
  }

  /** An image of layers stored already (its tags taken from other images), as a build finishes it. */
  storeImage(args: StoreImageArgs): Promise<ImageRecord> {
    return storeImage({ ...this.pullDeps, scratch: this.scratch }, args);
  }
}
