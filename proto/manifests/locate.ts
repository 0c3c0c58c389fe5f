// From a field path to line:col in the YAML text, through the document's syntax tree.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment, SourcePosition } from './types';

/**
 * The position of the value (or, for part 'key', of the key) at `path`. Where the path does not
 * lead all the way (a value the tree lacks), the deepest node found on the way is used, so every
 * error still points somewhere near its cause.
 */
export function locate(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[], part: 'value' | 'key'): SourcePosition {
  let node = resolve(doc, doc.contents as Node | null);
  let at: Node | null = node;
  for (let i = 0; i < path.length && node; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      const key = pair.key as Node;
      const value = resolve(doc, pair.value as Node | null);
      if (last && part === 'key') {
        at = key;
        break;
      }
      // A key with nothing after it ("image:") has an empty value node: point at the key then.
      node = value && !isEmptyScalar(value) ? value : null;
      at = node ?? key;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = resolve(doc, (node.items[segment] as Node | undefined) ?? null);
      if (!item) break;
      node = item;
      at = item;
    } else {
      break;
    }
  }
  return positionOf(at, lineCounter);
}

/** Where a node starts; the first line for a document without contents. */
export function positionOf(node: Node | null, lineCounter: LineCounter): SourcePosition {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function resolve(doc: Document, node: Node | null): Node | null {
  if (node && isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}

function isEmptyScalar(node: Node): boolean {
  return isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);
}
