// Validation of one document, the same for a manifest (positions added by the caller) and for a
// document that arrives as JSON over the API (messages name the object instead).

import { kindInfo, type CustomObject, type CustomResourceDefinition, type Resource } from '../resources';
import { customObjectIssues, definitionIssues } from './custom-resources';
import { issuesFromAjv } from './ajv-issues';
import { ManifestError } from './errors';
import { checkKind } from './kinds';
import { schemaValidator } from './schemas';
import { semanticIssues } from './semantics';
import type { FieldIssue, ValidationIssue } from './types';

/**
 * Everything wrong with a document: kind and apiVersion first (without them there is no schema
 * to check against), then every schema error, then (only on a document whose shapes are right)
 * the rules between fields. An empty result means `doc` is a valid Resource. Each issue's
 * `message` is its whole line for the API: "Deployment default/web: spec.replicas: must be an integer".
 */
export function validateResource(doc: unknown, options: ValidateOptions = {}): ValidationIssue[] {
  const where = describeObject(doc, options.definitions);
  return fieldIssues(doc, options).map((i) => ({ ...i, message: `${where}: ${i.field ? `${i.field}: ` : ''}${i.detail}` }));
}

export interface ValidateOptions {
  /** CustomResourceDefinitions that count besides the catalog's (applied in the same batch). */
  definitions?: readonly CustomResourceDefinition[];
  /** The stored object, on an update: what the transition rules of a custom kind compare with. */
  old?: unknown;
}

/** validateResource without the API's line: for callers that place issues in a source (load.ts). */
export function fieldIssues(doc: unknown, options: ValidateOptions = {}): FieldIssue[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    const got = Array.isArray(doc) ? 'a list' : doc === null ? 'empty' : `a ${typeof doc}`;
    return [{ field: '', detail: `a manifest must be an object with apiVersion, kind, metadata and spec; this one is ${got}`, location: { path: [], part: 'value' } }];
  }
  const kind = checkKind(doc as Record<string, unknown>, options.definitions);
  if (!kind.ok) return kind.issues;
  if ('definition' in kind) return customObjectIssues(doc as CustomObject, kind.definition, options.old as CustomObject | undefined);
  const validate = schemaValidator(kind.kind);
  if (!validate(doc)) return issuesFromAjv(validate.errors ?? [], doc);
  if (kind.kind === 'CustomResourceDefinition') return definitionIssues(doc as CustomResourceDefinition);
  return semanticIssues(doc as Resource);
}

/** How an object is named in messages without positions: "Deployment default/web", "Namespace shop". */
export function describeObject(doc: unknown, definitions: readonly CustomResourceDefinition[] = []): string {
  const o = (doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc : {}) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof o.kind === 'string' && o.kind !== '' ? o.kind : 'object';
  const meta = o.metadata !== null && typeof o.metadata === 'object' ? o.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : '(no name)';
  const defined = definitions.find((d) => d.spec.names.kind === kind);
  const namespaced = kindInfo(kind)?.namespaced ?? (defined ? defined.spec.scope === 'Namespaced' : false);
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : namespaced ? 'default' : '';
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** validateResource as errors, for callers that throw or print them one by one. */
export function resourceErrors(doc: unknown): ManifestError[] {
  const where = describeObject(doc);
  return fieldIssues(doc).map((i) => new ManifestError({ where, field: i.field, detail: i.detail }));
}
