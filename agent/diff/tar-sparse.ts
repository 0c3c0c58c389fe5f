// GNU sparse files in layer tars: a file with holes stored as its data fragments and a map of
// where they go. Go's archive/tar (so containerd, Docker and umoci) reads them, and `tar --sparse`
// writes them: the old GNU form (typeflag 'S', the map in the header and extension blocks) and
// the PAX forms 0.1 (the map in a GNU.sparse.map record) and 1.0 (the map at the start of the
// data). The map is checked as Go checks it: fragments in order, not overlapping, inside the real
// size, and exactly as many bytes as are stored. Pure: the reader feeds the bytes.

import { BerthError } from '../../proto/errors';

/** Where a sparse file's stored bytes go: fragments in order, and the file's real size. */
export interface SparseMap {
  realSize: number;
  /** [offset, length], ascending, not overlapping. */
  fragments: Array<[number, number]>;
}

const unreadable = (why: string) => new BerthError('data-loss', `layer tar is unreadable: ${why}`);

/** Fragments of an old GNU sparse header (offset 386, 4 entries) or extension block (offset 0, 21 entries); whether another block follows. */
export function gnuSparseEntries(block: Buffer, offset: number, count: number, numeric: (b: Buffer, off: number, len: number, what: string) => number): { fragments: Array<[number, number]>; extended: boolean } {
  const fragments: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const at = offset + i * 24;
    // An entry that starts with NUL ends the list (as GNU tar and Go read it).
    if (block[at] === 0) break;
    fragments.push([numeric(block, at, 12, 'sparse offset'), numeric(block, at + 12, 12, 'sparse length')]);
  }
  return { fragments, extended: block[offset + count * 24] !== 0 };
}

/** The PAX 0.1 map: "GNU.sparse.map" as "offset,length,offset,length...". */
export function pax01Fragments(map: string): Array<[number, number]> {
  if (map === '') return [];
  const numbers = map.split(',').map((n) => decimal(n, 'GNU.sparse.map'));
  if (numbers.length % 2 !== 0) throw unreadable('GNU.sparse.map has an odd count of numbers');
  const fragments: Array<[number, number]> = [];
  for (let i = 0; i < numbers.length; i += 2) fragments.push([numbers[i]!, numbers[i + 1]!]);
  return fragments;
}

/**
 * The PAX 1.0 map at the start of the data: decimal numbers, one per line (the count, then
 * offset and length of each fragment), padded to a block. `next` reads the data's next block.
 * Returns the fragments and the bytes the map took.
 */
export async function pax10Fragments(next: () => Promise<Buffer>, maxBytes: number): Promise<{ fragments: Array<[number, number]>; bytes: number }> {
  let text = '';
  let bytes = 0;
  const lines: number[] = [];
  let wanted = 1;
  while (lines.length < wanted) {
    if (bytes >= maxBytes) throw new BerthError('resource-exhausted', `GNU sparse map of more than ${maxBytes} bytes (maxHeaderBytes)`);
    text += (await next()).toString('latin1');
    bytes += 512;
    let nl: number;
    while (lines.length < wanted && (nl = text.indexOf('\n')) >= 0) {
      lines.push(decimal(text.slice(0, nl), 'GNU sparse map'));
      text = text.slice(nl + 1);
      if (lines.length === 1) wanted = 1 + 2 * lines[0]!;
    }
  }
  const fragments: Array<[number, number]> = [];
  for (let i = 1; i < lines.length; i += 2) fragments.push([lines[i]!, lines[i + 1]!]);
  return { fragments, bytes };
}

/** A map as Go's archive/tar accepts it: in order, not overlapping, inside the real size, covering exactly the stored bytes. */
export function checkSparse(map: SparseMap, stored: number, name: string): SparseMap {
  let end = 0;
  let total = 0;
  for (const [offset, length] of map.fragments) {
    if (offset < end || offset + length > map.realSize || !Number.isSafeInteger(offset + length)) {
      throw unreadable(`sparse file ${JSON.stringify(name)}: its map has a fragment at ${offset} (${length} bytes) out of order or past its size ${map.realSize}`);
    }
    end = offset + length;
    total += length;
  }
  if (total !== stored) throw unreadable(`sparse file ${JSON.stringify(name)}: its map covers ${total} bytes, the tar stores ${stored}`);
  return map;
}

function decimal(text: string, what: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw unreadable(`bad number ${JSON.stringify(text.slice(0, 40))} in ${what}`);
  return Number(text);
}
