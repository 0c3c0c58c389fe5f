export type { PendingSnapshot, SnapshotInfo, Snapshotter } from './types';
export { openOverlaySnapshotter } from './overlay';
