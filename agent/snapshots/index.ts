export type { AppliedLayer, ApplyLimits, ApplyStats, PendingSnapshot, SnapshotInfo, Snapshotter } from './types';
export { openOverlaySnapshotter } from './overlay';
