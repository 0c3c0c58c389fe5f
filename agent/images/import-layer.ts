// A new layer on an image's stack becomes a new image, stored exactly as a pull of that image
// would store it: what `berth commit` asks of the image store once the runtime has the diff of a
// container's writable layer.
//
// The layer is written once, streamed: tar (hashed by its writer: the diff ID) -> gzip on several
// threads (gzip-blocks.ts; hashed: the blob digest) -> a spool file on the data root. The content store wants the digest before
// the bytes, so the spool is then streamed into an ingest. The new layer's snapshot is unpacked
// from the stored blob by the pull's own code, so a container of the committed image sees what
// any other agent pulling it would see. A build step's layer (storeLayerLater) is spooled as a
// plain tar instead; its snapshot is the step's own upper dir, settled into exactly that form
// (diff/upper-snapshot.ts), its blob the plain tar, gzipped when an image names it.
// The image record is written last: an import that fails leaves no image (its blobs are collected
// later, as a failed pull's are).

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, withContext } from '../../proto/errors';
import { chainIds, type Descriptor, type Digest, familiarName, layerCompression, type HistoryEntry, type ImageConfig, MediaType, parseReference, type Platform } from '../oci';
import type { PendingSnapshot } from '../snapshots';
import { GzipBlocks } from './gzip-blocks';
import { ensureLayers, layerRecords, type PullDeps } from './pull';
import type { ImageRecord, ImportLayerArgs, LayerRecord } from './types';

export interface ImportLayerDeps extends PullDeps {
  /** Scratch directory on the data root's filesystem for the layer spool. */
  scratch: string;
}

export async function importLayer(deps: ImportLayerDeps, args: ImportLayerArgs): Promise<ImageRecord> {
  // Checked before any work, so a bad name writes nothing.
  const tag = args.repoTag === undefined ? undefined : tagOf(args.repoTag);
  const created = (args.now ?? new Date()).toISOString();
  try {
    const { layer, size } = await storeLayer(deps, args.parent.layers, args.writeTar);
    const parentConfig = JSON.parse((await deps.content.read(args.parent.id)).toString('utf8')) as ImageConfig;
    const config = newConfig(parentConfig, args, layer.diffId, created);
    return await storeImage(deps, {
      config, layers: [...args.parent.layers, layer], platform: args.parent.platform, repoTags: tag ? [tag] : [],
      size: args.parent.size + size,
    });
  } catch (err) {
    throw withContext('commit', err);
  }
}

/**
 * A new layer on top of `below` (an image's layers, bottom first): the tar `writeTar` writes is
 * compressed into a blob in the content store and unpacked into its snapshot, as a pull of it
 * would. Returns its record and its unpacked size. Nothing refers to it until an image (or the
 * build cache) does: run it under the image service's collector hold.
 */
export async function storeLayer(deps: ImportLayerDeps, below: readonly LayerRecord[], writeTar: ImportLayerArgs['writeTar']): Promise<{ layer: LayerRecord; size: number }> {
  await fs.mkdir(deps.scratch, { recursive: true });
  const spool = path.join(deps.scratch, `layer-${randomBytes(8).toString('hex')}.tar.gz`);
  try {
    const spooled = await spoolLayer(writeTar, spool);
    await storeBlob(deps, spool, spooled);
    const descriptor: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: spooled.digest, size: spooled.size };
    const layers = layerRecords([...below.map((l) => l.descriptor), descriptor], [...below.map((l) => l.diffId), spooled.diffId]);
    const sizes = await ensureLayers(deps, undefined, layers, () => {});
    return { layer: layers.at(-1)!, size: sizes.at(-1)! };
  } finally {
    await fs.rm(spool, { force: true });
  }
}

/** A build step's layer (storeLayerLater): its snapshot is there, its tar and blob on the way. */
export interface LaterLayer {
  /**
   * The snapshot's directory, to stack as a lower dir until `commit`: the snapshot is committed
   * under its chain ID only once the tar has given its diff ID.
   */
  dir: string;
  /** Unpacked bytes. */
  size: number;
  /**
   * The layer's record once its tar is written and stored as its blob. Never rejects unhandled (a
   * failure is also held here); it must settle before the caller leaves the collector hold.
   */
  record: Promise<LayerRecord>;
  /**
   * Once nothing stacks `dir` any more: wait for the record and commit the snapshot under its
   * chain ID (dropping it when it is there already, or when the record failed). Once; never rejects.
   */
  commit(): Promise<void>;
}

