// A streaming reader for layer tars: ustar, PAX (local and global), GNU long names and GNU sparse
// files (tar-sparse.ts).
//
// Layers are read by our own reader rather than a general tar library for three reasons that
// matter on this path: PAX values are kept as the raw bytes they are (xattr values such as
// security.capability are binary, and general readers decode them as UTF-8, corrupting them);
// the size of every header record is checked against the limit before any of it is buffered;
// and file contents are handed on as slices of the incoming chunks, without copies.
//
// Names and link targets are byte strings (one char per byte, latin1), the convention of the
// berth_fs addon, so that any name survives as the bytes the layer holds.

import { BerthError } from '../../proto/errors';
import { checkSparse, gnuSparseEntries, pax0xFragments, pax10Fragments, paxSparseVersion, type SparseMap } from './tar-sparse';

export type EntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo';

export interface TarEntry {
  /** Path as a byte string. */
  name: string;
  /** Link target (hard or symbolic) as a byte string; '' for other types. */
  linkname: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes (regular files only). */
  size: number;
  /** [seconds, nanoseconds] */
  mtime: [number, number];
  atime?: [number, number];
  devmajor: number;
  devminor: number;
  /** From SCHILY.xattr.NAME records: name as a byte string, value as its raw bytes. */
  xattrs: Array<[string, Buffer]>;
  /** Bytes of the header records that described this entry (512 per block, PAX and long names included). */
  headerBytes: number;
  /** A GNU sparse file: `size` bytes are stored, to be placed by this map into a file of its real size. */
  sparse?: SparseMap;
}

export interface TarReaderLimits {
  /** Largest PAX record set or GNU long name accepted, bytes. */
  maxHeaderBytes: number;
}

export interface TarItem {
  entry: TarEntry;
  /** The content in slices as it arrives (regular files; empty for other types). */
  content: AsyncIterable<Buffer>;
  /** The whole content in one buffer, for small files (one copy at most). */
  readAll(): Promise<Buffer>;
}

const BLOCK = 512;
const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file for every purpose here
  'S': 'file', // old GNU sparse file: its map follows in the header
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

const unreadable = (why: string) => new BerthError('data-loss', `layer tar is unreadable: ${why}`);

