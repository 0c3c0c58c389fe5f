// Manifests: what a user writes (YAML or JSON, several documents per file), turned into resource
// documents the controller can store, or into errors that say exactly what is wrong and where.
//
// Lifecycle: sources (files, directories, stdin) are read as text; each text is parsed into
// documents that keep their YAML syntax tree, so that any field path maps back to line:col;
// each document is validated (kind and apiVersion, then the JSON Schema under manifests/schemas,
// then checks a schema cannot express) and either joins `documents` or adds its errors. Nothing
// stops at the first error: a caller gets every error of every document and stores nothing when
// there is any. The controller runs the same validation on documents that arrive as JSON over
// the API (no positions; errors name the object instead). Defaulting is separate and later
// (proto/resources/defaults.ts): documents here are exactly as written.

import type { Resource } from '../resources';

/** One step of a field path: an object key or an array index. */
export type PathSegment = string | number;

/** One thing wrong with a document, found by a check, before it is placed anywhere. */
export interface FieldIssue {
  /** The field the message is about, as printed ("spec.template.spec.containers[0].image"); '' when the message is about the document itself. */
  field: string;
  /** One line, without the field: "must be a string". */
  detail: string;
  /**
   * Where in the source it points: the value at `path` (a wrong value, or the object a required
   * field is missing from), or the key at `path` (an unknown field, a bad label key).
   */
  location: { path: PathSegment[]; part: 'value' | 'key' };
}

/** A FieldIssue with its whole line as the API reports it. */
export interface ValidationIssue extends FieldIssue {
  /** "Deployment default/web: spec.replicas: must be an integer". */
  message: string;
}

/** A line and column in a source, both from 1. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A named text to parse: a file's path, or "<stdin>". */
export interface ManifestSource {
  name: string;
  text: string;
}

/** A valid document, as written (not defaulted). */
export interface ManifestDocument {
  object: Resource;
  /** The source's name: the file's path as given (joined with its directory), or "<stdin>". */
  source: string;
  /** Index among the source's non-empty documents (those with syntax errors included), from 0. */
  index: number;
  /** Where the document starts in its source. */
  position: SourcePosition;
}
