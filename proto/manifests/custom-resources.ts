// The rules of custom resources: what a CustomResourceDefinition must say to be accepted (its
// names, versions and structural schemas), and whether an object of a custom kind meets its
// definition: served version, the version's openAPIV3Schema (turned into JSON Schema and checked
// by the same ajv as the built-in kinds, unknown fields refused as kubectl's strict field
// validation does), then its x-kubernetes-validations CEL rules. Defaults from the schema are
// filled in by withSchemaDefaults, as the API server does on every write.
//
// Pure: (document, definition) -> issues.

import { celSyntaxError, compileCel, comprehensionDepth, toCelValue, celText, CelEvaluationError } from '../cel';
import type { CustomObject, CustomResourceDefinition, CustomResourceDefinitionVersion, JsonSchemaProps } from '../resources';
import { issuesFromAjv } from './ajv-issues';
import { formatPath } from './path';
import { customSchemaValidator } from './schemas';
import type { FieldIssue, PathSegment } from './types';

const issue = (path: PathSegment[], detail: string): FieldIssue => ({ field: formatPath(path), detail, location: { path, part: 'value' } });

// --- definitions ---

/** What is wrong with a definition beyond its shape (the JSON Schema checked that). */
export function definitionIssues(crd: CustomResourceDefinition): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { group, names, versions } = crd.spec;
  if (crd.metadata.name !== `${names.plural}.${group}`) {
    out.push(issue(['metadata', 'name'], `must be spec.names.plural+"."+spec.group (${names.plural}.${group})`));
  }
  if (!group.includes('.')) out.push(issue(['spec', 'group'], 'should be a domain with at least one dot, such as stable.example.com'));
  if (names.listKind !== undefined && names.listKind === names.kind) out.push(issue(['spec', 'names', 'listKind'], 'may not be the same as kind'));
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    if (seen.has(v.name)) out.push(issue(['spec', 'versions', i, 'name'], `duplicate version name "${v.name}"`));
    seen.add(v.name);
  });
  const storage = versions.filter((v) => v.storage).length;
  if (storage !== 1) out.push(issue(['spec', 'versions'], `must have exactly one version marked as storage version (${storage} are)`));
  if (!versions.some((v) => v.served)) out.push(issue(['spec', 'versions'], 'must have at least one served version'));
  if (crd.spec.conversion?.strategy === 'Webhook') {
    out.push(issue(['spec', 'conversion', 'strategy'], 'Webhook is not supported by berth yet: versions are converted as strategy None (only apiVersion changes), so give every version the same schema and use None'));
  }
  if (crd.spec.preserveUnknownFields === true) out.push(issue(['spec', 'preserveUnknownFields'], 'must be false in apiextensions.k8s.io/v1; use x-kubernetes-preserve-unknown-fields in the schema'));
  versions.forEach((v, i) => {
    const at: PathSegment[] = ['spec', 'versions', i];
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) {
      out.push(issue([...at, 'schema', 'openAPIV3Schema'], 'is required: schemas are required in apiextensions.k8s.io/v1'));
      return;
    }
    if (schema.type !== 'object') out.push(issue([...at, 'schema', 'openAPIV3Schema', 'type'], 'must be object at the root'));
    const structural = structuralIssues(schema, [...at, 'schema', 'openAPIV3Schema'], true);
    out.push(...structural);
    if (structural.length === 0) {
      // A schema berth could not check objects against is refused now, not at the first object.
      try {
        customSchemaValidator(rootJsonSchema(schema));
      } catch (err) {
        out.push(issue([...at, 'schema', 'openAPIV3Schema'], `cannot be used to check objects: ${(err as Error).message}`));
      }
    }
    (v.additionalPrinterColumns ?? []).forEach((c, j) => {
      if (!/^\.[A-Za-z0-9_.\-\[\]"'@=?() ]*$/.test(c.jsonPath)) out.push(issue([...at, 'additionalPrinterColumns', j, 'jsonPath'], 'must be a simple JSONPath such as .spec.replicas'));
    });
  });
  return out;
}

