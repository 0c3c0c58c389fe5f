// Attaching to a running container's stdio through its monitor, as podman does with conmon:
// conmon's attach socket (<sockets>/<id>/attach, SOCK_SEQPACKET) carries the container's output
// to every attached client, a byte naming the stream before each chunk, and takes the clients'
// bytes as the container's stdin (when it was started with one). The native bridge turns the
// packets into a stream socket Node can read. A terminal's size goes through conmon's ctl fifo
// in the bundle ("1 ROWS COLS\n").

import { closeSync, constants, openSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { BerthError } from '../../proto/errors';
import { berthFs } from '../native';

/** conmon's pipe bytes. */
const PIPE_STDOUT = 2;
const PIPE_STDERR = 3;

export interface AttachSession extends EventEmitter {
  /** Output as it comes: ('output', stream, data); 'end' when the container's output ends (it exited, or detach). */
  on(event: 'output', listener: (stream: 'stdout' | 'stderr', data: Buffer) => void): this;
  on(event: 'end', listener: () => void): this;
  /** Typed input, when the container has an open stdin. */
  write(data: Buffer): void;
  /** No more input: the container's stdin ends (unless it is a terminal's, which outlives a client). */
  endInput(): void;
  /** Leave: the container goes on. */
  close(): void;

  /** Resolves once the output has ended (whenever one waits for it: it may have ended already). */
  readonly done: Promise<void>;
}

/** Connect to the container's attach socket (its directory under `socketsDir`). */
export function attachTo(socketsDir: string, id: string): AttachSession {
  // The socket's full path can be longer than a unix address allows: reach it through a
  // descriptor on its directory instead.
  let dirFd: number;
  try {
    dirFd = openSync(join(socketsDir, id), constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw new BerthError('failed-precondition', `container ${id} has no monitor to attach to (${(err as NodeJS.ErrnoException).code})`);
  }
  let fd: number;
  try {
    fd = berthFs().attachBridge(`/proc/self/fd/${dirFd}/attach`);
  } catch (err) {
    throw new BerthError('failed-precondition', `cannot attach to container ${id}: ${(err as Error).message}`);
  } finally {
    closeSync(dirFd);
  }
  const socket = new net.Socket({ fd, readable: true, writable: true });
  const session = new EventEmitter() as AttachSession;
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      const pipe = pending[0]!;
      const data = pending.subarray(5, 5 + length);
      pending = pending.subarray(5 + length);
      if (pipe === PIPE_STDOUT || pipe === PIPE_STDERR) session.emit('output', pipe === PIPE_STDERR ? 'stderr' : 'stdout', data);
    }
  });
  let ended = false;
  let resolveDone!: () => void;
  (session as { done: Promise<void> }).done = new Promise<void>((resolve) => (resolveDone = resolve));
  const end = () => {
    if (ended) return;
    ended = true;
    resolveDone();
    session.emit('end');
  };
  socket.on('end', end);
  socket.on('close', end);
  socket.on('error', end);
  session.write = (data) => {
    if (!socket.destroyed) socket.write(data);
  };
  session.endInput = () => {
    if (!socket.destroyed) socket.end();
  };
  session.close = () => socket.destroy();
  return session;
}

/** Tell the monitor the container's terminal size (it resizes the terminal; the process gets SIGWINCH). */
export async function resizeTerminal(bundle: string, rows: number, cols: number): Promise<void> {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0 || rows > 1000 || cols > 1000) {
    throw new BerthError('invalid-argument', `invalid terminal size ${rows}x${cols}`);
  }
  await tellMonitor(bundle, `1 ${rows} ${cols}\n`, 'resize the terminal');
}

/** Have the monitor close its log file and make a new one at the same path (a rotation). */
export function reopenLog(bundle: string): Promise<void> {
  return tellMonitor(bundle, '2 0 0\n', 'reopen the log');
}

/**
 * One message on conmon's control fifo: "TYPE HEIGHT WIDTH\n", 1 a resize, 2 reopen the logs.
 * Non-blocking: with no monitor reading it, the open fails (ENXIO) rather than hang.
 */
async function tellMonitor(bundle: string, message: string, what: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new BerthError('failed-precondition', `cannot ${what}: ${(err as NodeJS.ErrnoException).code}`);
  }
  try {
    await handle.write(message);
  } finally {
    await handle.close();
  }
}
