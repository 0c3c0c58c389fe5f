// Container logs as conmon writes them (the CRI "k8s-file" format), one record a line:
//   2026-11-27T05:08:29.338128361+00:00 stdout F the text
// F ends a line; P is part of a longer line continued by the next record. Restarts append to
// the same file, so following it follows the container across restarts, and across rotations
// (log-rotation.ts: the file is renamed and a new one made).

import { watch, type FSWatcher } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { rotatedFiles, withLogLock } from './log-rotation';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  /** The line's text without its newline. */
  text: string;
  /** The output ended here without a newline (the last thing a process wrote, so far). */
  partial?: boolean;
}

/** Parse whole records; partial (P) records are joined into the line they belong to. */
export function parseLog(text: string, pending: Map<string, string> = new Map()): LogLine[] {
  const out: LogLine[] = [];
  for (const record of text.split('\n')) {
    if (record === '') continue;
    const a = record.indexOf(' ');
    const b = record.indexOf(' ', a + 1);
    const c = record.indexOf(' ', b + 1);
    if (a < 0 || b < 0) continue;
    const time = record.slice(0, a);
    const stream = record.slice(a + 1, b) as LogLine['stream'];
    const tag = c < 0 ? record.slice(b + 1) : record.slice(b + 1, c);
    const content = c < 0 ? '' : record.slice(c + 1);
    const joined = (pending.get(stream) ?? '') + content;
    if (tag === 'P') {
      pending.set(stream, joined);
      continue;
    }
    pending.delete(stream);
    out.push({ time, stream, text: joined });
  }
  return out;
}

export interface LogOptions {
  follow: boolean;
  /** Only the last N lines (of what exists when the call starts). */
  tail?: number;
  /** When following: resolves when there is nothing more to wait for (the container is gone or exited for good). */
  done?: Promise<void>;
  signal?: AbortSignal;
}

/** Bytes read from a log file at a time: a large log costs this much memory, not its size. */
const CHUNK = 1024 * 1024;

/** Stream a container's log lines to `onLine`: its rotated files (log-rotation.ts) first, oldest first. */
export async function readLogs(file: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
  // Every file is opened at once, under the log's lock (a rotation renames, compresses and removes
  // files meanwhile): what is read is then one consistent set, whatever happens to the names. A
  // --rm container's directory may also be removed right after it exits; its last lines still
  // come out of the open handles.
  const { current, rotated } = await withLogLock(file, async () => {
    const handle = await openIfThere(file);
    const older: Array<{ handle: fs.FileHandle; gzip: boolean }> = [];
    for (const name of await rotatedFiles(file)) {
      const h = await openIfThere(name);
      if (h) older.push({ handle: h, gzip: name.endsWith('.gz') });
    }
    return { current: handle, rotated: older };
  });
  let handle = current;
  if (!handle && rotated.length === 0) return;
  let ino = handle ? (await handle.stat()).ino : -1;
  const pending = new Map<string, string>();
  // With --tail, only the last lines across the files are kept (a window, not the whole log).
  const tail = options.tail === undefined ? undefined : new TailWindow(Math.max(0, options.tail));
  let emit = tail ? (line: LogLine) => tail.push(line) : onLine;
  const records = new RecordSplitter((text) => parseLog(text, pending).forEach(emit));

  try {
    for (const older of rotated) {
      await readRotated(older.handle, older.gzip, (text) => records.push(text));
      records.endOfFile();
    }
  } finally {
    await Promise.all(rotated.map((r) => r.handle.close()));
  }

  let offset = 0;
  const decoder = new StringDecoder('utf8');
  const readMore = async (): Promise<void> => {
    if (!handle) return;
    const size = (await handle.stat()).size;
    // Truncated in place (not by berth: rotation renames): start over from its beginning.
    if (size < offset) {
      offset = 0;
      records.endOfFile();
    }
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size - offset, 1)));
    while (offset < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - offset), offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      records.push(decoder.write(buffer.subarray(0, bytesRead)));
    }
  };
  // Rotated while followed: what is left of the old file, then the new one from its start. The
  // writer closed the old file before it made the new one, so the old one is whole by now.
  const followRotation = async (): Promise<void> => {
    const now = await fs.stat(file).catch(() => undefined);
    if (!now || now.ino === ino) return;
    await readMore();
    records.endOfFile();
    await handle?.close();
    handle = await openIfThere(file);
    ino = handle ? (await handle.stat()).ino : -1;
    offset = 0;
  };
  // What a process wrote after its last newline: shown as it is, as docker shows it.
  const flushPartial = () => {
    for (const [stream, text] of pending) if (text !== '') onLine({ time: new Date().toISOString(), stream: stream as LogLine['stream'], text, partial: true });
    pending.clear();
  };
  let watcher: FSWatcher | undefined;
  try {
    await readMore();
    if (tail) {
      tail.lines().forEach(onLine);
      emit = onLine;
    }
    if (!options.follow) {
      flushPartial();
      return;
    }
    let wake: (() => void) | undefined;
    try {
      // The directory, not the file: the watch then outlives a rotation's rename.
      watcher = watch(path.dirname(file), () => wake?.());
      watcher.on('error', () => {});
    } catch {
      // polling below is enough
    }
    let finished = false;
    void options.done?.then(() => {
      finished = true;
      wake?.();
    });
    options.signal?.addEventListener('abort', () => {
      finished = true;
      wake?.();
    });
    while (!finished) {
      // A watch can miss events: poll as well, gently.
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 250);
      });
      await readMore();
      await followRotation();
    }
    await readMore();
    flushPartial();
  } finally {
    watcher?.close();
    await handle?.close();
  }
}

/** Whole records (lines) out of text that comes in pieces; a file's unterminated end is dropped at its end. */
class RecordSplitter {
  private carry = '';

  constructor(private readonly onRecords: (text: string) => void) {}

  push(text: string): void {
    const all = this.carry + text;
    const cut = all.lastIndexOf('\n');
    if (cut < 0) {
      this.carry = all;
      return;
    }
    this.carry = all.slice(cut + 1);
    this.onRecords(all.slice(0, cut + 1));
  }

  /** conmon writes whole records: a piece without its newline at a file's end is not one. */
  endOfFile(): void {
    this.carry = '';
  }
}

/** The last `size` lines pushed, in order (amortized O(1) a line). */
class TailWindow {
  private buffer: LogLine[] = [];

  constructor(private readonly size: number) {}

  push(line: LogLine): void {
    if (this.size === 0) return;
    this.buffer.push(line);
    if (this.buffer.length >= 2 * this.size) this.buffer = this.buffer.slice(-this.size);
  }

  lines(): LogLine[] {
    return this.buffer.slice(-this.size);
  }
}

async function openIfThere(file: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A rotated file's text in pieces (gunzipped as it is read). */
async function readRotated(handle: fs.FileHandle, gzip: boolean, onText: (text: string) => void): Promise<void> {
  const raw = handle.createReadStream({ autoClose: false, start: 0, highWaterMark: CHUNK });
  const source = gzip ? raw.pipe(createGunzip()) : raw;
  source.setEncoding('utf8');
  for await (const text of source) onText(text as string);
}
