// The image service's vocabulary.
//
// An image is an immutable config plus an ordered stack of layers. Its ID is the digest of its
// config; tags and repo digests are names that point at it. Blobs (manifests, configs, layers) live
// once in the content store by digest; each layer is unpacked once into a snapshot keyed by its
// chain ID and shared by every image whose stack starts with the same layers.
//
// Lifecycle of a pull: resolve the reference to a manifest (choosing a platform from an index),
// fetch and verify the config, then for each layer missing from the snapshotter stream the blob
// from the registry, verify it by digest and size while it streams, store it, decompress it,
// verify its diff ID and apply it into a new snapshot. Only when every layer is in place is the
// image record written, so a failed pull leaves no image behind (blobs and snapshots that did
// complete stay, to be reused by the next attempt, and are collected by `rmi`/`prune` if unused).

import type { Descriptor, Digest, ImageConfig, Platform } from '../oci';
import type { Writable } from 'node:stream';

/** What a collection must not free for someone other than an image (the build cache): a snapshot, and the blob it was written as if it has one. */
export interface KeptLayer {
  snapshot: Digest;
  blob?: Digest;
}

/** One layer of an image as the agent keeps it. */
export interface LayerRecord {
  /** The blob as the registry serves it (compressed or not). */
  descriptor: Descriptor;
  /** Digest of the uncompressed tar. */
  diffId: Digest;
  /** Identity of the snapshot holding this layer on top of all those below it. */
  chainId: Digest;
}

/** What the agent stores per image. Frozen once written: images are immutable. */
export interface ImageRecord {
  /** The config digest: the image ID. */
  id: Digest;
  /** Digest of the manifest the image was pulled or built as (and its media type). */
  manifest: Descriptor;
  /** Digest of the index the manifest was chosen from, when pulled through one. */
  index?: Descriptor;
  repoTags: string[];
  /** name@digest forms this image is known under in registries. */
  repoDigests: string[];
  layers: LayerRecord[];
  platform: Platform;
  /** The config's `created`, or when the image was stored if the config has none. */
  created: string;
  /** Sum of the layers' uncompressed sizes as unpacked. */
  size: number;
}

/** Progress of one pull or push, as a stream of events (docker pull's lines). */
export type ProgressEvent =
  | { kind: 'resolved'; reference: string; digest: Digest }
  | { kind: 'layer'; digest: Digest; status: LayerStatus; current?: number; total?: number }
  | { kind: 'done'; reference: string; imageId: Digest; digest: Digest; status: string };

export type LayerStatus =
  /** The layer is known and queued. */
  | 'waiting'
  /** Already unpacked (pull) or already in the registry (push). */
  | 'exists'
  /** Bytes are moving. */
  | 'downloading'
  | 'uploading'
  /** Mounted from another repository of the same registry (push). */
  | 'mounted'
  /** The connection was cut and is being resumed with a Range request. */
  | 'resuming'
  | 'complete';

export type ProgressSink = (event: ProgressEvent) => void;

export interface ImportLayerArgs {
  parent: ImageRecord;
  /**
   * Writes the new layer as an uncompressed tar to `out` (without ending it) and returns the
   * tar's diff ID: the runtime's diff of a container's writable layer.
   */
  writeTar(out: Writable): Promise<{ diffId: Digest }>;
  /** name[:tag]; the image is left untagged without one. */
  repoTag?: string;
  author?: string;
  /** The history entry's comment (docker commit -m). */
  message?: string;
  /** The container's settings as the new image's defaults (docker commit records Cmd, Env...). */
  containerConfig?: Partial<NonNullable<ImageConfig['config']>>;
  /** The history entry's created_by: the container's command, as docker records it. */
  createdBy?: string;
  /** When the image was made; now by default. */
  now?: Date;
}

/**
 * What the container runtime needs of the images on this host: find an image, pull one that a
 * create names and lacks, read its config, and make a committed container's diff a new image.
 */
export interface ImageStore {
  /** The image a user's word names (ID, ID prefix, name[:tag], name@digest); throws not-found. */
  resolve(word: string): ImageRecord;
  /** The image with this ID, or undefined (a container's image may have been removed by force). */
  get(id: Digest): ImageRecord | undefined;
  pull(reference: string): Promise<ImageRecord>;
  config(image: ImageRecord): Promise<ImageConfig>;
  /** A new layer on `args.parent`, stored as a pull would store it: a new image. */
  importLayer(args: ImportLayerArgs): Promise<ImageRecord>;
}
