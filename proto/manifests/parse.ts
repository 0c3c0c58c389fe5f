// Text to documents: multi-document YAML, or JSON (which YAML 1.2 reads too, with the same
// positions). Each document keeps its syntax tree so that later errors can point into it.

import { LineCounter, parseAllDocuments, type Document, type Node, type Tags } from 'yaml';
import { ManifestError } from './errors';
import { locate, positionOf } from './locate';
import type { ManifestSource, PathSegment, SourcePosition } from './types';

export interface ParsedDocument {
  source: string;
  /** Index among the source's non-empty documents (those with syntax errors included), from 0. */
  index: number;
  /** The document as plain data (YAML's core schema: no timestamps, no yes/no booleans). */
  value: unknown;
  position: SourcePosition;
  /** Where a field path is in the source. */
  locate(path: readonly PathSegment[], part: 'value' | 'key'): SourcePosition;
}

/**
 * YAML as kubectl reads it (go-yaml v2, YAML 1.1): `defaultMode: 0400` is octal 256 and `yes`/`on`
 * are booleans, where YAML 1.2 would read 400 and strings. Not taken from 1.1: base-60 numbers
 * (`12:30`) and timestamps, which kubectl leaves as strings.
 */
const KUBECTL_YAML = {
  version: '1.1',
  customTags: (tags: Tags) => tags.filter((tag) => !(typeof tag === 'object' && (tag.format === 'TIME' || tag.tag === 'tag:yaml.org,2002:timestamp'))),
} as const;

export function parseManifestText(source: ManifestSource): { documents: ParsedDocument[]; errors: ManifestError[] } {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(source.text, { lineCounter, prettyErrors: true, ...KUBECTL_YAML });
  // parseAllDocuments answers an EmptyStream (not an array) for a text without any document.
  const all = Array.isArray(parsed) ? (parsed as Document[]) : [];
  const documents: ParsedDocument[] = [];
  const errors: ManifestError[] = [];
  let index = 0;
  for (const doc of all) {
    if (doc.errors.length > 0) {
      index++;
      // The first error is the cause; those after it usually follow from it.
      const first = doc.errors[0];
      const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0]);
      errors.push(new ManifestError({ where: source.name, position: { line: pos.line, column: pos.col }, detail: oneLine(first.message) }));
      continue;
    }
    if (isEmpty(doc)) continue;
    const contents = doc.contents as Node;
    const value = asStoredVersion(withoutNulls(doc.toJS({ maxAliasCount: 100 }) as unknown));
    const at = (path: readonly PathSegment[], part: 'value' | 'key') => locate(doc, lineCounter, path, part);
    if (isList(value)) {
      // A List (`kubectl get -o yaml` of several objects) is its items, each a document of its own.
      value.items.forEach((item, i) => documents.push({
        source: source.name,
        index: index++,
        value: asStoredVersion(item),
        position: at(['items', i], 'value'),
        locate: (path, part) => at(['items', i, ...path], part),
      }));
      continue;
    }
    documents.push({ source: source.name, index: index++, value, position: positionOf(contents, lineCounter), locate: at });
  }
  return { documents, errors };
}

/**
 * The value with every null field left out: Kubernetes decodes `field: null` (and YAML's `field:`
 * with nothing after it) as a field not given, so a manifest that says so means the default.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = withoutNulls(v);
  return out;
}

/**
 * Older API versions Kubernetes still serves with the same fields as the one berth stores: read as
 * that one (the API server converts them the same way).
 */
const SAME_AS_STORED: Record<string, { from: string[]; to: string }> = {
  ValidatingAdmissionPolicy: { from: ['admissionregistration.k8s.io/v1beta1', 'admissionregistration.k8s.io/v1alpha1'], to: 'admissionregistration.k8s.io/v1' },
  ValidatingAdmissionPolicyBinding: { from: ['admissionregistration.k8s.io/v1beta1', 'admissionregistration.k8s.io/v1alpha1'], to: 'admissionregistration.k8s.io/v1' },
};

function asStoredVersion(value: unknown): unknown {
  const v = value as { kind?: unknown; apiVersion?: unknown } | null;
  if (typeof v !== 'object' || v === null || typeof v.kind !== 'string') return value;
  if (v.kind === 'HorizontalPodAutoscaler' && v.apiVersion === 'autoscaling/v1') return autoscalingV2(v as AutoscalingV1);
  const same = SAME_AS_STORED[v.kind];
  return same && same.from.includes(v.apiVersion as string) ? { ...v, apiVersion: same.to } : value;
}

interface AutoscalingV1 {
  spec?: { targetCPUUtilizationPercentage?: unknown; [field: string]: unknown };
  [field: string]: unknown;
}

/** autoscaling/v1's one CPU target is v2's Resource metric (Kubernetes' conversion). */
function autoscalingV2(v1: AutoscalingV1): unknown {
  if (typeof v1.spec !== 'object' || v1.spec === null) return { ...v1, apiVersion: 'autoscaling/v2' };
  const { targetCPUUtilizationPercentage: percent, ...spec } = v1.spec;
  const metrics = percent === undefined ? {} : { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: percent } } }] };
  return { ...v1, apiVersion: 'autoscaling/v2', spec: { ...spec, ...metrics } };
}

/** `kind: List` (or a typed list such as PodList) with its items, as kubectl reads one. */
function isList(value: unknown): value is { items: unknown[] } {
  const v = value as { kind?: unknown; items?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

/** A document of only `---` and comments: skipped, as kubectl does. */
function isEmpty(doc: Document): boolean {
  const c = doc.contents as { value?: unknown; source?: string } | null;
  if (c === null) return true;
  return 'value' in c && c.value === null && !c.source;
}

/** yaml's message without its source excerpt and its " at line 3, column 7" (the position is printed already). */
function oneLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '').trim();
}
