// Layer snapshots: each image layer unpacked once into a read-only directory keyed by its chain
// ID, shared by every image whose stack starts with the same layers.
//
// A snapshot directory holds only its layer's diff, in overlayfs form: a deleted path is a 0/0
// character device (an overlay whiteout) and a directory whose lower contents are hidden carries
// the `trusted.overlay.opaque=y` xattr. Stacked as overlay lower dirs (topmost layer first), the
// snapshots of an image show exactly the image's final filesystem.
//
// Lifecycle: `apply` extracts a layer into a private temporary directory and, only when the whole
// tar was applied and its diff ID verified by the caller, `commit` renames it into place; a snapshot
// is therefore either absent or complete, never half-written under its key. `remove` deletes one.

import type { Readable } from 'node:stream';
import type { AppliedLayer, ApplyLimits } from '../diff/types';
import type { Compression } from '../oci/media-types';
import type { Digest } from '../oci/types';

export interface PendingSnapshot {
  /** Where the layer is being extracted (a fresh empty directory). */
  readonly dir: string;
  /**
   * Decompress a layer blob, hash it into its diff ID and extract it into dir, confined to it.
   * `blob` is read with backpressure; a failure destroys it.
   */
  apply(blob: Readable, compression: Compression, limits: ApplyLimits): Promise<AppliedLayer>;
  /** Make it visible under its chain ID. Idempotent with a concurrent commit of the same key. */
  commit(info: SnapshotInfo): Promise<void>;
  /** Throw the partial directory away. */
  abort(): Promise<void>;
}

export interface SnapshotInfo {
  chainId: Digest;
  /** Chain ID of the snapshot below, absent for a base layer. */
  parent?: Digest;
  diffId: Digest;
  /** Bytes of file content in this layer. */
  size: number;
}

export interface Snapshotter {
  /** The committed snapshot, or undefined. */
  stat(chainId: Digest): Promise<SnapshotInfo | undefined>;
  /** Directory to stack as an overlay lower dir. */
  dirOf(chainId: Digest): string;
  prepare(): Promise<PendingSnapshot>;
  list(): Promise<SnapshotInfo[]>;
  remove(chainId: Digest): Promise<void>;
}