const SCHEMA_KEYS = new Set<string>(['type', 'format', 'description', 'title', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'default', 'nullable',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties',
  'maxProperties', 'multipleOf', 'allOf', 'anyOf', 'oneOf', 'not', 'example', 'externalDocs',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type', 'x-kubernetes-validations']);

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/**
 * Kubernetes' structural schema rules, the ones that matter to what berth does with a schema:
 * every node says its type (unless int-or-string or preserve-unknown-fields), arrays say their
 * items, properties and additionalProperties do not meet, no $ref, rules compile.
 */
function structuralIssues(node: JsonSchemaProps, at: PathSegment[], typed: boolean): FieldIssue[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [issue(at, 'must be a schema object')];
  const out: FieldIssue[] = [];
  for (const key of Object.keys(node)) {
    if (key === '$ref') out.push(issue([...at, key], '$ref is not allowed in a structural schema'));
    else if (!SCHEMA_KEYS.has(key)) out.push(issue([...at, key], `unknown schema keyword "${key}"`));
  }
  const open = node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (typed && node.type === undefined && !open) out.push(issue([...at, 'type'], 'must not be empty for specified object fields'));
  if (node.type !== undefined && !TYPES.has(node.type)) out.push(issue([...at, 'type'], `must be one of: ${[...TYPES].join(', ')}`));
  if (node.type === 'array' && !node.items && typed) out.push(issue([...at, 'items'], 'must be specified for an array'));
  if (node.properties && node.additionalProperties !== undefined && node.additionalProperties !== false) {
    out.push(issue([...at, 'additionalProperties'], 'additionalProperties and properties are mutually exclusive'));
  }
  if (node.additionalProperties === false) out.push(issue([...at, 'additionalProperties'], 'must not be false: fields not in properties are refused already'));
  for (const [name, child] of Object.entries(node.properties ?? {})) out.push(...structuralIssues(child, [...at, 'properties', name], typed));
  if (node.items) out.push(...structuralIssues(node.items, [...at, 'items'], typed));
  if (node.additionalProperties && typeof node.additionalProperties === 'object') out.push(...structuralIssues(node.additionalProperties, [...at, 'additionalProperties'], typed));
  // Inside the logical junctors a schema only validates: types are the outer node's.
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) (node[junctor] ?? []).forEach((s, i) => out.push(...structuralIssues(s, [...at, junctor, i], false)));
  if (node.not) out.push(...structuralIssues(node.not, [...at, 'not'], false));
  (node['x-kubernetes-validations'] ?? []).forEach((r, i) => {
    const problem = typeof r?.rule === 'string' ? celSyntaxError(r.rule) : 'is required';
    if (problem) out.push(issue([...at, 'x-kubernetes-validations', i, 'rule'], problem === 'is required' ? problem : `compilation failed: ${problem}`));
    // Kubernetes bounds a rule's cost by the schema's maxItems; berth's evaluator has no cost
    // limit, so a list macro inside another (a cost that grows with the square of a list an
    // object's author chooses) is refused.
    else if (comprehensionDepth(r.rule) > 1) out.push(issue([...at, 'x-kubernetes-validations', i, 'rule'], 'nests a list macro (all, exists, exists_one, map, filter) inside another: berth evaluates rules without a cost limit, so it refuses rules whose cost grows with the square of a list'));
  });
  if (node.pattern !== undefined) {
    try {
      // RE2, as Kubernetes (and the validator of the objects) reads it.
      (require('re2js') as typeof import('re2js')).RE2JS.compile(node.pattern);
    } catch (err) {
      out.push(issue([...at, 'pattern'], `must be a valid RE2 regular expression: ${(err as Error).message}`));
    }
  }
  return out;
}

// --- objects of a custom kind ---

/** The served version an object's apiVersion names, or the issue that says it names none. */
export function servedVersion(doc: { apiVersion: string; kind: string }, crd: CustomResourceDefinition): CustomResourceDefinitionVersion | FieldIssue {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/', 2) : ['', doc.apiVersion];
  const served = crd.spec.versions.filter((v) => v.served).map((v) => `${crd.spec.group}/${v.name}`);
  const found = group === crd.spec.group ? crd.spec.versions.find((v) => v.name === version && v.served) : undefined;
  if (found) return found;
  return { field: '', detail: `apiVersion ${JSON.stringify(doc.apiVersion)} is not served for kind ${crd.spec.names.kind}; served: ${served.join(', ')}`, location: { path: ['apiVersion'], part: 'value' } };
}

/**
 * Everything wrong with an object of a custom kind, once its schema's defaults are in (as the API
 * server defaults before it validates); `old`: the stored object, for transition rules.
 */
export function customObjectIssues(given: CustomObject, crd: CustomResourceDefinition, old?: CustomObject): FieldIssue[] {
  const version = servedVersion(given, crd);
  if ('field' in version) return [version];
  const schema = version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const doc = withSchemaDefaults(given, crd);
  const key = crd.metadata.uid && crd.metadata.resourceVersion ? `${crd.metadata.uid}/${crd.metadata.resourceVersion}/${version.name}` : undefined;
  const validate = customSchemaValidator(rootJsonSchema(schema), key);
  if (!validate(doc)) return issuesFromAjv(validate.errors ?? [], doc);
  const out: FieldIssue[] = [];
  // The root's own rules see the whole object; kubectl's metadata is not theirs to judge.
  celRuleIssues(schema, doc, old, [], out);
  return out;
}

/** An object with the defaults of its version's schema filled in where it says nothing. */
export function withSchemaDefaults<T extends CustomObject>(doc: T, crd: CustomResourceDefinition): T {
  const version = servedVersion(doc, crd);
  const schema = 'field' in version ? undefined : version.schema?.openAPIV3Schema;
  if (!schema) return doc;
  const copy = structuredClone(doc);
  fillDefaults(schema, copy);
  return copy;
}

function fillDefaults(schema: JsonSchemaProps, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) fillDefaults(schema.items, item);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (!(name in obj) && child.default !== undefined) obj[name] = structuredClone(child.default);
    if (name in obj) fillDefaults(child, obj[name]);
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const v of Object.values(obj)) fillDefaults(schema.additionalProperties, v);
  }
}

