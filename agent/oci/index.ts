// The OCI vocabulary: what an image is made of, as the image-spec and distribution-spec name it.
//
// Owns: digests (parsing, hashing, verifying streams), media types and layer compression,
// descriptors, image configs, references (Docker's rules), platforms, chain IDs, and checking
// documents against the image-spec's JSON schemas. No state and no lifecycle beyond compiling the
// schemas once. The bottom of the agent: it imports only proto/ (for errors), never another folder.

export type { Descriptor, Digest, Healthcheck, HistoryEntry, ImageConfig, Platform, Reference } from './types';
export { chainIds } from './chain-id';
export { Hasher, VerifyingStream, checkDigest, encodedOf, isDigest, parseDigest, sha256, shortDigest, sizeMismatch } from './digest';
export {
  CONFIG_TYPES, INDEX_TYPES, MANIFEST_OR_INDEX_TYPES, MANIFEST_TYPES, MediaType, bareMediaType, detectCompression,
  isConfigType, isForeignLayerType, isIndexType, isLayerType, isManifestType, layerCompression, layerMediaType, type Compression,
} from './media-types';
export { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformMatches, selectManifest } from './platform';
export { DEFAULT_DOMAIN, familiarName, familiarString, formatReference, manifestSelector, parseReference, repositoryName, withDigest, withTag } from './reference';
export { DEFAULT_SCHEMA_DIR, compileSchemaDir, loadSchemas, parseJson, validateDocument, type DocumentKind } from './validate';
