// The build context: the directory a build copies from, as `.dockerignore` lets the build see it.
//
// Walked once per build into an in-memory listing (type, mode, size, times of every entry that is
// not excluded); COPY and ADD match their sources against the listing, never the live directory,
// so a file excluded by .dockerignore cannot be reached by any path. File contents are hashed only
// when a step's cache key needs them, and each hash is remembered by the file's identity and
// times (inode, size, mtime, ctime in nanoseconds), so a rebuild re-reads only the files that changed.

import ignore from '@balena/dockerignore';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { deviceNumbers } from '../diff';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  /** Path in the context, '/'-separated, no leading slash; '' is the context itself. */
  rel: string;
  type: EntryType;
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  size: number;
  mtimeNs: bigint;
  linkTarget?: string;
  /** A FIFO or device ('other'): made again where it is copied. */
  node?: SpecialNode;
}

/** A FIFO or device node: copied by making a new one (mknod), as BuildKit does. Sockets are not copied. */
export interface SpecialNode {
  kind: 'fifo' | 'char' | 'block';
  major: number;
  minor: number;
}

/** What a FIFO or device is, from its stat; undefined for anything else (sockets included). */
export function specialNodeOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; rdev: number | bigint }): SpecialNode | undefined {
  const kind = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : undefined;
  return kind && { kind, ...(kind === 'fifo' ? { major: 0, minor: 0 } : deviceNumbers(st.rdev)) };
}

const MAX_REMEMBERED_HASHES = 500_000;
/** Content digests by file identity: shared by every build of this agent. */
const rememberedHashes = new Map<string, string>();

export class BuildContext {
  private constructor(
    /** Absolute path of the context directory. */
    readonly dir: string,
    private readonly entries: Map<string, ContextEntry>,
    private readonly stats: Map<string, BigIntStats>,
  ) {}

