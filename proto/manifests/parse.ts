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
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    const at = (path: readonly PathSegment[], part: 'value' | 'key') => locate(doc, lineCounter, path, part);
    if (isList(value)) {
      // A List (`kubectl get -o yaml` of several objects) is its items, each a document of its own.
      value.items.forEach((item, i) => documents.push({
        source: source.name,
        index: index++,
        value: item,
        position: at(['items', i], 'value'),
        locate: (path, part) => at(['items', i, ...path], part),
      }));
      continue;
    }
    documents.push({ source: source.name, index: index++, value, position: positionOf(contents, lineCounter), locate: at });
  }
  return { documents, errors };
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
