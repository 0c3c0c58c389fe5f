// Snapshots: the read-only layer snapshots images are unpacked into (keyed by chain ID) and the
// writable layer of each container with its overlay mount.
//
// Owns <data root>/snapshots/ and, inside each container's directory, what its writable layer is
// made of. Opened once by the composition root, which hands the image store its layer side and
// the runtime its writable side (see types.ts for the lifecycles). Imports native/, oci/, diff/
// (to apply a layer blob) and proto/.

export type { ContainerSnapshotter, LayerSnapshotter, PendingSnapshot, SnapshotInfo, Snapshotter, WritableLayer } from './types';
export { openOverlaySnapshotter } from './overlay';
