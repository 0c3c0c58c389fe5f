// A new layer on an image's stack becomes a new image, stored exactly as a pull of that image
// would store it: what `berth commit` asks of the image store once the runtime has the diff of a
// container's writable layer.
//
// The layer is written once, streamed: tar (hashed by its writer: the diff ID) -> gzip on several
// threads (gzip-blocks.ts; hashed: the blob digest) -> a spool file on the data root. The content store wants the digest before
// the bytes, so the spool is then streamed into an ingest. The new layer's snapshot is unpacked
// from the stored blob by the pull's own code, so a container of the committed image sees what
// any other agent pulling it would see; or, for a build step, the step's own upper dir becomes
// the snapshot, settled into exactly that form (diff/upper-snapshot.ts). The image record is
// written last: an import that fails leaves no image (its blobs are collected later, as a failed
// pull's are).

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, meaningfulFailure, withContext } from '../../proto/errors';
import { type Descriptor, type Digest, familiarName, type HistoryEntry, type ImageConfig, MediaType, parseReference, type Platform } from '../oci';
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
 * Fills `dir`, an empty snapshot directory, with exactly what unpacking the layer's tar would give
 * (from the directory the tar was written from) and returns the content bytes; undefined when it
 * cannot (the blob is then unpacked, as a pull would). `maxLayerBytes`: the pull's limit, kept.
 */
export type SnapshotFiller = (dir: string, maxLayerBytes: number) => Promise<number | undefined>;

/**
 * A new layer on top of `below` (an image's layers, bottom first): the tar `writeTar` writes is
 * compressed into a blob in the content store, and its snapshot is made by `fill` when given,
 * else unpacked from the blob as a pull of it would be. Returns its record and its unpacked size.
 * Nothing refers to it until an image (or the build cache) does: run it under the image service's
 * collector hold.
 */
export async function storeLayer(deps: ImportLayerDeps, below: readonly LayerRecord[], writeTar: ImportLayerArgs['writeTar'], fill?: SnapshotFiller): Promise<{ layer: LayerRecord; size: number }> {
  await fs.mkdir(deps.scratch, { recursive: true });
  const spool = path.join(deps.scratch, `layer-${randomBytes(8).toString('hex')}.tar.gz`);
  try {
    const spooled = await spoolLayer(writeTar, spool);
    const descriptor: Descriptor = { mediaType: MediaType.ociLayerGzip, digest: spooled.digest, size: spooled.size };
    const layers = layerRecords([...below.map((l) => l.descriptor), descriptor], [...below.map((l) => l.diffId), spooled.diffId]);
    const layer = layers.at(-1)!;
    const store = () => storeBlob(deps, spool, spooled);
    if (fill && !(await deps.snapshots.stat(layer.chainId))) {
      const size = await fillSnapshot(deps, layer, below.at(-1)?.chainId, store, fill);
      if (size !== undefined) return { layer, size };
    }
    await store();
    const sizes = await ensureLayers(deps, undefined, layers, () => {});
    return { layer, size: sizes.at(-1)! };
  } finally {
    await fs.rm(spool, { force: true });
  }
}

async function storeBlob(deps: ImportLayerDeps, spool: string, spooled: SpooledLayer): Promise<void> {
  if ((await deps.content.size(spooled.digest)) !== undefined) return;
  const ingest = await deps.content.ingest(spooled.digest, spooled.size);
  try {
    await pipeline(createReadStream(spool), new Transform({
      transform(chunk: Buffer, _enc, cb) {
        ingest.write(chunk).then(() => cb(), cb);
      },
    }));
    await ingest.commit();
  } catch (err) {
    await ingest.abort();
    throw err;
  }
}

/**
 * The layer's snapshot made by `fill` while `store` stores its blob, committed once both are done;
 * its size, or undefined when `fill` cannot make it (the blob is stored all the same).
 */
async function fillSnapshot(deps: ImportLayerDeps, layer: LayerRecord, parent: Digest | undefined, store: () => Promise<void>, fill: SnapshotFiller): Promise<number | undefined> {
  const pending = await deps.snapshots.prepare();
  // Both settled before anything is decided: neither failure is left unhandled.
  const [filled, stored] = await Promise.allSettled([fill(pending.dir, deps.limits.maxLayerBytes), store()]);
  try {
    if (filled.status === 'rejected' || stored.status === 'rejected') throw meaningfulFailure([filled, stored]);
    if (filled.value === undefined) {
      await pending.abort();
      return undefined;
    }
    // Idempotent with a pull that committed the same layer meanwhile (theirs is kept).
    await pending.commit({ chainId: layer.chainId, ...(parent ? { parent } : {}), diffId: layer.diffId, size: filled.value });
    return filled.value;
  } catch (err) {
    await pending.abort();
    throw err;
  }
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
  // Several blocks at once: one thread's gzip was most of a large step's commit.
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