/** What storeLayerLater takes: a directory tree made into a snapshot, then written as its tar. */
export interface SettlingLayer {
  /** Fill `dir`, an empty snapshot directory, with the layer; its bytes, or undefined when it cannot (another filesystem). */
  settleInto(dir: string, maxLayerBytes: number): Promise<number | undefined>;
  /** The layer's tar: of the settled snapshot after settleInto, else of the original tree. */
  writeTar: ImportLayerArgs['writeTar'];
}

/**
 * storeLayer for a build step, with nothing but the snapshot on the step's path: `layer` settles
 * into a pending snapshot, which the steps above can stack at once; its tar is written, hashed
 * into its diff ID and stored as the layer's blob (the plain tar: an OCI layer without
 * compression, digest = diff ID) in the background, while they run. A layer is gzipped only when
 * an image names it (gzippedLayer), as BuildKit compresses only when it exports: most of a
 * multi-stage build's layers are only ever the build cache's. When the snapshot cannot be made in
 * place, the blob is stored first and unpacked, as storeLayer does. `below`: the IDs of the
 * layers below, bottom first, as they become known.
 */
export async function storeLayerLater(deps: ImportLayerDeps, below: Promise<readonly LayerIds[]>, layer: SettlingLayer): Promise<LaterLayer> {
  await fs.mkdir(deps.scratch, { recursive: true });
  const settled = await settledSnapshot(deps, layer);
  if (!settled) {
    // Another filesystem: the blob first, then unpacked from it as a pull would.
    const ids = await below;
    const record = await spoolAndStore(deps, ids, layer);
    const parent = ids.at(-1)?.chainId;
    const unpacked = (await deps.snapshots.stat(record.chainId))?.size ?? await unpackStored(deps, record, parent);
    return { dir: deps.snapshots.dirOf(record.chainId), size: unpacked, record: Promise.resolve(record), commit: async () => undefined };
  }
  const { pending, size } = settled;
  const record = below.then((ids) => spoolAndStore(deps, ids, layer));
  record.catch(() => undefined);
  let committed: Promise<void> | undefined;
  const commit = async (): Promise<void> => {
    const ids = await record.catch(() => undefined);
    if (!ids) return pending.abort();
    const parent = (await below).at(-1)?.chainId;
    // Idempotent: a snapshot of the same chain ID there already is kept, this one dropped.
    await pending.commit({ chainId: ids.chainId, ...(parent ? { parent } : {}), diffId: ids.diffId, size }).catch(() => pending.abort());
  };
  return { dir: pending.dir, size, record, commit: () => (committed ??= commit().catch(() => undefined)) };
}

/** A build step's layer kept as a snapshot only (storeUnwrittenLayer): no tar, no blob, no chain ID yet. */
export interface UnwrittenLayer {
  /** The snapshot's directory, to stack as a lower dir until `commit`. */
  dir: string;
  /** Unpacked bytes. */
  size: number;
  /** Once nothing stacks `dir` any more: commit the snapshot under its ID (kept if one is there already). Once; never rejects. */
  commit(): Promise<void>;
}

/**
 * A build step's layer that no image of this build names (a stage only COPY --from reads): its
 * snapshot settled as storeLayerLater settles it, and committed under `id` (the caller's, not a
 * chain ID) with no tar written, as BuildKit writes a layer's tar only when it exports it. The
 * build cache names it by that ID; writtenLayer makes it a layer if an image ever needs it.
 * Undefined, touching nothing, when the snapshot cannot be made in place (another filesystem):
 * the caller stores the layer the usual way.
 */
export async function storeUnwrittenLayer(deps: ImportLayerDeps, id: Digest, layer: Pick<SettlingLayer, 'settleInto'>): Promise<UnwrittenLayer | undefined> {
  const settled = await settledSnapshot(deps, layer);
  if (!settled) return undefined;
  const { pending, size } = settled;
  let committed: Promise<void> | undefined;
  const commit = () => pending.commit({ chainId: id, size }).catch(() => pending.abort());
  return { dir: pending.dir, size, commit: () => (committed ??= commit().catch(() => undefined)) };
}

/** `layer` settled into a new pending snapshot, and its bytes; undefined (nothing kept) when it cannot be settled in place. */
async function settledSnapshot(deps: ImportLayerDeps, layer: Pick<SettlingLayer, 'settleInto'>): Promise<{ pending: PendingSnapshot; size: number } | undefined> {
  const pending = await deps.snapshots.prepare();
  let size: number | undefined;
  try {
    size = await layer.settleInto(pending.dir, deps.limits.maxLayerBytes);
  } catch (err) {
    await pending.abort();
    throw err;
  }
  if (size === undefined) {
    await pending.abort();
    return undefined;
  }
  return { pending, size };
}

