// What the CLI and the API server may use of manifests (see types.ts for the lifecycle).

export type { FieldIssue, ManifestDocument, ManifestSource, PathSegment, SourcePosition, ValidationIssue } from './types';
export { ManifestError } from './errors';
export { loadManifests, validateSources, validateParsed, isDefinition, type LoadResult } from './load';
export { parseManifestText, type ParsedDocument } from './parse';
export { readSources, isManifestFile, MANIFEST_EXTENSIONS, STDIN_NAME } from './sources';
export { validateResource, resourceErrors, describeObject, type ValidateOptions } from './validate';
export { withSchemaDefaults } from './custom-resources';
export { APPLIABLE_KINDS, type AppliableKind } from './schemas';
export { selects } from './semantics';
export { formatPath } from './path';
