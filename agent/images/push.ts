// Push: an image's blobs from the content store to a registry, then its manifest, byte for byte.
//
// Each blob goes up at most once: a HEAD tells whether the repository has it already, a
// cross-repository mount moves it inside the registry when the image is known to be in another
// repository of the same registry, and only otherwise are the bytes uploaded. The manifest is the
// exact document the image was pulled or built as, so the pushed digest is the one the image
// already has and repo digests stay comparable across registries.

import { BerthError, withContext } from '../../proto/errors';
import type { ContentReader } from '../content';
import { mapBounded } from './bounded';
import {
  type Descriptor, type Digest, familiarName, familiarString, isForeignLayerType, parseJson, parseReference,
  type Reference,
} from '../oci';
import type { ImageMetadata } from './metadata';
import type { RegistryClient } from './registry/types';
import type { ImageRecord, ProgressSink } from './types';

export interface PushDeps {
  registry: RegistryClient;
  content: ContentReader;
  metadata: ImageMetadata;
}

export interface PushOptions {
  onProgress?: ProgressSink;
  /** Blobs larger than this go up in PATCH chunks of this size (the registry client's default otherwise). */
  chunkSize?: number;
  /** Blobs moved at once. Default 3. */
  concurrency?: number;
}

export interface PushResult {
  /** Where it went, familiar form (host/repo:tag). */
  reference: string;
  /** Digest of the manifest pushed: equal to image.manifest.digest. */
  digest: Digest;
  /** Size of the manifest pushed, bytes (docker push prints it). */
  size: number;
}

/** How one blob reached the registry. */
type BlobOutcome = 'exists' | 'mounted' | 'complete';

/**
 * Push `image` to the repository and tag (or digest) `reference` names. The image's name@digest
 * there is recorded on the image afterwards.
 *
 * An image pulled through an index is pushed as its platform manifest alone: the store holds one
 * platform's blobs, not the other platforms' (docker does the same for single-platform stores).
 */
export async function pushImage(deps: PushDeps, image: ImageRecord, reference: string, options: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(reference);
  try {
    return await pushResolved(deps, image, ref, options);
  } catch (err) {
    throw withContext(`image ${familiarString(ref)}`, err);
  }
}

async function pushResolved(deps: PushDeps, image: ImageRecord, ref: Reference, options: PushOptions): Promise<PushResult> {
  const progress: ProgressSink = options.onProgress ?? (() => {});
  const mountFrom = mountSources(image, ref);
  // A layer this image shares with another image here (its base, pulled from a sibling
  // repository) can be mounted from where that image came from, as docker remembers.
  const sharedFrom = (digest: string): string[] => {
    const paths = new Set(mountFrom);
    for (const other of deps.metadata.list()) {
      if (other.id !== image.id && other.layers.some((l) => l.descriptor.digest === digest)) for (const p of mountSources(other, ref)) paths.add(p);
    }
    return [...paths];
  };
  const send = (desc: Descriptor, onProgress?: (sent: number) => void): Promise<BlobOutcome> =>
    pushBlob(deps, ref, desc, sharedFrom(desc.digest), options.chunkSize, onProgress);

  for (const layer of image.layers) progress({ kind: 'layer', digest: layer.descriptor.digest, status: 'waiting' });
  await mapBounded(image.layers, options.concurrency ?? 3, async ({ descriptor }) => {
    const digest = descriptor.digest;
    try {
      // Foreign (nondistributable) layers live at their URLs; registries are not given them.
      if (isForeignLayerType(descriptor.mediaType) && descriptor.urls?.length) {
        progress({ kind: 'layer', digest, status: 'exists' });
        return;
      }
      const outcome = await send(descriptor, (current) =>
        progress({ kind: 'layer', digest, status: 'uploading', current, total: descriptor.size }),
      );
      progress(outcome === 'complete'
        ? { kind: 'layer', digest, status: 'complete', current: descriptor.size, total: descriptor.size }
        : { kind: 'layer', digest, status: outcome });
    } catch (err) {
      throw withContext(`layer ${digest}`, err);
    }
  });

  const bytes = await readManifest(deps.content, image.manifest);
  const config = (parseJson(bytes, `manifest ${image.manifest.digest}`) as { config?: Descriptor }).config;
  if (config?.digest !== image.id) throw new BerthError('data-loss', `manifest ${image.manifest.digest} does not name config ${image.id}`);
  try {
    await send(config);
  } catch (err) {
    throw withContext(`config ${image.id}`, err);
  }

  const digest = await deps.registry.putManifest(ref, image.manifest.mediaType, bytes);
  if (digest !== image.manifest.digest) {
    // Cannot happen with a verified content store; would mean the registry saw other bytes.
    throw new BerthError('internal', `manifest pushed as ${digest}, expected ${image.manifest.digest}`);
  }

  // The image may have been removed while it was being pushed; do not bring it back.
  if (deps.metadata.get(image.id)) {
    await deps.metadata.put({ ...image, repoTags: [], repoDigests: [`${familiarName(ref)}@${digest}`] });
  }
  const where = familiarString(ref);
  progress({ kind: 'done', reference: where, imageId: image.id, digest, status: `${ref.tag ?? ref.digest}: digest: ${digest} size: ${bytes.length}` });
  return { reference: where, digest, size: bytes.length };
}

/**
 * Other repositories of the target's registry that the image is known to be in, from its names:
 * a mount from one of them costs the registry a link instead of an upload.
 */
export function mountSources(image: ImageRecord, target: Reference): string[] {
  const paths = new Set<string>();
  for (const name of [...image.repoDigests, ...image.repoTags]) {
    let ref: Reference;
    try {
      ref = parseReference(name);
    } catch {
      continue;
    }
    if (ref.domain === target.domain && ref.path !== target.path) paths.add(ref.path);
  }
  return [...paths];
}

async function pushBlob(
  deps: PushDeps,
  ref: Reference,
  desc: Descriptor,
  mountFrom: string[],
  chunkSize: number | undefined,
  onProgress?: (sent: number) => void,
): Promise<BlobOutcome> {
  if (await deps.registry.hasBlob(ref, desc.digest)) return 'exists';
  // The registry answers a mount of a blob `from` does not hold with a fresh upload session, which
  // the client gives back; so a wrong guess costs a round trip, never a wrong blob.
  for (const from of mountFrom) {
    if (await deps.registry.mountBlob(ref, desc.digest, from)) return 'mounted';
  }
  const stored = await deps.content.size(desc.digest);
  if (stored === undefined) throw new BerthError('not-found', `blob ${desc.digest} is not in the content store (was the image loaded without it?)`);
  if (stored !== desc.size) throw new BerthError('data-loss', `blob ${desc.digest} is ${stored} bytes in the content store, the manifest says ${desc.size}`);
  await deps.registry.uploadBlob(ref, desc, () => deps.content.open(desc.digest), {
    ...(chunkSize !== undefined ? { chunkSize } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  return 'complete';
}

async function readManifest(content: ContentReader, desc: Descriptor): Promise<Buffer> {
  try {
    return await content.read(desc.digest);
  } catch (err) {
    throw withContext(`manifest ${desc.digest}`, err);
  }
}

