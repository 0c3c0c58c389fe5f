// A container's termination message, as the kubelet keeps it: each container gets a file of its own
// on the host, bind-mounted at its terminationMessagePath (default /dev/termination-log) and
// writable by any user; once the container ends, what it wrote there (at most 4 KiB) is the
// message of its terminated state. Under terminationMessagePolicy FallbackToLogsOnError, a
// container that failed and wrote nothing gets the tail of its log instead (its last 80 lines, at
// most 2 KiB). A container restarted by the runtime keeps its file: what is there counts for a run
// only if the file changed since the run before it (an earlier run's message is not this one's):
// the file is not the one read for the previous run (its size and modification time), and it was
// written after that run ended.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Container } from '../../proto/resources';

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** The kubelet's limits. */
export const MAX_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const MAX_FALLBACK_BYTES = 2048;

/** Where a container's message file is kept under its pod's directory. */
export function messageFileOf(podDir: string, container: string): string {
  return path.join(podDir, 'termination', container);
}

/** Make the (empty) message file, world-writable, before the container is created; its bind mount. */
export async function prepareMessageFile(podDir: string, container: Container): Promise<{ source: string; destination: string; readonly: false }> {
  const file = messageFileOf(podDir, container.name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Emptied: a container made again (its spec changed) starts without the old one's message.
  await fs.writeFile(file, '');
  // Any user the container runs as may write its message (the kubelet makes it 0666 too).
  await fs.chmod(file, 0o666);
  return { source: file, destination: container.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH, readonly: false };
}

/** Which version of a message file was read: its size and modification time. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/**
 * The file's message, cut to the kubelet's limit ('' when there is none), with the stamp of what was
 * read. Not this run's (''): the very file read for the previous run (`previous`), or one last
 * written before the previous run ended (`previousRunEnded`; a time of coarser precision than the
 * file's is why the stamp is compared first).
 */
export async function readMessageFile(podDir: string, container: string, previousRunEnded?: string, previous?: FileStamp): Promise<{ message: string; stamp?: FileStamp }> {
  const handle = await fs.open(messageFileOf(podDir, container), 'r').catch(() => undefined);
  if (!handle) return { message: '' };
  try {
    const { size, mtimeMs } = await handle.stat();
    const stamp = { size, mtimeMs };
    if (previous && previous.size === size && previous.mtimeMs === mtimeMs) return { message: '', stamp };
    const since = previousRunEnded ? Date.parse(previousRunEnded) : NaN;
    if (!Number.isNaN(since) && mtimeMs <= since) return { message: '', stamp };
    const buffer = Buffer.alloc(MAX_MESSAGE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, MAX_MESSAGE_BYTES, 0);
    return { message: buffer.subarray(0, bytesRead).toString('utf8'), stamp };
  } finally {
    await handle.close();
  }
}

/** The message of an ended run: the file's, else (FallbackToLogsOnError, a failure) the log's tail. Pure. */
export function terminationMessage(container: Container, exitCode: number, fileMessage: string, logTail: () => readonly string[]): string {
  if (fileMessage !== '') return fileMessage;
  if (container.terminationMessagePolicy !== 'FallbackToLogsOnError' || exitCode === 0) return '';
  const text = logTail().slice(-FALLBACK_LOG_LINES).join('\n');
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= MAX_FALLBACK_BYTES ? text : bytes.subarray(bytes.length - MAX_FALLBACK_BYTES).toString('utf8');
}
