// Sources to valid documents plus every error: what `berth apply -f` and `--dry-run` need.

import type { CustomResourceDefinition, Resource } from '../resources';
import { ManifestError } from './errors';
import { parseManifestText, type ParsedDocument } from './parse';
import { readSources } from './sources';
import type { ManifestDocument, ManifestSource } from './types';
import { fieldIssues } from './validate';

export interface LoadResult {
  /** The documents that passed validation, in source order. */
  documents: ManifestDocument[];
  /** Every error of every source and document, in source order; when not empty, apply nothing. */
  errors: ManifestError[];
}

/** Read, parse and validate every source; every error of every document is reported. */
export function loadManifests(paths: readonly string[], readStdin: () => string): LoadResult {
  const { sources, errors } = readSources(paths, readStdin);
  const result = validateSources(sources);
  return { documents: result.documents, errors: [...errors, ...result.errors] };
}

/**
 * Parse and validate texts already read (a watch loop's changed file, a test's string). Objects of
 * a custom kind whose CustomResourceDefinition is among the documents are checked against it.
 */
export function validateSources(sources: readonly ManifestSource[]): LoadResult {
  const documents: ManifestDocument[] = [];
  const errors: ManifestError[] = [];
  const parsedSources = sources.map(parseManifestText);
  const definitions = parsedSources.flatMap((p) => p.documents.map((d) => d.value)).filter(isDefinition);
  for (const parsed of parsedSources) {
    // A source's syntax errors and validation errors are reported in line order.
    const sourceErrors = [...parsed.errors];
    for (const doc of parsed.documents) {
      const docErrors = validateParsed(doc, definitions);
      if (docErrors.length === 0) {
        documents.push({ object: doc.value as Resource, source: doc.source, index: doc.index, position: doc.position });
      }
      sourceErrors.push(...docErrors);
    }
    errors.push(...sourceErrors.sort(byPosition));
  }
  return { documents, errors };
}

/** One parsed document's errors, each at the line:col of its cause. */
export function validateParsed(doc: ParsedDocument, definitions: readonly CustomResourceDefinition[] = []): ManifestError[] {
  return fieldIssues(doc.value, { definitions })
    .map((issue) => new ManifestError({
      where: doc.source,
      position: doc.locate(issue.location.path, issue.location.part),
      field: issue.field,
      detail: issue.detail,
    }))
    .sort(byPosition);
}

function byPosition(a: ManifestError, b: ManifestError): number {
  return (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.column ?? 0) - (b.position?.column ?? 0);
}

/** A CustomResourceDefinition with the fields a batch's other documents are checked by. */
export function isDefinition(value: unknown): value is CustomResourceDefinition {
  const v = value as Partial<CustomResourceDefinition> | null;
  return v?.kind === 'CustomResourceDefinition' && typeof v.spec?.group === 'string' && typeof v.spec.names?.kind === 'string' && Array.isArray(v.spec.versions);
}
