// Pull: reference -> manifest (through an index when there is one) -> config -> layers -> image.
//
// Layers are independent overlay snapshots (each holds only its own diff), so they are fetched
// and unpacked concurrently, each streamed straight from the registry through the content store
// and the decompressor into its snapshot: one pass over the bytes, nothing buffered whole.

import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, meaningfulFailure, withContext } from '../../proto/errors';
import type { ContentStore } from '../content';
import { mapBounded } from './bounded';
import {
  chainIds, CONFIG_TYPES, DEFAULT_PLATFORM, type Descriptor, type Digest, familiarName, familiarString,
  formatPlatform, type ImageConfig, isIndexType, layerCompression, MANIFEST_OR_INDEX_TYPES, MANIFEST_TYPES,
  parseJson, parseReference, type Platform, type Reference, selectManifest, validateDocument, withDigest,
} from '../oci';
import type { ImageMetadata } from './metadata';
import type { RegistryClient } from './registry/types';
import type { LayerSnapshotter } from '../snapshots';
import type { ImageRecord, LayerRecord, ProgressSink } from './types';

export interface PullLimits {
  /** Uncompressed bytes one layer may inflate to. */
  maxLayerBytes: number;
  /** Largest tar header accepted. */
  maxHeaderBytes: number;
  /** Largest image config accepted. */
  maxConfigBytes: number;
  /** Layers fetched at once per pull. */
  concurrency: number;
}

export interface PullDeps {
  registry: RegistryClient;
  content: ContentStore;
  snapshots: LayerSnapshotter;
  metadata: ImageMetadata;
  limits: PullLimits;
  /** Layer fetches under way on this agent, by chain ID, so concurrent pulls share them. */
  inflight: Map<Digest, Promise<number>>;
}

export interface PullOptions {
  platform?: Platform;
  onProgress?: ProgressSink;
}

interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export async function pullImage(deps: PullDeps, reference: string, options: PullOptions = {}): Promise<ImageRecord> {
  const ref = parseReference(reference);
  const name = familiarString(ref);
  try {
    return await pullResolved(deps, ref, options);
  } catch (err) {
    throw withContext(`image ${name}`, err);
  }
}

async function pullResolved(deps: PullDeps, ref: Reference, options: PullOptions): Promise<ImageRecord> {
  const platform = options.platform ?? DEFAULT_PLATFORM;
  const progress: ProgressSink = options.onProgress ?? (() => {});
  const { registry, content } = deps;

  const top = await registry.getManifest(ref, MANIFEST_OR_INDEX_TYPES);
  progress({ kind: 'resolved', reference: familiarString(ref), digest: top.descriptor.digest });
  let manifestDesc = top.descriptor;
  let manifestBytes = top.bytes;
  let indexDesc: Descriptor | undefined;
  if (isIndexType(top.descriptor.mediaType)) {
    const index = parseJson(top.bytes, `index ${top.descriptor.digest}`) as { manifests: Descriptor[] };
    validateDocument('index', index, `index ${top.descriptor.digest}`);
    const chosen = selectManifest(index.manifests, platform);
    if (!chosen) {
      const offered = index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
      throw new BerthError('not-found', `no manifest for platform ${formatPlatform(platform)} in index (it offers ${offered})`);
    }
    const resolved = await registry.getManifest(withDigest(ref, chosen.digest), MANIFEST_TYPES);
    indexDesc = top.descriptor;
    manifestDesc = resolved.descriptor;
    manifestBytes = resolved.bytes;
    await content.put(top.bytes, top.descriptor.digest);
  }
  const what = `manifest ${manifestDesc.digest}`;
  const manifest = parseJson(manifestBytes, what) as Manifest;
  validateDocument('manifest', manifest, what);
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    throw new BerthError('invalid-argument', `${what}: unknown config media type "${manifest.config.mediaType}"`);
  }
  for (const layer of manifest.layers) {
    if (layerCompression(layer.mediaType) === undefined) {
      throw new BerthError('invalid-argument', `layer ${layer.digest}: unknown media type "${layer.mediaType}"`);
    }
  }

  const configBytes = await registry.getBlob(ref, manifest.config, deps.limits.maxConfigBytes);
  const config = parseJson(configBytes, `config ${manifest.config.digest}`) as ImageConfig;
  validateDocument('config', config, `config ${manifest.config.digest}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new BerthError('invalid-argument', `config ${manifest.config.digest}: ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
  }
  if (config.os !== platform.os || config.architecture !== platform.architecture) {
    throw new BerthError('not-found', `image is ${config.os}/${config.architecture}, not ${formatPlatform(platform)}`);
  }
  await content.put(manifestBytes, manifestDesc.digest);
  await content.put(configBytes, manifest.config.digest);

  const layers = layerRecords(manifest.layers, diffIds);
  const sizes = await ensureLayers(deps, ref, layers, progress);

  const id = manifest.config.digest;
  const existing = deps.metadata.get(id);
  const tag = ref.digest === undefined ? `${familiarName(ref)}:${ref.tag ?? 'latest'}` : undefined;
  const image = await deps.metadata.put({
    id,
    manifest: { mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size },
    ...(indexDesc ? { index: { mediaType: indexDesc.mediaType, digest: indexDesc.digest, size: indexDesc.size } } : {}),
    repoTags: tag ? [tag] : [],
    repoDigests: [`${familiarName(ref)}@${top.descriptor.digest}`],
    layers,
    platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    created: config.created ?? new Date().toISOString(),
    size: sizes.reduce((a, b) => a + b, 0),
  });
  const upToDate = existing !== undefined && (tag === undefined || existing.repoTags.includes(tag));
  progress({
    kind: 'done',
    reference: familiarString(ref),
    imageId: id,
    digest: top.descriptor.digest,
    status: upToDate ? `Image is up to date for ${familiarString(ref)}` : `Downloaded newer image for ${familiarString(ref)}`,
  });
  return image;
}

