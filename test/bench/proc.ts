// Child processes for the benchmark: timed commands, long-running daemons, and RSS sampling.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in seconds. */
  seconds: number;
}

export interface CommandOptions extends SpawnOptions {
  /** Called with each complete stdout line and the seconds since spawn. */
  onLine?: (line: string, at: number) => void;
  /** Called right after the spawn, with the child (e.g. to sample it). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Run a command to completion and time it; rejects on a non-zero exit. */
export async function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const { onLine, onSpawn, ...spawnOpts } = opts;
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
  onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const s = d.toString();
    stdout += s;
    if (!onLine) return;
    const at = Number(process.hrtime.bigint() - started) / 1e9;
    const lines = (partial + s).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line, at);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal, seconds] = await new Promise<[number | null, NodeJS.Signals | null, number]>((resolve, reject) => {
    let exited: [number | null, NodeJS.Signals | null, number] | undefined;
    child.once('error', reject);
    child.once('exit', (c, s) => (exited = [c, s, Number(process.hrtime.bigint() - started) / 1e9]));
    child.once('close', () => resolve(exited!));
  });
  const result = { code, signal, stdout, stderr, seconds };
  if (code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${(stderr || stdout).trim().slice(-2000)}`);
  }
  return result;
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Start a long-running process whose output is kept (for failure messages). */
export function startDaemon(cmd: string, args: string[], opts: SpawnOptions = {}): Daemon {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 1 << 20) out = out.slice(-(1 << 19));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => (out += `\nspawn error: ${err.message}\n`));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Poll `check` every `intervalMs` until it returns true; fail with `describe()` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, describe: () => string, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms: ${describe().slice(-2000)}`);
}

/** VmRSS and VmHWM of a process, in bytes (undefined once it is gone). */
export function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples a process' VmRSS every `intervalMs` and keeps the peak. */
export class RssSampler {
  peak = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number, private readonly intervalMs = 50) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    const m = memoryOf(this.pid);
    if (!m) return;
    this.samples++;
    if (m.rss > this.peak) this.peak = m.rss;
  }
}

/** Busy CPU seconds of the whole machine so far (every process, anyone's): differences time a span. */
export function machineBusy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  return (f.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / TICK;
}