/** The root schema as ajv checks it: apiVersion, kind and metadata as every object has them. */
function rootJsonSchema(schema: JsonSchemaProps): object {
  const body = toJsonSchema(schema) as { properties?: Record<string, object>; required?: string[] };
  return {
    ...body,
    type: 'object',
    required: [...new Set(['apiVersion', 'kind', 'metadata', ...(body.required ?? [])])],
    properties: {
      ...(body.properties ?? {}),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: {
        type: 'object',
        $ref: 'https://berth.local/schemas/definitions.json#/$defs/ObjectMeta',
        required: ['name'],
        properties: { name: { $ref: 'https://berth.local/schemas/definitions.json#/$defs/DNS1123Subdomain' } },
      },
    },
  };
}

/**
 * A structural schema as JSON Schema 2020-12: nullable as a null type, int-or-string as either,
 * OpenAPI's boolean exclusive bounds as numbers, unknown fields refused unless preserved.
 * Formats are not checked (Kubernetes checks few, and only for known names).
 */
export function toJsonSchema(node: JsonSchemaProps): object {
  const out: Record<string, unknown> = {};
  const copy = ['enum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf', 'required'] as const;
  for (const key of copy) if (node[key] !== undefined) out[key] = node[key];
  if (node.minimum !== undefined) out[node.exclusiveMinimum ? 'exclusiveMinimum' : 'minimum'] = node.minimum;
  if (node.maximum !== undefined) out[node.exclusiveMaximum ? 'exclusiveMaximum' : 'maximum'] = node.maximum;
  if (node['x-kubernetes-int-or-string']) {
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  } else if (node.type) {
    out.type = node.nullable ? [node.type, 'null'] : node.type;
  }
  if (node.enum && node.nullable && !node.enum.includes(null)) out.enum = [...node.enum, null];
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = node['x-kubernetes-embedded-resource'] === true;
  if (node.properties || embedded) {
    const properties: Record<string, object> = {};
    for (const [name, child] of Object.entries(node.properties ?? {})) properties[name] = toJsonSchema(child);
    if (embedded) {
      properties.apiVersion ??= { type: 'string' };
      properties.kind ??= { type: 'string' };
      properties.metadata ??= { type: 'object' };
    }
    out.properties = properties;
  }
  if (node.additionalProperties !== undefined && typeof node.additionalProperties === 'object') {
    out.additionalProperties = toJsonSchema(node.additionalProperties);
  } else if (node.additionalProperties === true || preserve) {
    // anything goes
  } else if (node.type === 'object' || node.properties) {
    out.additionalProperties = false;
  }
  if (node.items) out.items = toJsonSchema(node.items);
  // A set's items are unique (Kubernetes: Duplicate value); a map list's keys are checked in celRuleIssues' walk.
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (node[junctor]) {
      const branches = node[junctor]!.map((s) => toJsonSchema({ ...s, 'x-kubernetes-preserve-unknown-fields': true }));
      if (junctor === 'anyOf' && out.anyOf) out.allOf = [...((out.allOf as object[]) ?? []), { anyOf: branches }];
      else out[junctor] = branches;
    }
  }
  if (node.not) out.not = toJsonSchema({ ...node.not, 'x-kubernetes-preserve-unknown-fields': true });
  return out;
}

