// An overlay upper dir written as an OCI layer tar: the diff half that `berth commit` needs.
//
// Layer tars are written by hand rather than with tar-stream's pack: pack writes PAX values as
// UTF-8 text, which corrupts binary xattr values (security.capability), and it cannot put
// everything about one entry into a single PAX record set as readers (Go's archive/tar) expect.

import { createHash } from 'node:crypto';
import { read, readSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { BerthError } from '../../proto/errors';
import { berthFs, type BerthFs } from '../native';
import type { Digest } from '../oci';
import { bytes, type UpperEntry, walkUpper, xattrsOf, type WalkOptions } from './changes';

const readAt = promisify(read);
const CHUNK = 256 * 1024;
/** Files up to this size are read without leaving the event loop. */
const SYNC_READ = 64 * 1024;
const WRITE_BATCH = 1024 * 1024;

const BLOCK = 512;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

interface TarHeader {
  /** Byte string, no leading slash; directories end in '/'. */
  name: string;
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Array<[string, Buffer]>;
}

/**
 * An OCI layer tar of an overlay upper dir, written to `out` (not ended): whiteouts become
 * `.wh.NAME` files, opaque directories get a `.wh..wh..opq` entry, files with one inode are
 * hard links to the first of their names, overlay's own xattrs are dropped. Returns the diff ID
 * and the tar's size. Every byte is read through the walk's descriptors (changes.ts), so what a
 * running container does to its layer meanwhile can change what is read only among its own files.
 */
export interface LayerWriteOptions extends WalkOptions {
  /** Times later than this (seconds since the epoch) are written as it: SOURCE_DATE_EPOCH's reproducible layers. */
  maxMtime?: number;
  /** Called with every entry the walk yields (sockets included), before it is written. */
  onEntry?: (entry: UpperEntry) => void;
  /**
   * Symlink targets by path, read before: reading a link sets its atime, which a settled
   * snapshot must keep as the tar gives it. A link not in it is read.
   */
  linkTargets?: ReadonlyMap<string, string>;
}

export async function layerFromUpper(upper: string, out: Writable, options: LayerWriteOptions = {}): Promise<{ diffId: Digest; size: number }> {
  const native = berthFs();
  const hash = createHash('sha256');
  let size = 0;
  // Headers and small files are gathered into writes of about a megabyte: one write per tar
  // header cost more than the compression behind it (a 10k-file layer).
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    if (batched === 0) return;
    const chunk = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    if (!out.write(chunk)) await drained(out);
  };
  const emit = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    size += chunk.length;
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= WRITE_BATCH) await flush();
  };
  // First name of each multiply-linked inode; later names link to it.
  const inodes = new Map<string, string>();
  for await (const entry of walkUpper(upper, options)) {
    const { rel, stats, whiteout, opaque, xattrNames, fd } = entry;
    options.onEntry?.(entry);
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    refuseWhiteoutName(rel);
    const common = { mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: tarMtime(stats, options), size: 0 };
    if (whiteout) {
      const parent = rel.slice(0, rel.length - base.length);
      await emit(encodeHeader({ ...common, name: `${parent}${WHITEOUT}${base}`, type: '0', mode: 0o600 }));
      continue;
    }
    const xattrs = xattrsOf(native, fd, '', xattrNames);
    if (stats.isDirectory()) {
      await emit(encodeHeader({ ...common, name: `${rel}/`, type: '5', xattrs }));
      if (opaque) await emit(encodeHeader({ ...common, name: `${rel}/${OPAQUE}`, type: '0', mode: 0o600 }));
      continue;
    }
    if (stats.nlink > 1) {
      const key = `${stats.dev}:${stats.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) {
        await emit(encodeHeader({ ...common, name: rel, type: '1', linkname: first }));
        continue;
      }
      inodes.set(key, rel);
    }
    if (stats.isFile()) {
      await emit(encodeHeader({ ...common, name: rel, type: '0', size: stats.size, xattrs }));
      await emitFile(native, fd, rel, stats.size, emit);
    } else if (stats.isSymbolicLink()) {
      const target = options.linkTargets?.get(rel) ?? native.readLink(fd);
      await emit(encodeHeader({ ...common, name: rel, type: '2', linkname: target, xattrs }));
    } else if (stats.isCharacterDevice() || stats.isBlockDevice() || stats.isFIFO()) {
      const type = stats.isFIFO() ? '6' : stats.isCharacterDevice() ? '3' : '4';
      await emit(encodeHeader({ ...common, name: rel, type, devmajor: major(stats.rdev), devminor: minor(stats.rdev), xattrs }));
    }
    // Sockets are not part of a filesystem image; docker leaves them out too.
  }
  await emit(Buffer.alloc(2 * BLOCK));
  await flush();
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

/** A real file named like a whiteout would delete something in every image built on the layer. */
export function refuseWhiteoutName(rel: string): void {
  if (rel.slice(rel.lastIndexOf('/') + 1).startsWith(WHITEOUT)) {
    throw new BerthError('invalid-argument', `/${Buffer.from(rel, 'latin1').toString('utf8')}: a file name starting with "${WHITEOUT}" cannot be committed (it is how layers mark deletions)`);
  }
}

/**
 * The modification time an entry's tar header records, whole seconds: its own (truncated), no
 * later than maxMtime, within what the ustar field holds. Unpacking the tar gives the entry this
 * time, 0 ns, as atime and mtime.
 */
export function tarMtime(stats: { mtimeMs: number }, options: { maxMtime?: number } = {}): number {
  const mtime = Math.floor(stats.mtimeMs / 1000);
  return clampUstarTime(options.maxMtime === undefined ? mtime : Math.min(mtime, options.maxMtime));
}

const clampUstarTime = (seconds: number): number => Math.max(0, Math.min(seconds, 8 ** 11 - 1));

/** The file's first `expected` bytes, read through the walk's descriptor `fd` on it. */
async function emitFile(native: BerthFs, fd: number, rel: string, expected: number, emit: (chunk: Buffer) => Promise<void>): Promise<void> {
  if (expected === 0) return;
  const file = native.openRead(fd);
  let copied = 0;
  try {
    // Read no further than the size in the header: a file growing meanwhile must not corrupt the tar.
    while (copied < expected) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, expected - copied));
      // A small file is read in place: a round trip through the thread pool per file cost more
      // than the read (a 10k-file layer); large ones do not hold the event loop.
      const bytesRead = expected <= SYNC_READ
        ? readSync(file, chunk, 0, chunk.length, copied)
        : (await readAt(file, chunk, 0, chunk.length, copied)).bytesRead;
      if (bytesRead === 0) break;
      copied += bytesRead;
      await emit(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
    }
  } finally {
    native.close(file);
  }
  if (copied !== expected) {
    throw new BerthError('failed-precondition', `/${Buffer.from(rel, 'latin1').toString('utf8')} changed size while it was committed; commit with the container paused (without --pause=false) or stopped`);
  }
  const pad = (BLOCK - (expected % BLOCK)) % BLOCK;
  if (pad) await emit(Buffer.alloc(pad));
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      offDrain();
      out.off('error', done);
      out.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const closed = () => done(new Error('layer output closed early'));
    const drainedNow = () => done();
    // The same function is removed as was added: a leftover listener per wait made every later
    // drain walk thousands of them (a 10k-file layer).
    const offDrain = () => out.off('drain', drainedNow);
    out.on('drain', drainedNow);
    out.on('error', done);
    out.on('close', closed);
  });
}

// glibc's dev_t layout (gnu_dev_major/minor), in BigInt because dev_t is 64 bits.
const major = (rdev: number | bigint): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number | bigint): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/** A device number as its major and minor parts. */
export const deviceNumbers = (rdev: number | bigint): { major: number; minor: number } => ({ major: major(rdev), minor: minor(rdev) });

/**
 * A ustar header, preceded by one PAX header when something does not fit ustar: a long or
 * non-ASCII name or link target, a large id or size, xattrs.
 */
function encodeHeader(h: TarHeader): Buffer {
  const pax: Array<[string, Buffer]> = [];
  let name = h.name;
  let prefix = '';
  const split = splitName(h.name);
  if (split) [prefix, name] = split;
  else {
    pax.push(['path', bytes(h.name)]);
    name = asciiFallback(h.name, 100);
  }
  let linkname = h.linkname ?? '';
  if (linkname && (Buffer.byteLength(linkname, 'latin1') > 100 || !isAscii(linkname))) {
    pax.push(['linkpath', bytes(linkname)]);
    linkname = asciiFallback(linkname, 100);
  }
  const numeric = (key: string, value: number, width: number): number => {
    if (value < 8 ** (width - 1)) return value;
    pax.push([key, Buffer.from(String(value))]);
    return 0;
  };
  const uid = numeric('uid', h.uid, 8);
  const gid = numeric('gid', h.gid, 8);
  const size = numeric('size', h.size, 12);
  for (const [key, value] of h.xattrs ?? []) pax.push([`SCHILY.xattr.${key}`, value]);

  const header = ustar({ ...h, name, prefix, linkname, uid, gid, size });
  if (pax.length === 0) return header;
  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxName = asciiFallback(`PaxHeaders/${h.name.replace(/\/$/, '').split('/').pop()}`, 100);
  const paxHeader = ustar({ name: paxName, prefix: '', type: 'x', mode: 0o644, uid: 0, gid: 0, size: records.length, mtime: h.mtime, linkname: '' });
  const pad = (BLOCK - (records.length % BLOCK)) % BLOCK;
  return Buffer.concat([paxHeader, records, Buffer.alloc(pad), header]);
}

function ustar(h: Omit<TarHeader, 'type' | 'xattrs'> & { type: string; prefix: string; linkname: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'latin1');
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, clampUstarTime(h.mtime));
  b.write(h.type, 156, 1, 'latin1');
  b.write(h.linkname, 157, 100, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.write(h.prefix, 345, 155, 'latin1');
  // The checksum is summed with its own field as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return b;
}

function octal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'latin1');
}

/** "LEN key=value\n", LEN counting the whole record including its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'latin1'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** ustar's prefix/name split of an ASCII name, or undefined when it does not fit. */
function splitName(name: string): [string, string] | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return ['', name];
  // The split is at a slash; a directory's trailing slash stays with the name part.
  for (let i = name.indexOf('/'); i >= 0 && i < name.length - 1; i = name.indexOf('/', i + 1)) {
    if (i <= 155 && name.length - i - 1 <= 100) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

/** What old readers see in the ustar field when the real value is in the PAX record. */
const asciiFallback = (s: string, max: number): string => s.replace(/[^\x01-\x7f]/g, '_').slice(0, max);

/** Diff ID of an empty layer tar (two zero blocks): what committing an unchanged container gives. */
export const EMPTY_LAYER_DIFF_ID: Digest = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';
