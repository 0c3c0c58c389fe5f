// -o yaml, -o json and -o name: one object as itself, several as a v1 List. JSON keeps the
// fields in the order kubectl prints them (apiVersion, kind, metadata, the rest, status last);
// YAML sorts every mapping's keys, as kubectl's YAML does (and as a stable diff needs).

import { stringify } from 'yaml';
import type { Resource } from '../../proto/resources';
import { objectRef } from './resource-names';

/** The object with its top-level fields in kubectl's order. */
export function ordered(obj: Resource): Record<string, unknown> {
  const o = obj as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['apiVersion', 'kind', 'metadata']) if (k in o) out[k] = o[k];
  for (const [k, v] of Object.entries(o)) if (!(k in out) && k !== 'status') out[k] = v;
  if ('status' in o) out.status = o.status;
  return out;
}

/** What -o yaml/json prints: the object, or a List of them when there are several (or none). */
export function printable(objects: Resource[], single: boolean): unknown {
  if (single && objects.length === 1) return ordered(objects[0]!);
  return { apiVersion: 'v1', items: objects.map(ordered), kind: 'List', metadata: { resourceVersion: '' } };
}

export function toYaml(value: unknown): string {
  return stringify(sortKeys(value), { indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

export function formatObjects(objects: Resource[], format: 'yaml' | 'json' | 'name', single: boolean): string {
  if (format === 'name') return objects.map((o) => `${objectRef(o)}\n`).join('');
  const value = printable(objects, single);
  return format === 'yaml' ? toYaml(value) : toJson(value);
}
