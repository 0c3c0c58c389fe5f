// The user's side of an attached session (run -it, attach, exec -it): the local terminal in raw
// mode while attached, its size sent at the start and on every change, and docker's detach keys
// (ctrl-p ctrl-q by default) recognised in what is typed.

import { CliError } from './errors';

export interface TerminalSize {
  rows: number;
  cols: number;
}

/** The size of the terminal we write to, if it is one. */
export function localSize(): TerminalSize | undefined {
  const out = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  return out?.rows && out.columns ? { rows: out.rows, cols: out.columns } : undefined;
}

/**
 * Put stdin in raw mode (keys go to the container as typed: its terminal does the echoing and
 * the line editing) and call `onResize` on each window change; returns the undo.
 */
export function rawTerminal(onResize: (size: TerminalSize) => void): () => void {
  const wasRaw = process.stdin.isTTY ? process.stdin.isRaw : false;
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  const out = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  const resized = () => {
    const size = localSize();
    if (size) onResize(size);
  };
  out?.on('resize', resized);
  return () => {
    out?.off('resize', resized);
    if (process.stdin.isTTY) process.stdin.setRawMode(wasRaw);
  };
}

const KEY_NAMES: Record<string, number> = { 'ctrl-@': 0, 'ctrl-[': 27, 'ctrl-\\': 28, 'ctrl-]': 29, 'ctrl-^': 30, 'ctrl-_': 31 };

/** --detach-keys: "ctrl-p,ctrl-q" (docker's default), letters, or ctrl- with a letter or one of @[\]^_. */
export function parseDetachKeys(spec: string): Buffer {
  const bytes = spec.split(',').map((key) => {
    const k = key.trim().toLowerCase();
    if (/^ctrl-[a-z]$/.test(k)) return k.charCodeAt(5) - 96;
    if (k in KEY_NAMES) return KEY_NAMES[k]!;
    if (/^[a-z]$/.test(key.trim())) return key.trim().charCodeAt(0);
    throw new CliError(`invalid detach keys "${spec}": a comma-separated list of keys such as ctrl-p,ctrl-q`);
  });
  return Buffer.from(bytes);
}

/**
 * Watches typed input for the detach sequence. Bytes that could start it are held back until it
 * is complete (detach) or broken (they are sent after all), as docker's proxy does.
 */
export class DetachWatcher {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  /** What to send of `chunk`, and whether the sequence completed in it. */
  feed(chunk: Buffer): { send: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { send: Buffer.from(out), detach: true };
        continue;
      }
      if (this.held > 0) {
        out.push(...this.keys.subarray(0, this.held));
        this.held = 0;
        if (byte === this.keys[0]) {
          this.held = 1;
          continue;
        }
      }
      out.push(byte);
    }
    return { send: Buffer.from(out), detach: false };
  }
}
