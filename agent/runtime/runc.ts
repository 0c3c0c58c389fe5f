// runc's command line under the agent's own --root: one call per verb, its failures as
// BerthErrors. runc logs as JSON lines on stderr (--log-format json), so its own message is
// told apart from anything else written there.

import { randomBytes } from 'node:crypto';
import { closeSync, writeSync } from 'node:fs';
import { access } from 'node:fs/promises';
import * as tty from 'node:tty';
import { join } from 'node:path';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { BerthError, type ErrorCode } from '../../proto/errors';
import { berthFs } from '../native';

export type RuncStatus = 'created' | 'running' | 'stopped' | 'paused';

export interface RuncState {
  status: RuncStatus;
  /** The container's init process as seen from the host; 0 once stopped. */
  pid: number;
  bundle: string;
}

export interface RuncResult {
  code: number;
  stdout: string;
  /** runc's own error messages (level error/fatal), newest last. */
  errors: string[];
}

/** runc's messages that mean a state, not a fault; matched in lower case. */
const NOT_FOUND = 'container does not exist';
const NOT_RUNNING = ['container not running', 'process already finished', 'no such process'];

/** The error lines of runc's JSON log (stderr or --log file); other lines are kept verbatim. */
export function runcErrors(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' || entry.level === 'fatal') out.push(String(entry.msg));
    } catch {
      // Not JSON: runc's fatal() also prints the bare message when logging to a file.
      out.push(line.trim());
    }
  }
  return out;
}

export class Runc {
  /** Prefix of every call: the binary's global options. */
  private readonly globals: string[];

  constructor(readonly binary: string, readonly root: string, private readonly timeoutMs = 30_000) {
    this.globals = ['--root', root, '--log-format', 'json'];
  }

  /** Global options for a call made elsewhere (exec with pipes), runc's log to `logFile`. */
  argsWithLog(logFile: string, args: string[]): string[] {
    return ['--root', this.root, '--log', logFile, '--log-format', 'json', ...args];
  }

  run(args: string[]): Promise<RuncResult> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, [...this.globals, ...args], { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          // Not an exit status: runc could not be run at all, or timed out.
          const why = err.killed ? `timed out after ${this.timeoutMs} ms` : err.message;
          reject(new BerthError('internal', `runc ${args[0]}: ${why}`, { cause: err }));
          return;
        }
        resolve({ code: err ? (err.code as number) : 0, stdout, errors: runcErrors(stderr) });
      });
    });
  }

  /**
   * Does runc hold state for this id? Its state directory says so without running runc (a run
   * costs ~5-10 ms, on every create).
   */
  async has(id: string): Promise<boolean> {
    return access(join(this.root, id, 'state.json')).then(() => true, () => false);
  }

  /** undefined: runc knows no such container. */
  async state(id: string): Promise<RuncState | undefined> {
    const r = await this.run(['state', id]);
    if (r.code !== 0) {
      if (mentions(r, NOT_FOUND)) return undefined;
      throw failure('state', id, r);
    }
    const s = JSON.parse(r.stdout) as { status: RuncStatus; pid: number; bundle: string };
    return { status: s.status, pid: s.status === 'stopped' ? 0 : s.pid, bundle: s.bundle };
  }

  async start(id: string): Promise<void> {
    const r = await this.run(['start', id]);
    if (r.code === 0) return;
    if (mentions(r, NOT_FOUND)) throw failure('start', id, r, 'not-found');
    // "cannot start a container that has stopped", "...already running container".
    if (mentions(r, 'cannot start')) throw failure('start', id, r, 'failed-precondition');
    throw failure('start', id, r);
  }

  /** Signal the init process; a container that has already stopped is not an error. */
  async kill(id: string, signal: string): Promise<void> {
    const r = await this.run(['kill', id, signal]);
    if (r.code === 0 || NOT_RUNNING.some((m) => mentions(r, m))) return;
    if (mentions(r, NOT_FOUND)) throw failure('kill', id, r, 'not-found');
    if (mentions(r, 'invalid signal') || mentions(r, 'unknown signal')) throw failure('kill', id, r, 'invalid-argument');
    throw failure('kill', id, r);
  }

  /**
   * Freeze every process of the container (the cgroup freezer: v1 freezer.state, v2
   * cgroup.freeze). A container whose process has ended is 'failed-precondition'.
   */
  async pause(id: string): Promise<void> {
    const r = await this.run(['pause', id]);
    if (r.code === 0) return;
    if (mentions(r, NOT_FOUND)) throw failure('pause', id, r, 'not-found');
    if (mentions(r, 'not running')) throw failure('pause', id, r, 'failed-precondition');
    throw failure('pause', id, r);
  }

  /** Thaw what `pause` froze; a container not paused (or gone) is left as it is. */
  async resume(id: string): Promise<void> {
    const r = await this.run(['resume', id]);
    if (r.code === 0 || mentions(r, 'not paused') || mentions(r, NOT_FOUND)) return;
    throw failure('resume', id, r);
  }

  /** Idempotent: a container runc does not know is already deleted. */
  async delete(id: string, force: boolean): Promise<void> {
    const r = await this.run(['delete', ...(force ? ['--force'] : []), id]);
    if (r.code === 0 || mentions(r, NOT_FOUND)) return;
    // "cannot delete container X that is not stopped: running"
    if (mentions(r, 'not stopped')) throw failure('delete', id, r, 'failed-precondition');
    throw failure('delete', id, r);
  }
}

const mentions = (r: RuncResult, text: string) => r.errors.some((e) => e.toLowerCase().includes(text));

function failure(verb: string, id: string, r: RuncResult, code: ErrorCode = 'internal'): BerthError {
  const why = r.errors.at(-1) ?? `exit status ${r.code}`;
  return new BerthError(code, `container ${id}: runc ${verb}: ${why}`);
}

