// The content store: every blob the agent keeps (manifests, indexes, configs, layer blobs), by digest.
//
// Owns <data root>/content/. Opened once by the composition root's image service; stray ingests
// from a crash are removed at open. A blob is visible only once verified (see types.ts). Imports
// oci/ (digests) and proto/ only.

export type { ContentReader, ContentStore, Ingest } from './types';
export { openContentStore } from './local';
