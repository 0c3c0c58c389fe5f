// Checks manifests, indexes and configs against the OCI image-spec JSON schemas.
//
// The schemas come from the host (Debian's golang-github-opencontainers-image-spec-dev) rather
// than a copy in this repository; BERTH_IMAGE_SPEC_SCHEMAS points elsewhere. They are draft-04
// schemas whose nested `id`s move the base URI around; we flatten every schema onto one base so
// their relative `$ref`s ("defs.json#/definitions/int64") resolve to the sibling files.

import Ajv, { type ValidateFunction } from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';

export const DEFAULT_SCHEMA_DIR = '/usr/share/gocode/src/github.com/opencontainers/image-spec/schema';
const BASE = 'https://schemas.berth.invalid/oci/';

export type DocumentKind = 'manifest' | 'index' | 'config';
const FILES: Record<DocumentKind, string> = {
  manifest: 'image-manifest-schema.json',
  index: 'image-index-schema.json',
  config: 'config-schema.json',
};

function flatten(node: unknown, isRoot: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => flatten(n, false));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    // A nested id in draft-04 rebases $ref; drop it. (A property literally named "id" is a map key
    // under "properties", whose value is an object, so only string ids are removed.)
    if (key === 'id' && typeof value === 'string' && !isRoot) continue;
    out[key] = flatten(value, false);
  }
  return out;
}

let validators: Record<DocumentKind, ValidateFunction> | undefined;

/** Compile the schemas now rather than on the first pull (the agent calls it at start). */
export function loadSchemas(): void {
  load();
}

/**
 * Every *.json schema of a directory of OCI JSON Schemas (draft-04), compiled together so their
 * relative $refs resolve; returns a lookup by file name. The runtime-spec schemas load the same way.
 */
export function compileSchemaDir(dir: string, what: string): (file: string) => ValidateFunction {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (err) {
    throw new BerthError('internal', `${what} schemas not found in ${dir}`, { cause: err });
  }
  const ajv = new Ajv({ allErrors: false, strict: false });
  addFormats(ajv, ['uri', 'date-time']);
  for (const file of files) {
    const schema = flatten(JSON.parse(readFileSync(path.join(dir, file), 'utf8')), true) as Record<string, unknown>;
    schema.id = BASE + file;
    ajv.addSchema(schema);
  }
  return (file) => {
    const fn = ajv.getSchema(BASE + file);
    if (!fn) throw new BerthError('internal', `${what} schema ${file} missing from ${dir}`);
    return fn;
  };
}

function load(): Record<DocumentKind, ValidateFunction> {
  if (validators) return validators;
  const dir = process.env.BERTH_IMAGE_SPEC_SCHEMAS ?? DEFAULT_SCHEMA_DIR;
  const get = compileSchemaDir(dir, 'OCI image-spec (install golang-github-opencontainers-image-spec-dev or set BERTH_IMAGE_SPEC_SCHEMAS)');
  validators = { manifest: get(FILES.manifest), index: get(FILES.index), config: get(FILES.config) };
  return validators;
}

/** Throws invalid-argument naming the first schema violation ("manifest: /layers/0/digest must match pattern …"). */
export function validateDocument(kind: DocumentKind, doc: unknown, what: string): void {
  const validate = load()[kind];
  if (validate(doc)) return;
  const e = validate.errors?.[0];
  const where = e?.instancePath || '/';
  throw new BerthError('invalid-argument', `${what}: malformed ${kind}: ${where} ${e?.message ?? 'is invalid'}`);
}

/** Parse JSON bytes, naming the document on failure. */
export function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BerthError('invalid-argument', `${what}: malformed JSON: ${(err as Error).message}`, { cause: err });
  }
}
