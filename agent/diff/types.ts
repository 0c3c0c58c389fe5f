// Layer diffs: the vocabulary of applying a layer to a directory and of comparing one.
//
// A layer is a diff: an OCI layer tar whose whiteouts (`.wh.NAME`, `.wh..wh..opq`) say what it
// deletes. Applying one (decompress, hash into the diff ID, extract confined to the target
// directory) writes overlayfs' form of the diff; comparing an overlay upper dir with the layers
// below it gives docker diff's changes, and writing it gives a layer tar again. Nothing here keeps
// state between calls: the caller owns the directories and streams it hands in.

import type { Digest } from '../oci';

/** Overlay's own xattrs (whiteout bookkeeping, copy-up origins): never a layer's content. */
export const OVERLAY_XATTR = 'trusted.overlay.';
/** On a directory of an upper dir or snapshot, `y`: the layers below it are hidden (an opaque whiteout). */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface ApplyLimits {
  /** Uncompressed bytes past which a layer is refused as a decompression bomb. */
  maxLayerBytes: number;
  /** Largest tar header (including PAX/GNU long-name records) accepted, bytes. */
  maxHeaderBytes: number;
}

export interface ApplyStats {
  /** Bytes of file content written. */
  bytes: number;
  entries: number;
  /**
   * Hard links whose target the layer does not hold (cleaned paths in the layer): to be made by
   * resolveLowerLinks once the layers below are unpacked.
   */
  deferredLinks?: Array<{ name: string; target: string }>;
  /**
   * Directories the layer holds without listing them (`tmp/x` and no `tmp/`), made 0755 root on
   * the way: to take what the layers below have for them (inheritImpliedDirs).
   */
  impliedDirs?: string[];
}

export interface AppliedLayer extends ApplyStats {
  /** Digest of the uncompressed tar, to be checked against the image config's diff_ids. */
  diffId: Digest;
}

export type ChangeKind =
  /** Not present in the image. */
  | 'A'
  /** Present in the image and changed (content, metadata, or something below a directory). */
  | 'C'
  /** Present in the image and deleted. */
  | 'D';

export interface Change {
  kind: ChangeKind;
  /** Absolute path in the container, as docker diff prints it. */
  path: string;
}
