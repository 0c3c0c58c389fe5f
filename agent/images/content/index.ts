export type { ContentReader, ContentStore, Ingest } from './types';
export { openContentStore } from './local';
