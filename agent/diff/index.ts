// Layer diffs, as containerd's diff service: apply a layer blob to a directory, compare an overlay
// upper dir with the layers below it, write an upper dir as a layer tar, make a build step's upper
// dir the snapshot its layer tar would unpack to.
//
// Owns the layer tar format on this agent: our own streaming tar reader and writer, decompression
// (gzip in process, zstd through the zstd binary), diff-ID hashing, and every filesystem write of
// a layer, confined to its target directory by the native addon's in-root operations. Stateless:
// callers (snapshots/ when unpacking, the runtime when committing) own the directories. Imports
// native/, oci/ and proto/ only.

export type { AppliedLayer, ApplyLimits, ApplyStats, Change, ChangeKind } from './types';
export { OPAQUE_XATTR, OVERLAY_XATTR } from './types';
export { applyBlob } from './apply-blob';
export { applyLayer } from './apply';
export { changes, LowerView, walkUpper, type UpperEntry, type WalkOptions } from './changes';
export { DiffIdHasher, decompressor } from './decompress';
export { readTar, type TarEntry, type TarItem } from './tar-reader';
export { deviceNumbers, EMPTY_LAYER_DIFF_ID, layerFromUpper, type LayerWriteOptions, tarMtime } from './write-layer';
export { entryFix, upperLayer, type UpperLayer } from './upper-snapshot';
export { resolveLowerLinks, statIn, timesOf } from './lower-links';
export { inheritImpliedDirs } from './implied-dirs';