/**
 * An unwritten layer (storeUnwrittenLayer's snapshot `id`) made a layer an image can name: its
 * tar, which `writeTar` writes from the snapshot, stored as its (plain) blob, and a snapshot
 * under its chain ID unpacked from that blob (the unwritten one stays until the build cache lets
 * it go). `below`: the IDs of the layers below, bottom first. Call inside the collector's hold.
 */
export async function writtenLayer(deps: ImportLayerDeps, below: readonly LayerIds[], id: Digest, writeTar: ImportLayerArgs['writeTar']): Promise<LayerRecord> {
  await fs.mkdir(deps.scratch, { recursive: true });
  const record = await spoolAndStore(deps, below, { writeTar }).catch((err: unknown) => {
    throw withContext(`writing build layer ${id}`, err);
  });
  if (!(await deps.snapshots.stat(record.chainId))) await unpackStored(deps, record, below.at(-1)?.chainId);
  return record;
}

/** The layer's tar spooled and hashed, held to the pull's limit, and adopted as its (plain) blob. */
async function spoolAndStore(deps: ImportLayerDeps, below: readonly LayerIds[], layer: Pick<SettlingLayer, 'writeTar'>): Promise<LayerRecord> {
  const tarFile = path.join(deps.scratch, `layer-${randomBytes(8).toString('hex')}.tar`);
  try {
    const { diffId, size: tarSize } = await spoolTar(layer.writeTar, tarFile);
    // The limit every agent that pulls the layer applies to its tar (headers included).
    if (tarSize > deps.limits.maxLayerBytes) throw new BerthError('resource-exhausted', `layer tar of ${tarSize} bytes exceeds the limit of ${deps.limits.maxLayerBytes} bytes (maxLayerBytes)`);
    const chainId = chainIds([...below.map((l) => l.diffId), diffId]).at(-1)!;
    await storeBlob(deps, tarFile, { diffId, digest: diffId, size: tarSize });
    return { descriptor: { mediaType: MediaType.ociLayer, digest: diffId, size: tarSize }, diffId, chainId };
  } finally {
    await fs.rm(tarFile, { force: true });
  }
}

/**
 * The layer as an image names it: one whose blob is a plain tar (storeLayerLater's) gzipped into
 * a blob of its own, on several threads (the same tar: the same diff ID, chain ID and snapshot;
 * the same tar always gives the same blob); any other returned as it is.
 */
export async function gzippedLayer(deps: ImportLayerDeps, layer: LayerRecord): Promise<LayerRecord> {
  if (layer.descriptor.mediaType !== MediaType.ociLayer) return layer;
  await fs.mkdir(deps.scratch, { recursive: true });
  const gz = path.join(deps.scratch, `layer-${randomBytes(8).toString('hex')}.tar.gz`);
  try {
    const spooled = await spoolLayer((out) => copyInto(deps.content.pathOf(layer.descriptor.digest), out, layer.diffId), gz);
    await storeBlob(deps, gz, spooled);
    return { descriptor: { mediaType: MediaType.ociLayerGzip, digest: spooled.digest, size: spooled.size }, diffId: layer.diffId, chainId: layer.chainId };
  } finally {
    await fs.rm(gz, { force: true });
  }
}

/** A stored blob of ours unpacked into its snapshot (a layer we wrote links nothing below it). */
async function unpackStored(deps: ImportLayerDeps, layer: LayerRecord, parent: Digest | undefined): Promise<number> {
  const pending = await deps.snapshots.prepare();
  try {
    const applied = await pending.apply(deps.content.open(layer.descriptor.digest), layerCompression(layer.descriptor.mediaType) ?? 'none', { maxLayerBytes: deps.limits.maxLayerBytes, maxHeaderBytes: deps.limits.maxHeaderBytes });
    if (applied.diffId !== layer.diffId || applied.deferredLinks?.length) {
      throw new BerthError('internal', `layer ${layer.descriptor.digest} did not unpack to what was written (${applied.diffId})`);
    }
    await pending.commit({ chainId: layer.chainId, ...(parent ? { parent } : {}), diffId: layer.diffId, size: applied.bytes });
    return applied.bytes;
  } catch (err) {
    await pending.abort();
    throw err;
  }
}

/** What a layer below is known by before its blob is (LayerRecord's IDs). */
export type LayerIds = Pick<LayerRecord, 'diffId' | 'chainId'>;

