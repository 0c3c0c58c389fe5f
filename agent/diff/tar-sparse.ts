// GNU sparse files in layer tars: a file with holes stored as its data fragments and a map of
// where they go, as `tar --sparse` writes them. The PAX forms are read as Go's archive/tar (so
// containerd, Docker and umoci) reads them: 0.0 (repeated GNU.sparse.offset/numbytes records,
// folded into a map by the PAX parser), 0.1 (a GNU.sparse.map record) and 1.0 (the map at the
// start of the data); the version records decide, and an unknown version is a plain file, as in
// Go. The old GNU form (typeflag 'S', the map in the header and extension blocks), which Go reads
// but containerd and Docker then refuse, is read too. The map is checked as Go checks it:
// fragments in order, not overlapping, inside the real size, and exactly as many bytes as are
// stored. Pure: the reader feeds the bytes.

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

/**
 * Which PAX sparse form an entry's own (not global) records say, as Go decides it: 0.x, 1.0, or
 * undefined for a plain file (no sparse records, or a version Go does not know).
 */
export function paxSparseVersion(records: ReadonlyMap<string, Buffer>): '0.x' | '1.0' | undefined {
  const major = records.get('GNU.sparse.major')?.toString('latin1') ?? '';
  const minor = records.get('GNU.sparse.minor')?.toString('latin1') ?? '';
  if (major === '0' && (minor === '0' || minor === '1')) return '0.x';
  if (major === '1' && minor === '0') return '1.0';
  if (major !== '' || minor !== '') return undefined;
  // 0.0 and 0.1 wrote no version records.
  return (records.get('GNU.sparse.map')?.length ?? 0) > 0 ? '0.x' : undefined;
}

/** The PAX 0.x map: "GNU.sparse.map" as "offset,length,offset,length...", as many pairs as GNU.sparse.numblocks says. */
export function pax0xFragments(map: string, numblocks: string | undefined): Array<[number, number]> {
  const blocks = decimal(numblocks ?? '', 'GNU.sparse.numblocks');
  const numbers = map === '' ? [] : map.split(',').map((n) => decimal(n, 'GNU.sparse.map'));
  if (numbers.length !== 2 * blocks) throw unreadable(`GNU.sparse.map has ${numbers.length} numbers where GNU.sparse.numblocks says ${blocks} pairs`);
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
  if (!Number.isSafeInteger(map.realSize)) throw unreadable(`sparse file ${JSON.stringify(name)}: a size out of range`);
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
