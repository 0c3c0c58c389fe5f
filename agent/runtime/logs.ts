// Container logs as conmon writes them (the CRI "k8s-file" format), one record a line:
//   2026-11-27T05:08:29.338128361+00:00 stdout F the text
// F ends a line; P is part of a longer line continued by the next record. Restarts append to
// the same file, so following it follows the container across restarts.

import { watch, type FSWatcher } from 'node:fs';
import * as fs from 'node:fs/promises';

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

/** Stream a container's log lines to `onLine`. */
export async function readLogs(file: string, options: LogOptions, onLine: (line: LogLine) => void): Promise<void> {
  // One open handle for the whole read: a --rm container's directory (log included) may be
  // removed right after it exits, and its last lines must still come out.
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  let offset = 0;
  let carry = '';
  const pending = new Map<string, string>();
  const readMore = async (first: boolean): Promise<void> => {
    const size = (await handle.stat()).size;
    // conmon's size cap truncates the file in place: start over from its beginning.
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
    let lines = parseLog(text.slice(0, cut + 1), pending);
    if (first && options.tail !== undefined) lines = options.tail <= 0 ? [] : lines.slice(-options.tail);
    lines.forEach(onLine);
  };
  // What a process wrote after its last newline: shown as it is, as docker shows it.
  const flushPartial = () => {
    for (const [stream, text] of pending) if (text !== '') onLine({ time: new Date().toISOString(), stream: stream as LogLine['stream'], text, partial: true });
    pending.clear();
  };
  let watcher: FSWatcher | undefined;
  try {
    await readMore(true);
    if (!options.follow) {
      flushPartial();
      return;
    }
    let wake: (() => void) | undefined;
    try {
      watcher = watch(file, () => wake?.());
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
      await readMore(false);
    }
    await readMore(false);
    flushPartial();
  } finally {
    watcher?.close();
    await handle.close();
  }
}