  /**
   * Walk `dir`, leaving out what `ignoreText` (a .dockerignore's lines) excludes. A directory that
   * is excluded is not descended unless an exception (`!pattern`) could bring something inside back.
   */
  static async open(dir: string, ignoreText = ''): Promise<BuildContext> {
    const root = path.resolve(dir);
    const rootStat = await fs.stat(root, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      throw new BerthError(err.code === 'ENOENT' ? 'not-found' : 'invalid-argument', `build context ${dir}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
    });
    if (!rootStat.isDirectory()) throw new BerthError('invalid-argument', `build context ${dir} is not a directory`);
    const patterns = ignoreText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const matcher = ignore().add(patterns);
    const hasExceptions = patterns.some((p) => p.startsWith('!'));
    const entries = new Map<string, ContextEntry>();
    const stats = new Map<string, BigIntStats>();
    entries.set('', entryOf('', rootStat));
    stats.set('', rootStat);

    // Each directory is listed and its entries stat'ed synchronously: a round trip through the
    // thread pool per entry cost more than the stat (a 10k-file context); the event loop is let
    // through between directories.
    const walk = async (rel: string): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      const subdirs: string[] = [];
      for (const name of readdirSync(path.join(root, rel))) {
        const child = rel === '' ? name : `${rel}/${name}`;
        const st = lstatSync(path.join(root, child), { bigint: true });
        const ignored = patterns.length > 0 && matcher.ignores(child);
        if (st.isDirectory()) {
          if (ignored && !hasExceptions) continue;
          if (!ignored) {
            entries.set(child, entryOf(child, st));
            stats.set(child, st);
          }
          subdirs.push(child);
          continue;
        }
        if (ignored) continue;
        const entry = entryOf(child, st);
        if (entry.type === 'symlink') entry.linkTarget = readlinkSync(path.join(root, child));
        entries.set(child, entry);
        stats.set(child, st);
      }
      for (const dir of subdirs) await walk(dir);
    };
    await walk('');
    // A file kept by an exception inside an excluded directory still needs its directories.
    for (const rel of [...entries.keys()]) {
      for (let parent = path.posix.dirname(rel); parent !== '.' && !entries.has(parent); parent = path.posix.dirname(parent)) {
        const st = await fs.lstat(path.join(root, parent), { bigint: true });
        entries.set(parent, entryOf(parent, st));
        stats.set(parent, st);
      }
    }
    return new BuildContext(root, entries, stats);
  }

  get(rel: string): ContextEntry | undefined {
    return this.entries.get(rel);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries directly inside the directory `rel`, sorted. */
  children(rel: string): ContextEntry[] {
    const prefix = rel === '' ? '' : `${rel}/`;
    const out: ContextEntry[] = [];
    for (const [p, e] of this.entries) {
      if (p !== '' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(e);
    }
    return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }

  /** Every entry below `rel` (not itself), sorted, parents before children. */
  descendants(rel: string): ContextEntry[] {
    const prefix = rel === '' ? '' : `${rel}/`;
    return [...this.entries.values()].filter((e) => e.rel !== '' && e.rel.startsWith(prefix)).sort((a, b) => (a.rel < b.rel ? -1 : 1));
  }

  /** Entries whose path matches a wildcard pattern (`*`, `?`, `[...]` within one path component). */
  match(pattern: string): ContextEntry[] {
    const re = globRegExp(pattern);
    return [...this.entries.values()].filter((e) => e.rel !== '' && re.test(e.rel)).sort((a, b) => (a.rel < b.rel ? -1 : 1));
  }

  /**
   * The entry a source path names, a symlink on the way or at the end followed inside the
   * context (COPY reads what a link in the context points at, never outside it). Undefined when
   * absent or excluded.
   */
  resolve(rel: string): ContextEntry | undefined {
    let parts = rel.split('/').filter(Boolean);
    for (let hops = 0, i = 0; i < parts.length; i++) {
      const here = parts.slice(0, i + 1).join('/');
      const entry = this.entries.get(here);
      if (!entry) return undefined;
      if (entry.type === 'symlink') {
        if (++hops > 40) return undefined;
        const target = entry.linkTarget!;
        const base = target.startsWith('/') ? [] : parts.slice(0, i);
        parts = [...cleanParts([...base, ...target.split('/')]), ...parts.slice(i + 1)];
        i = -1;
      }
    }
    return this.entries.get(parts.join('/'));
  }

  /** The entry's real path on the host (after resolve: never a symlink). */
  hostPath(entry: ContextEntry): string {
    return path.join(this.dir, entry.rel);
  }

  /** sha256 of a regular file's content, remembered by the file's identity and times. */
  async digest(entry: ContextEntry): Promise<string> {
    const st = this.stats.get(entry.rel)!;
    const key = `${this.hostPath(entry)}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}`;
    const known = rememberedHashes.get(key);
    if (known) return known;
    const digest = await hashFile(this.hostPath(entry), Number(st.size));
    if (rememberedHashes.size >= MAX_REMEMBERED_HASHES) rememberedHashes.clear();
    rememberedHashes.set(key, digest);
    return digest;
  }
}

/**
 * sha256 hex of a file's content. A small file is read in one synchronous call: a round trip
 * through the thread pool per file cost more than the hashing (a 10k-file context); a large one is
 * streamed. `size`: what a stat said, only to choose.
 */
export async function hashFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size < SMALL_FILE) hash.update(readFileSync(file));
  else for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const SMALL_FILE = 1024 * 1024;

function entryOf(rel: string, st: BigIntStats): ContextEntry {
  const type: EntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  const node = type === 'other' ? specialNodeOf(st) : undefined;
  return { rel, type, mode: Number(st.mode & 0o7777n), size: Number(st.size), mtimeNs: st.mtimeNs, ...(node ? { node } : {}) };
}

/** Path components with `.` and `..` applied, never above the root. */
export function cleanParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out;
}

/** A Go filepath.Match pattern over a whole '/'-separated path. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern[++i]!);
    else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      // A class as Go's filepath.Match reads it: `^` negates, the escape character escapes.
      let j = i + 1;
      let set = '';
      if (pattern[j] === '^') {
        set += '^';
        j++;
      }
      for (; j < pattern.length && pattern[j] !== ']'; j++) {
        if (pattern[j] === '\\' && j + 1 < pattern.length) {
          const escaped = pattern[++j]!;
          set += escaped === '-' ? '\\-' : escapeRegExp(escaped);
        } else if (pattern[j] === '-') set += '-';
        else set += escapeRegExp(pattern[j]!);
      }
      if (j >= pattern.length) re += '\\[';
      else {
        re += `[${set}]`;
        i = j;
      }
    } else re += escapeRegExp(ch);
  }
  return new RegExp(`^${re}$`, 's');
}

export const hasWildcard = (p: string): boolean => /[*?[]/.test(p);

export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