/** The uncompressed tar `writeTar` writes, into `file`; its diff ID and size. */
async function spoolTar(writeTar: ImportLayerArgs['writeTar'], file: string): Promise<{ diffId: Digest; size: number }> {
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  const finished = new Promise<void>((resolve, reject) => out.on('finish', resolve).on('error', reject));
  try {
    const tar = await writeTar(out);
    out.end();
    await finished;
    return { diffId: tar.diffId, size: out.bytesWritten };
  } catch (err) {
    finished.catch(() => undefined);
    // Destroyed, it ends with 'close' and never 'finish'.
    if (!out.closed) {
      const closed = once(out, 'close');
      out.destroy();
      await closed.catch(() => undefined);
    }
    throw err;
  }
}

/** writeTar for a tar spooled already: its bytes into `out` (not ended). */
async function copyInto(file: string, out: Writable, diffId: Digest): Promise<{ diffId: Digest }> {
  for await (const chunk of createReadStream(file)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  return { diffId };
}

/** The spool, hashed as it was written, becomes the blob (renamed in, not copied); it is gone after. */
async function storeBlob(deps: ImportLayerDeps, spool: string, spooled: SpooledLayer): Promise<void> {
  await deps.content.adopt(spool, spooled.digest, spooled.size);
}

export interface StoreImageArgs {
  config: ImageConfig;
  /** Every layer of the image, bottom first, each stored already (storeLayer, or the parent's). */
  layers: LayerRecord[];
  platform: Platform;
  /** Familiar name:tag forms, taken from any image that had them. */
  repoTags: string[];
  /** The layers' unpacked sizes summed. */
  size: number;
}

/** An image of stored layers: its config and an OCI manifest go into the content store, then its record. */
export async function storeImage(deps: ImportLayerDeps, args: StoreImageArgs): Promise<ImageRecord> {
  const configBytes = Buffer.from(JSON.stringify(args.config));
  const configDigest = await deps.content.put(configBytes);
  // The manifest is OCI, and the record says what the manifest says.
  const layers = args.layers.map((l) => ({ ...l, descriptor: ociDescriptor(l.descriptor) }));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await deps.content.put(manifestBytes);
  return deps.metadata.put({
    id: configDigest,
    manifest: { mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifestBytes.length },
    repoTags: args.repoTags,
    repoDigests: [],
    layers,
    platform: args.platform,
    created: args.config.created ?? new Date().toISOString(),
    size: args.size,
  });
}

/** The familiar name[:tag] a commit records, :latest when no tag is given, as docker does. */
export function tagOf(repoTag: string): string {
  const ref = parseReference(repoTag);
  if (ref.digest) throw new BerthError('invalid-argument', `invalid reference "${repoTag}": a commit is named by a tag, not a digest`);
  return `${familiarName(ref)}:${ref.tag ?? 'latest'}`;
}

function newConfig(parent: ImageConfig, args: ImportLayerArgs, diffId: Digest, created: string): ImageConfig {
  // A parent without history still gets one row per layer, so rows and layers stay aligned.
  const history: HistoryEntry[] = parent.history?.length
    ? [...parent.history]
    : parent.rootfs.diff_ids.map(() => ({ created_by: '' }));
  const entry: HistoryEntry = { created, created_by: args.createdBy ?? '' };
  if (args.author) entry.author = args.author;
  if (args.message) entry.comment = args.message;
  history.push(entry);
  const config: ImageConfig = {
    ...structuredClone(parent),
    created,
    config: { ...parent.config, ...args.containerConfig },
    rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, diffId] },
    history,
  };
  if (args.author) config.author = args.author;
  else delete config.author;
  return config;
}

// The manifest is OCI, so the parent's Docker-typed layers are named by their OCI equivalents:
// the same blobs, the same bytes.
function ociDescriptor(d: Descriptor): Descriptor {
  const mediaType =
    d.mediaType === MediaType.dockerLayerGzip ? MediaType.ociLayerGzip
      : d.mediaType === MediaType.dockerLayerForeignGzip ? MediaType.ociLayerNondistributableGzip
        : d.mediaType;
  return { ...d, mediaType };
}

interface SpooledLayer {
  diffId: Digest;
  /** Digest and size of the gzip blob. */
  digest: Digest;
  size: number;
}

async function spoolLayer(writeTar: ImportLayerArgs['writeTar'], file: string): Promise<SpooledLayer> {
  // Several blocks at once: one thread's gzip was most of a large layer's commit.
  const gzip = new GzipBlocks();
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const written = pipeline(gzip, count, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  let tar: { diffId: Digest };
  try {
    tar = await writeTar(gzip);
    gzip.end();
  } catch (err) {
    gzip.destroy(err as Error);
    await written.catch(() => {});
    throw err;
  }
  await written;
  return { diffId: tar.diffId, digest: `sha256:${hash.digest('hex')}`, size };
}
