// Snapshots: the layers a container's root filesystem is made of.
//
// Layer snapshots: each image layer unpacked once into a read-only directory keyed by its chain
// ID, shared by every image whose stack starts with the same layers. A snapshot directory holds
// only its layer's diff, in overlayfs form: a deleted path is a 0/0 character device (an overlay
// whiteout) and a directory whose lower contents are hidden carries `trusted.overlay.opaque=y`.
// Stacked as overlay lower dirs (topmost layer first), the snapshots of an image show exactly the
// image's final filesystem.
//
// Lifecycle of a layer snapshot: `prepare` makes a private temporary directory, `apply` extracts a
// layer into it and, only when the whole tar was applied and its diff ID verified by the caller,
// `commit` renames it into place; a snapshot is therefore either absent or complete, never
// half-written under its key. `remove` deletes one (the image store's garbage collector decides).
//
// Writable layers: a container's upper and work dirs, mounted as an overlay over its image's
// snapshots. `prepareWritable` at create, `mount` at each start (a no-op when an adopted container's
// rootfs is still mounted), `unmount` when its process is gone; the directory, owned by the
// container, goes with it.

import type { Readable } from 'node:stream';
import type { AppliedLayer, ApplyLimits, ApplyStats } from '../diff';
import type { Compression, Digest } from '../oci';

export interface PendingSnapshot {
  /** Where the layer is being extracted (a fresh empty directory). */
  readonly dir: string;
  /**
   * Decompress a layer blob, hash it into its diff ID and extract it into dir, confined to it.
   * `blob` is read with backpressure; a failure destroys it.
   */
  apply(blob: Readable, compression: Compression, limits: ApplyLimits): Promise<AppliedLayer>;
  /**
   * What the layer takes from the layers below once they are unpacked (`lowers`: their
   * directories, topmost first): its hard links whose targets are there (AppliedLayer's
   * deferredLinks), the targets copied up as overlay would; then the attributes of the
   * directories it holds without listing them (impliedDirs). Resolves to the bytes copied up.
   */
  finishFromBelow(applied: ApplyStats, lowers: readonly string[]): Promise<number>;
  /** Make it visible under its chain ID. Idempotent with a concurrent commit of the same key. */
  commit(info: SnapshotInfo): Promise<void>;
  /** Throw the partial directory away. */
  abort(): Promise<void>;
}

export interface SnapshotInfo {
  chainId: Digest;
  /** Chain ID of the snapshot below, absent for a base layer. */
  parent?: Digest;
  /** Absent for a build's unwritten layer, whose ID is not a chain ID (images/import-layer.ts). */
  diffId?: Digest;
  /** Bytes of file content in this layer. */
  size: number;
}

/** A container's writable layer: where its changes go and where its root filesystem is mounted. */
export interface WritableLayer {
  /** The overlay upper dir: everything the container changed. */
  upper: string;
  /** Overlay's work dir, on the upper dir's filesystem. */
  work: string;
  /** The mount point: the container's rootfs. */
  merged: string;
}

/** Layer snapshots: what the image store unpacks layers into and collects. */
export interface LayerSnapshotter {
  /** The committed snapshot, or undefined. */
  stat(chainId: Digest): Promise<SnapshotInfo | undefined>;
  /** Directory to stack as an overlay lower dir. */
  dirOf(chainId: Digest): string;
  prepare(): Promise<PendingSnapshot>;
  list(): Promise<SnapshotInfo[]>;
  remove(chainId: Digest): Promise<void>;
}

/** Writable layers over layer snapshots: what the container runtime mounts. */
export interface ContainerSnapshotter {
  /**
   * The directories of a stack of layer snapshots given bottom first (an image's layers, by chain
   * ID), topmost first: overlay's lowerdir order.
   */
  lowerDirs(chainIds: readonly Digest[]): string[];
  /** The writable layer kept in `dir`, a directory its caller owns and removes with it. */
  writable(dir: string): WritableLayer;
  /** Make the writable layer's directories in `dir`. Idempotent. */
  prepareWritable(dir: string): Promise<WritableLayer>;
  /**
   * Mount `layer` over `lowerDirs` (topmost first) unless it is mounted already. `volatile`: for a
   * layer nobody needs after a crash (a build step's): its unmount does not sync the whole
   * filesystem the upper dir is on.
   */
  mount(layer: WritableLayer, lowerDirs: string[], options?: { volatile?: boolean }): void;
  /** Unmount if mounted (lazily when something still holds it). */
  unmount(layer: WritableLayer): void;
  /** Bytes in the writable layer, as `du -sb` counts them. */
  usage(layer: WritableLayer): Promise<number>;
}

export interface Snapshotter extends LayerSnapshotter, ContainerSnapshotter {}