/**
 * Every x-kubernetes-validations rule of the schema, evaluated where its node has a value: `self`
 * that value, `oldSelf` the stored object's (a rule that reads oldSelf is a transition rule and
 * runs only on an update that has one). A rule that cannot be evaluated counts as failed.
 */
function celRuleIssues(schema: JsonSchemaProps, value: unknown, old: unknown, at: PathSegment[], out: FieldIssue[]): void {
  // Kubernetes runs no rule on an absent or null value.
  if (value === undefined || value === null) return;
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const transition = /\boldSelf\b/.test(rule.rule);
    if (transition && old === undefined) continue;
    const bindings: Record<string, unknown> = { self: toCelValue(value) };
    if (transition) bindings.oldSelf = toCelValue(old);
    let passed: boolean;
    let detail: string;
    try {
      passed = compileCel(rule.rule)(bindings) === true;
      detail = rule.message ?? `failed rule: ${rule.rule}`;
      if (!passed && rule.messageExpression) {
        try {
          detail = celText(compileCel(rule.messageExpression)(bindings));
        } catch {
          // The rule's message, or its text, says it well enough.
        }
      }
    } catch (err) {
      passed = false;
      detail = err instanceof CelEvaluationError ? `rule ${JSON.stringify(rule.rule)} could not be evaluated: ${err.message}` : String(err);
    }
    if (!passed) {
      const path = rule.fieldPath ? [...at, ...rule.fieldPath.split('.').filter(Boolean)] : at;
      out.push(issue(path, `Invalid value: ${describeValue(value)}: ${detail}`));
    }
  }
  if (Array.isArray(value)) {
    const keys = schema['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] ?? [] : [];
    if (keys.length > 0) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const id = JSON.stringify(keys.map((k) => (item as Record<string, unknown> | null)?.[k] ?? null));
        if (seen.has(id)) out.push(issue([...at, i], `Duplicate value: ${JSON.stringify(Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown>)[k]])))}`));
        seen.add(id);
      });
    }
    if (schema.items) value.forEach((item, i) => celRuleIssues(schema.items!, item, undefined, [...at, i], out));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  const was = old !== null && typeof old === 'object' && !Array.isArray(old) ? (old as Record<string, unknown>) : undefined;
  for (const [name, child] of Object.entries(schema.properties ?? {})) celRuleIssues(child, obj[name], was?.[name], [...at, name], out);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const [key, v] of Object.entries(obj)) celRuleIssues(schema.additionalProperties, v, was?.[key], [...at, key], out);
  }
}

/** How Kubernetes quotes the value a rule refused: scalars as they are, objects and lists by type. */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return '"array"';
  if (value !== null && typeof value === 'object') return '"object"';
  return JSON.stringify(value);
}
