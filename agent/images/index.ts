// Images: the agent's images and their names, and how they come and go (pull, push, save, load,
// import of a committed layer, tag, rmi, prune, garbage collection).
//
// Owns the image metadata (<data root>/images.json), the registry client and its credentials
// (auth.json), and, as their only writer, the content store's blobs and the snapshotter's layer
// snapshots. Opened once by the composition root with the layer side of the snapshotter and a
// way to ask which container uses an image; closed at agent stop. Images are immutable: records
// are frozen once written. Imports native/ (through diff/), oci/, content/, diff/, snapshots/ and
// proto/; never the runtime, which sees images only through the narrow ImageStore of types.ts.

export { mapBounded } from './bounded';
export { DEFAULT_LIMITS, ImageService, type HistoryRow, type ImageServiceOptions, type ImageUsers, type RemoveResult } from './service';
export type { ImageRecord, ImageStore, ImportLayerArgs, KeptLayer, LayerRecord, LayerStatus, ProgressEvent, ProgressSink } from './types';
export type { RegistryOptions } from './registry';
export type { LaterLayer, LayerIds, SettlingLayer, UnwrittenLayer } from './import-layer';