/** A pseudo-terminal for a process: its first size, and how later sizes reach it. */
export interface TerminalControl {
  rows: number;
  cols: number;
  /** Receives the function that resizes the terminal; the caller calls it on each change. */
  onResize(resize: (rows: number, cols: number) => void): void;
}

/**
 * A client's terminal size as it changes, for a process that starts a little later (exec -t): the
 * process's terminal starts at the latest size given, and later changes reach it. A change that
 * came before the terminal existed is not lost.
 */
export class ClientTerminal implements TerminalControl {
  private apply: ((rows: number, cols: number) => void) | undefined;

  constructor(public rows: number, public cols: number) {}

  onResize(apply: (rows: number, cols: number) => void): void {
    this.apply = apply;
  }

  resize(rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
    this.apply?.(rows, cols);
  }
}

export interface PipeIo {
  /** Run on a terminal: output comes through onStdout only, stdin is typed input. */
  terminal?: TerminalControl;
  stdin?: NodeJS.ReadableStream;
  onStdout(b: Buffer): void;
  onStderr(b: Buffer): void;
  /**
   * Ends the process early (a probe's timeout): runc passes SIGTERM on to it; runc itself is
   * killed a moment later if it is still there.
   */
  signal?: AbortSignal;
}

/**
 * An abort ends the process: SIGTERM (runc passes it on), SIGKILL if it is still there 2 s later.
 * Returns what stops listening once the process is gone.
 */
function killOnAbort(child: ChildProcess, signal: AbortSignal | undefined): () => void {
  const abort = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  };
  if (signal?.aborted) abort();
  else signal?.addEventListener('abort', abort, { once: true });
  return () => signal?.removeEventListener('abort', abort);
}

/** A process's exit code as a shell reports it: 128+n for signal n. */
const exitCodeOf = (code: number | null, sig: NodeJS.Signals | null): number => code ?? 128 + (sig ? osConstants.signals[sig] : 0);

/**
 * runc in the foreground on a pseudo-terminal of ours (for a process spec with terminal: true):
 * runc makes the container's own terminal and relays between it and its stdio, ours; a resize
 * sets our terminal's size and tells runc (SIGWINCH), which passes the size on. Resolves to the
 * exit code as runWithPipes does.
 */
export function runWithTerminal(binary: string, args: string[], io: PipeIo & { terminal: TerminalControl }): Promise<number> {
  const native = berthFs();
  const [master, slave] = native.openPty();
  native.setWinsize(master, io.terminal.rows, io.terminal.cols);
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(binary, args, { stdio: [slave, slave, slave] });
    } catch (err) {
      closeSync(slave);
      closeSync(master);
      throw err;
    }
    // Our end of the terminal stays open until its output is read to the end. Read until EIO
    // instead, and Linux may answer EIO while the last few KiB the process wrote are still on
    // their way: the tail of a burst was lost. So once the process is gone, a marker is written
    // after its output (a terminal keeps order) and the output is whatever comes before it.
    const term = new tty.ReadStream(master);
    term.on('error', () => undefined);
    let marker: Buffer | undefined;
    let held: Buffer = Buffer.alloc(0);
    let finish: (() => void) | undefined;
    term.on('data', (b: Buffer) => {
      if (!marker) return io.onStdout(b);
      held = held.length ? Buffer.concat([held, b]) : b;
      const at = held.indexOf(marker);
      if (at >= 0) {
        held = held.subarray(0, at);
        finish?.();
      }
    });
    io.terminal.onResize((rows, cols) => {
      try {
        native.setWinsize(master, rows, cols);
        child.kill('SIGWINCH');
      } catch {
        // the process is gone
      }
    });
    if (io.stdin) {
      io.stdin.on('data', (b: Buffer) => term.write(b));
      // The end of typed input is ctrl-D on a terminal.
      io.stdin.on('end', () => term.write(Buffer.from([4])));
    }
    const stopOnAbort = killOnAbort(child, io.signal);
    child.on('error', (err) => reject(new BerthError('internal', `cannot run ${binary}: ${err.message}`, { cause: err })));
    child.on('close', (code, sig) => {
      stopOnAbort();
      let done = false;
      finish = () => {
        if (done) return;
        done = true;
        clearTimeout(giveUp);
        if (held.length) io.onStdout(held);
        closeSync(slave);
        term.destroy();
        resolve(exitCodeOf(code, sig));
      };
      // Bounded, should the marker never come back (a process elsewhere that took the terminal).
      const giveUp = setTimeout(() => finish?.(), 5000);
      marker = Buffer.from(`\u0000berth-end-${randomBytes(12).toString('hex')}\u0000`);
      try {
        writeSync(slave, marker);
      } catch {
        finish();
      }
    });
  });
}

/** runc with pipes; the exit code of the process (128+n for a signal, as a shell reports it). */
export function runWithPipes(binary: string, args: string[], io: PipeIo): Promise<number> {
  if (io.terminal) return runWithTerminal(binary, args, io as PipeIo & { terminal: TerminalControl });
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => io.onStdout(b));
    child.stderr!.on('data', (b: Buffer) => io.onStderr(b));
    if (io.stdin && child.stdin) {
      // A process that exits without reading all of its input is not an error of ours.
      child.stdin.on('error', () => undefined);
      io.stdin.pipe(child.stdin);
    }
    const stopOnAbort = killOnAbort(child, io.signal);
    child.on('error', (err) => reject(new BerthError('internal', `cannot run ${binary}: ${err.message}`, { cause: err })));
    // 'close', not 'exit': all output has been delivered by then.
    child.on('close', (code, sig) => {
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
      stopOnAbort();
      resolve(exitCodeOf(code, sig));
    });
  });
}