export function layerRecords(descriptors: Descriptor[], diffIds: Digest[]): LayerRecord[] {
  const chain = chainIds(diffIds);
  return descriptors.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]!, chainId: chain[i]! }));
}

/**
 * Make every layer of an image an unpacked snapshot: those present are reused, the others are
 * read from the content store when their blob is there (a load, an interrupted pull) or else
 * streamed from `ref`'s registry. Returns each layer's unpacked size.
 */
export async function ensureLayers(deps: PullDeps, ref: Reference | undefined, layers: LayerRecord[], progress: ProgressSink): Promise<number[]> {
  for (const layer of layers) progress({ kind: 'layer', digest: layer.descriptor.digest, status: 'waiting' });
  return mapBounded(layers, deps.limits.concurrency, (layer, i) =>
    fetchLayerOnce(deps, ref, layer, layers.slice(0, i).map((l) => l.chainId), progress),
  );
}

/** Fetch a layer unless it is unpacked already or another pull is fetching it; returns its size. */
function fetchLayerOnce(deps: PullDeps, ref: Reference | undefined, layer: LayerRecord, below: Digest[], progress: ProgressSink): Promise<number> {
  const running = deps.inflight.get(layer.chainId);
  if (running) return running;
  const fetching = fetchLayer(deps, ref, layer, below, progress).finally(() => deps.inflight.delete(layer.chainId));
  deps.inflight.set(layer.chainId, fetching);
  return fetching;
}

async function fetchLayer(deps: PullDeps, ref: Reference | undefined, layer: LayerRecord, below: Digest[], progress: ProgressSink): Promise<number> {
  const { descriptor, chainId } = layer;
  const done = await deps.snapshots.stat(chainId);
  if (done) {
    progress({ kind: 'layer', digest: descriptor.digest, status: 'exists' });
    return done.size;
  }
  try {
    return await unpackLayer(deps, ref, layer, below, progress);
  } catch (err) {
    throw withContext(`layer ${descriptor.digest}`, err);
  }
}

/** `below`: the chain IDs of the layers under this one, bottom first (the last is its parent). */
async function unpackLayer(deps: PullDeps, ref: Reference | undefined, layer: LayerRecord, below: Digest[], progress: ProgressSink): Promise<number> {
  const { descriptor, diffId, chainId } = layer;
  const parent = below[below.length - 1];
  const compression = layerCompression(descriptor.mediaType)!;
  const total = descriptor.size;
  // A blob stored by an earlier, interrupted pull (or a load) is read locally, not downloaded again.
  const stored = (await deps.content.size(descriptor.digest)) === descriptor.size;
  if (!stored && !ref) throw new BerthError('not-found', `blob ${descriptor.digest} is not in the content store`);
  const source = stored || !ref
    ? deps.content.open(descriptor.digest)
    : deps.registry.openBlob(ref, descriptor, {
        onResume: (offset) => progress({ kind: 'layer', digest: descriptor.digest, status: 'resuming', current: offset, total }),
        onProgress: (current) => progress({ kind: 'layer', digest: descriptor.digest, status: 'downloading', current, total }),
      });
  const ingest = stored ? undefined : await deps.content.ingest(descriptor.digest, descriptor.size);
  const store = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!ingest) return cb(null, chunk);
      ingest.write(chunk).then(() => cb(null, chunk), cb);
    },
  });
  const pending = await deps.snapshots.prepare();
  try {
    const limits = { maxLayerBytes: deps.limits.maxLayerBytes, maxHeaderBytes: deps.limits.maxHeaderBytes };
    const [moved, applied] = await Promise.allSettled([
      pipeline(source, store),
      pending.apply(store, compression, limits),
    ]);
    if (moved.status === 'rejected' || applied.status === 'rejected') throw meaningfulFailure([moved, applied]);
    const actual = applied.value.diffId;
    if (actual !== diffId) {
      throw new BerthError('data-loss', `diff ID mismatch: uncompressed content is ${actual}, config says ${diffId}`);
    }
    let size = applied.value.bytes;
    if (applied.value.deferredLinks?.length || applied.value.impliedDirs?.length) {
      // Hard links into the layers below, or directories to take from them: those are unpacked
      // concurrently, so wait for them first (a lower layer's failure is the pull's, reported as itself).
      for (const lower of below) await deps.inflight.get(lower);
      for (const lower of below) {
        if (!(await deps.snapshots.stat(lower))) throw new BerthError('failed-precondition', `layer ${chainId} needs layer ${lower} below it, which is not unpacked`);
      }
      size += await pending.finishFromBelow(applied.value, [...below].reverse().map((lower) => deps.snapshots.dirOf(lower)));
      if (size > limits.maxLayerBytes) throw new BerthError('resource-exhausted', `layer ${descriptor.digest} with the files its hard links copy up exceeds the limit of ${limits.maxLayerBytes} bytes (maxLayerBytes)`);
    }
    await ingest?.commit();
    await pending.commit({ chainId, ...(parent ? { parent } : {}), diffId, size });
    progress({ kind: 'layer', digest: descriptor.digest, status: 'complete', current: total, total });
    return size;
  } catch (err) {
    await pending.abort();
    await ingest?.abort();
    throw err;
  }
}
