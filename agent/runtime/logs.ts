// Container logs as conmon writes them (the CRI "k8s-file" format), one record a line:
//   2026-11-27T05:08:29.338128361+00:00 stdout F the text
// F ends a line; P is part of a longer line continued by the next record. Restarts append to
// the same file, so following it follows the container across restarts, and across rotations
// (log-rotation.ts: the file is renamed and a new one made).

import { watch, type FSWatcher } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { rotatedFiles } from './log-rotation';

const gunzipAsync = promisify(gunzip);

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

/** Stream a container's log lines to `onLine`: its rotated files (log-rotation.ts) first, oldest first. */
export async function readLogs(file: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
  // One open handle at a time: a --rm container's directory (log included) may be removed right
  // after it exits, and its last lines must still come out.
  let handle = await openIfThere(file);
  const older = await rotatedFiles(file);
  if (!handle && older.length === 0) return;
  let ino = handle ? (await handle.stat()).ino : -1;
  let offset = 0;
  let carry = '';
  const pending = new Map<string, string>();
  // With --tail, the first lines are gathered across the files and only the last ones shown.
  const initial: LogLine[] = [];
  let emit = options.tail === undefined ? onLine : (line: LogLine) => void initial.push(line);

  for (const rotated of older) {
    // Rotated between the open and the listing: it is the file the handle reads.
    if (!rotated.endsWith('.gz') && (await fs.stat(rotated).then((st) => st.ino, () => -2)) === ino) continue;
    const text = await readWhole(rotated);
    if (text !== undefined) parseLog(text.slice(0, text.lastIndexOf('\n') + 1), pending).forEach(emit);
  }

  const readMore = async (): Promise<void> => {
    if (!handle) return;
    const size = (await handle.stat()).size;
    // Truncated in place (not by berth: rotation renames): start over from its beginning.
    if (size < offset) {
      offset = 0;
      carry = '';
    }
    if (size === offset) return;
    const buffer = Buffer.alloc(size - offset);
    let got = 0;
    while (got < buffer.length) {
      const { bytesRead } = await handle.read(buffer, got, buffer.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    offset += got;
    const text = carry + buffer.subarray(0, got).toString('utf8');
    const cut = text.lastIndexOf('\n');
    carry = text.slice(cut + 1);
    parseLog(text.slice(0, cut + 1), pending).forEach(emit);
  };
  // Rotated while followed: what is left of the old file, then the new one from its start. The
  // writer closed the old file before it made the new one, so the old one is whole by now.
  const followRotation = async (): Promise<void> => {
    const now = await fs.stat(file).catch(() => undefined);
    if (!now || now.ino === ino) return;
    await readMore();
    await handle?.close();
    handle = await openIfThere(file);
    ino = handle ? (await handle.stat()).ino : -1;
    offset = 0;
    carry = '';
  };
  // What a process wrote after its last newline: shown as it is, as docker shows it.
  const flushPartial = () => {
    for (const [stream, text] of pending) if (text !== '') onLine({ time: new Date().toISOString(), stream: stream as LogLine['stream'], text, partial: true });
    pending.clear();
  };
  let watcher: FSWatcher | undefined;
  try {
    await readMore();
    if (options.tail !== undefined) {
      (options.tail <= 0 ? [] : initial.slice(-options.tail)).forEach(onLine);
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

async function openIfThere(file: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A rotated file's text (gunzipped), or undefined if a rotation removed it meanwhile. */
async function readWhole(file: string): Promise<string | undefined> {
  try {
    const bytes = await fs.readFile(file);
    return (file.endsWith('.gz') ? await gunzipAsync(bytes) : bytes).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