/** Byte-exact reads over a stream of chunks. */
class ChunkReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>, private readonly onChunk?: (bytes: number) => void) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Buffer at least n bytes; false at end of stream with fewer. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.onChunk?.(next.value.length);
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or undefined at a clean end of stream (no bytes left). */
  async read(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return undefined;
      throw unreadable(`truncated: ${this.buffered} bytes where ${n} were expected`);
    }
    return this.take(n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  /** n bytes as they arrive, in slices of the incoming chunks. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) {
        throw unreadable(`truncated: an entry's content ends ${left} bytes short`);
      }
      const k = Math.min(left, this.chunks[0]!.length);
      left -= k;
      yield this.take(k);
    }
  }

  async skip(n: number): Promise<void> {
    for await (const chunk of this.stream(n)) void chunk;
  }

  /** Consume whatever follows the end of the archive, so upstream hashing sees every byte. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else this.onChunk?.(next.value.length);
    }
  }
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** A NUL-terminated field as a byte string. */
function field(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('latin1', offset, end < 0 || end > offset + length ? offset + length : end);
}

/** A numeric field: octal ASCII (space or NUL padded), or GNU base-256 when the high bit is set. */
function numeric(block: Buffer, offset: number, length: number, what: string): number {
  if (block[offset]! & 0x80) {
    let value = block[offset]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + block[offset + i]!;
    if (!Number.isSafeInteger(value)) throw unreadable(`${what} field out of range`);
    return value;
  }
  const text = block.toString('latin1', offset, offset + length).replace(/[\0 ]+$/, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw unreadable(`bad ${what} field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Some old tars summed signed bytes; both are accepted, as GNU tar does.
  return stored === unsigned || stored === signed;
}

const isZero = (block: Buffer) => block.every((b) => b === 0);

/** PAX records, "LEN KEY=VALUE\n" each; values stay raw bytes. */
function parsePax(data: Buffer, into: Map<string, Buffer>): void {
  let off = 0;
  const sparse00: string[] = [];
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space < 0) throw unreadable('bad PAX record (no length)');
    const len = Number(data.toString('latin1', off, space));
    if (!Number.isSafeInteger(len) || len <= space - off + 1 || off + len > data.length) {
      throw unreadable('bad PAX record length');
    }
    const record = data.subarray(space + 1, off + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw unreadable('bad PAX record (no "=")');
    const key = record.toString('utf8', 0, eq);
    const value = record.subarray(eq + 1);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      // GNU sparse 0.0: offset and numbytes records alternate, one pair per fragment (Go folds them the same way).
      if ((key === 'GNU.sparse.offset') !== (sparse00.length % 2 === 0) || value.includes(0x2c)) throw unreadable('bad GNU sparse 0.0 records');
      sparse00.push(value.toString('latin1'));
    } else into.set(key, value);
    off += len;
  }
  if (sparse00.length > 0) into.set('GNU.sparse.map', Buffer.from(sparse00.join(','), 'latin1'));
}

/** A PAX time, "SECONDS[.FRACTION]" (possibly negative), as [sec, nsec]. */
function paxTime(value: Buffer, key: string): [number, number] {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(value.toString('latin1'));
  if (!m) throw unreadable(`bad PAX ${key} ${JSON.stringify(value.toString('latin1'))}`);
  let sec = Number(m[2]);
  let nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (m[1] === '-') {
    sec = -sec;
    if (nsec > 0) {
      sec -= 1;
      nsec = 1e9 - nsec;
    }
  }
  return [sec, nsec];
}

function paxNumber(value: Buffer, key: string): number {
  const text = value.toString('latin1');
  if (!/^\d+$/.test(text)) throw unreadable(`bad PAX ${key} ${JSON.stringify(text)}`);
  return Number(text);
}

const XATTR = 'SCHILY.xattr.';

/**
 * The entries of a tar, in order. Each entry's content must be consumed from `content` (or
 * left: the reader skips what is left) before the next entry is asked for.
 */
export async function* readTar(
  source: AsyncIterable<Buffer>,
  limits: TarReaderLimits,
  /** Told the size of every chunk read from source (a byte budget can throw from here). */
  onChunk?: (bytes: number) => void,
): AsyncGenerator<TarItem> {
  const reader = new ChunkReader(source, onChunk);
  const global = new Map<string, Buffer>();
  let local = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  let headerBytes = 0;
  // Global PAX records apply to every later entry and are kept for the whole archive: their total
  // is capped too, or a layer of many small global headers would grow this map without bound.
  let globalBytes = 0;

  const record = async (size: number, what: string): Promise<Buffer> => {
    headerBytes += size;
    if (headerBytes > limits.maxHeaderBytes) {
      throw new BerthError('resource-exhausted', `tar header of ${headerBytes} bytes (${what}) exceeds the limit of ${limits.maxHeaderBytes} bytes (maxHeaderBytes)`);
    }
    const data = size === 0 ? Buffer.alloc(0) : (await reader.read(size)) ?? Buffer.alloc(0);
    if (data.length < size) throw unreadable(`truncated ${what}`);
    await reader.skip(padding(size));
    return data;
  };

  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === undefined) throw unreadable('it ends without an end-of-archive marker');
    if (isZero(block)) {
      await reader.drain();
      return;
    }
    if (!checksumOk(block)) throw unreadable('header checksum mismatch');
    headerBytes += BLOCK;
    const typeflag = String.fromCharCode(block[156]!);
    const size = numeric(block, 124, 12, 'size');

    switch (typeflag) {
      case 'x':
        parsePax(await record(size, 'PAX header'), local);
        continue;
      case 'g':
        globalBytes += size;
        if (globalBytes > limits.maxHeaderBytes) {
          throw new BerthError('resource-exhausted', `PAX global headers of ${globalBytes} bytes in all exceed the limit of ${limits.maxHeaderBytes} bytes (maxHeaderBytes)`);
        }
        parsePax(await record(size, 'PAX global header'), global);
        continue;
      case 'L':
        longName = stripNul(await record(size, 'GNU long name'));
        continue;
      case 'K':
        longLink = stripNul(await record(size, 'GNU long link name'));
        continue;
    }
    let type = TYPES[typeflag];
    if (type === undefined) {
      throw new BerthError('invalid-argument', `unsupported tar entry type ${JSON.stringify(typeflag)}`);
    }

    const pax = global.size > 0 ? new Map([...global, ...local]) : local;
    const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
    let name = field(block, 0, 100);
    if (ustar) {
      const prefix = field(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = pax.get('path')?.toString('latin1') ?? longName ?? name;
    // Old (v7) tars mark directories only by a trailing slash on a regular-file entry.
    if (type === 'file' && typeflag === '\0' && name.endsWith('/')) type = 'directory';
    const linkname = pax.get('linkpath')?.toString('latin1') ?? longLink ?? field(block, 157, 100);

    let entrySize = pax.has('size') ? paxNumber(pax.get('size')!, 'size') : size;
    let sparse: SparseMap | undefined;
    if (typeflag === 'S') {
      // The old GNU layout only with GNU tar's magic: other tars (star) use 'S' differently.
      if (block.toString('latin1', 257, 265) !== 'ustar  \0') throw unreadable(`a sparse entry (type S) ${JSON.stringify(name)} without GNU tar's header`);
      const first = gnuSparseEntries(block, 386, 4, numeric);
      const fragments = first.fragments;
      for (let extended = first.extended; extended;) {
        const more = gnuSparseEntries(await record(BLOCK, 'GNU sparse extension'), 0, 21, numeric);
        fragments.push(...more.fragments);
        extended = more.extended;
      }
      sparse = { realSize: numeric(block, 483, 12, 'sparse real size'), fragments };
    } else {
      // The entry's own records only: Go (and so containerd) reads no sparse record from a global header.
      const version = paxSparseVersion(local);
      if (version !== undefined) {
        if (type !== 'file') throw unreadable(`sparse records on ${JSON.stringify(name)}, a ${type}`);
        const text = (key: string) => local.get(key)?.toString('latin1');
        const sparseName = text('GNU.sparse.name');
        if (sparseName) name = sparseName;
        let fragments: Array<[number, number]>;
        if (version === '1.0') {
          let read = 0;
          const map = await pax10Fragments(async () => {
            read += BLOCK;
            const data = read <= entrySize ? await reader.read(BLOCK) : undefined;
            if (!data) throw unreadable(`sparse file ${JSON.stringify(name)}: its map runs past its data`);
            return data;
          }, limits.maxHeaderBytes);
          entrySize -= map.bytes;
          fragments = map.fragments;
        } else {
          fragments = pax0xFragments(text('GNU.sparse.map') ?? '', text('GNU.sparse.numblocks'));
        }
        const realSize = text('GNU.sparse.size') ?? text('GNU.sparse.realsize');
        sparse = { realSize: realSize === undefined ? entrySize : paxNumber(Buffer.from(realSize, 'latin1'), 'GNU.sparse.size'), fragments };
      }
    }
    if (sparse) checkSparse(sparse, entrySize, name);
    const mtimeField = pax.get('mtime');
    const atimeField = pax.get('atime');
    const xattrs: Array<[string, Buffer]> = [];
    for (const [key, value] of pax) {
      if (key.startsWith(XATTR)) xattrs.push([Buffer.from(key.slice(XATTR.length), 'utf8').toString('latin1'), value]);
    }
    const entry: TarEntry = {
      name,
      linkname: type === 'link' || type === 'symlink' ? linkname : '',
      type,
      mode: numeric(block, 100, 8, 'mode') & 0o7777,
      uid: pax.has('uid') ? paxNumber(pax.get('uid')!, 'uid') : numeric(block, 108, 8, 'uid'),
      gid: pax.has('gid') ? paxNumber(pax.get('gid')!, 'gid') : numeric(block, 116, 8, 'gid'),
      size: type === 'file' ? entrySize : 0,
      mtime: mtimeField ? paxTime(mtimeField, 'mtime') : [numeric(block, 136, 12, 'mtime'), 0],
      ...(atimeField ? { atime: paxTime(atimeField, 'atime') } : {}),
      devmajor: numeric(block, 329, 8, 'devmajor'),
      devminor: numeric(block, 337, 8, 'devminor'),
      xattrs,
      headerBytes,
      ...(sparse ? { sparse } : {}),
    };
    local = new Map();
    longName = undefined;
    longLink = undefined;
    headerBytes = 0;

    // Only regular files carry content; a size on anything else (hard links in some tars) is
    // skipped as data of no meaning.
    const contentSize = type === 'file' ? entry.size : entrySize;
    let consumed = 0;
    const content = {
      async *[Symbol.asyncIterator]() {
        if (type !== 'file') return;
        for await (const chunk of reader.stream(contentSize)) {
          consumed += chunk.length;
          yield chunk;
        }
      },
    };
    const readAll = async (): Promise<Buffer> => {
      if (type !== 'file' || contentSize === 0) return Buffer.alloc(0);
      const data = await reader.read(contentSize);
      if (data === undefined) throw unreadable(`truncated: an entry's content ends ${contentSize} bytes short`);
      consumed = contentSize;
      return data;
    };
    yield { entry, content, readAll };
    await reader.skip(contentSize - consumed + padding(contentSize));
  }
}

const stripNul = (data: Buffer): string => {
  const end = data.indexOf(0);
  return data.toString('latin1', 0, end < 0 ? data.length : end);
};
