// conmon, the per-container monitor: how it is started, where it leaves its records, and how
// they are read back — also by an agent that did not start it.
//
// conmon double-forks: the process we spawn exits within milliseconds and the real monitor,
// reparented, runs `runc create`, holds the container's stdio, writes the k8s-file log and,
// when the container's process ends, the exit file. It reports the create on the sync pipe
// (fd 3): one JSON object `{"data": pid}`, or `{"data": -1, "message": "..."}`, or nothing at
// all (EOF) when it fails before it gets that far.
//
// Everything conmon writes that is keyed by the container lives under stateDir:
//   exits/<id>               exit code (decimal), written when the process ended; mtime = when
//   persist/<id>/exit, oom   the same code again; oom present if the cgroup saw an OOM kill
//   persist/<id>/conmon.pid  the monitor; persist/<id>/ctr.pid the container's init
//   persist/<id>/conmon.log  the monitor's own stderr (it is never a pipe to us: a monitor
//                            that outlives the agent must not die of SIGPIPE on a warning)
//   sockets/<id>             symlink to the bundle (conmon's attach socket dir)
// and in the bundle: the ctl and winsz fifos.

import { spawn } from 'node:child_process';
import { closeSync, openSync, watch, type FSWatcher } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../proto/errors';

export interface ConmonLayout {
  exitsDir: string;
  persistRoot: string;
  socketsDir: string;
}

export const layoutOf = (stateDir: string): ConmonLayout => ({
  exitsDir: join(stateDir, 'exits'),
  persistRoot: join(stateDir, 'persist'),
  socketsDir: join(stateDir, 'sockets'),
});

export const persistDir = (l: ConmonLayout, id: string) => join(l.persistRoot, id);
const conmonPidFile = (l: ConmonLayout, id: string) => join(persistDir(l, id), 'conmon.pid');

export interface ConmonSpawn {
  conmon: string;
  runc: string;
  runcRoot: string;
  layout: ConmonLayout;
  id: string;
  bundle: string;
  logPath: string;
  timeoutMs: number;
  /** The process runs on a terminal conmon allocates (its output then is one stream). */
  terminal?: boolean;
  /** conmon keeps a pipe for stdin fed from its attach socket; `leaveStdinOpen`: not closed when an attached client leaves. */
  stdin?: boolean;
  leaveStdinOpen?: boolean;
}

/** What the sync pipe said: the container's init pid, or the runtime's failure message. */
export type SyncResult = { pid: number } | { message: string };

/**
 * Start a monitor that runs `runc create` for an existing bundle; resolves with what it
 * reported on the sync pipe. The persist dir must exist first (or conmon silently records no
 * exit at all) and is expected to hold no stale records.
 */
export async function spawnConmon(o: ConmonSpawn): Promise<SyncResult> {
  const persist = persistDir(o.layout, o.id);
  const args = [
    '--api-version', '1',
    '-c', o.id, '-u', o.id, '-n', o.id,
    '-r', o.runc, '--runtime-arg', '--root', '--runtime-arg', o.runcRoot,
    '-b', o.bundle,
    '-p', join(persist, 'ctr.pid'),
    '-P', join(persist, 'conmon.pid'),
    '-l', `k8s-file:${o.logPath}`,
    '--exit-dir', o.layout.exitsDir,
    '--persist-dir', persist,
    '--socket-dir-path', o.layout.socketsDir,
    '--syslog=false',
    '--log-level', 'warning',
    ...(o.terminal ? ['--terminal'] : []),
    ...(o.stdin ? ['--stdin'] : []),
    ...(o.stdin && o.leaveStdinOpen ? ['--leave-stdin-open'] : []),
  ];
  const stderr = openSync(join(persist, 'conmon.log'), 'a');
  try {
    const child = spawn(o.conmon, args, {
      cwd: o.bundle,
      detached: true,
      stdio: ['ignore', 'ignore', stderr, 'pipe'],
      env: { _OCI_SYNCPIPE: '3', PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    const sync = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    return await new Promise<SyncResult>((resolve, reject) => {
      let text = '';
      let settled = false;
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // The real monitor keeps its end open for the container's life; ours must not keep
        // the agent's event loop alive, nor hold the conmon child handle.
        sync.destroy();
        child.unref();
        fn();
      };
      const timer = setTimeout(() => done(() => reject(new BerthError('internal', `container ${o.id}: conmon did not report the create within ${o.timeoutMs} ms`))), o.timeoutMs);
      child.on('error', (err) => done(() => reject(new BerthError('internal', `container ${o.id}: cannot run conmon ${o.conmon}: ${err.message}`, { cause: err }))));
      sync.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        // One object is all conmon sends; it may come without a newline and the pipe stays
        // open, so parse whenever a chunk arrives instead of waiting for a line or EOF.
        const msg = parseSync(text);
        if (msg) done(() => resolve(msg));
      });
      sync.on('error', () => undefined);
      sync.on('end', () => done(async () => {
        const log = await fs.readFile(join(persist, 'conmon.log'), 'utf8').catch(() => '');
        const why = log.trim().split('\n').at(-1) || 'it exited without reporting the create';
        reject(new BerthError('internal', `container ${o.id}: conmon failed: ${why}`));
      }));
    });
  } finally {
    closeSync(stderr);
  }
}

function parseSync(text: string): SyncResult | undefined {
  const line = text.split('\n').find((l) => l.trim() !== '');
  if (line === undefined) return undefined;
  let msg: { data?: number; message?: string };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    return undefined; // incomplete yet
  }
  if (typeof msg.data === 'number' && msg.data > 0) return { pid: msg.data };
  return { message: msg.message ?? `conmon reported ${line.trim()}` };
}

/** The monitor's pid, if it recorded one. */
export async function conmonPid(l: ConmonLayout, id: string): Promise<number | undefined> {
  const text = await fs.readFile(conmonPidFile(l, id), 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return pid > 0 ? pid : undefined;
}

/**
 * Is that pid still this container's monitor? Its cmdline names the container (a recycled pid
 * would not), and a zombie is dead: PID 1 here need not reap reparented monitors.
 */
export async function isMonitor(pid: number, id: string): Promise<boolean> {
  const [cmdline, stat] = await Promise.all([
    fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
  ]);
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === '' || state === 'Z' || state === 'X') return false;
  const argv = cmdline.split('\0');
  return argv.some((a, i) => a === '-c' && argv[i + 1] === id);
}

export interface ExitRecord {
  exitCode: number;
  oomKilled: boolean;
  finishedAt: string;
}

/** conmon's record of the process's end, or undefined if there is none (yet). */
export async function readExit(l: ConmonLayout, id: string): Promise<ExitRecord | undefined> {
  const persist = persistDir(l, id);
  for (const file of [join(l.exitsDir, id), join(persist, 'exit')]) {
    let text: string;
    let mtime: Date;
    try {
      [text, { mtime }] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    } catch {
      continue;
    }
    // conmon creates the file and then writes it: an empty one is a record still being made.
    if (text.trim() === '') continue;
    const exitCode = Number.parseInt(text, 10);
    if (!Number.isInteger(exitCode)) continue;
    const oomKilled = await fs.access(join(persist, 'oom')).then(() => true, () => false);
    return { exitCode, oomKilled, finishedAt: mtime.toISOString() };
  }
  return undefined;
}

/** Forget a container's records so that a new create under the same id starts clean. */
export async function removeRecords(l: ConmonLayout, id: string, bundle?: string): Promise<void> {
  const gone = (p: string, recursive = false) => fs.rm(p, { force: true, recursive });
  await Promise.all([
    gone(join(l.exitsDir, id)),
    gone(persistDir(l, id), true),
    gone(join(l.socketsDir, id)),
    ...(bundle ? ['ctl', 'winsz', 'attach'].map((f) => gone(join(bundle, f))) : []),
  ]);
}

/**
 * One fs.watch on the exits dir shared by all waiters (a watch each would cost an inotify
 * watch per container); open while anyone waits. Events only prompt a re-check, so a
 * coalesced or missed event costs at most one poll period.
 */
export class ExitWatch {
  private watcher: FSWatcher | undefined;
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(private readonly dir: string) {}

  on(id: string, fn: () => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    this.open();
    return () => {
      set!.delete(fn);
      if (set!.size === 0) this.listeners.delete(id);
      if (this.listeners.size === 0) this.close();
    };
  }

  private open() {
    if (this.watcher) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name) this.listeners.get(name.toString())?.forEach((fn) => fn());
        else this.listeners.forEach((set) => set.forEach((fn) => fn()));
      });
      this.watcher.on('error', () => this.close());
    } catch {
      // No inotify (limits reached): the waiters' polling still finds the exit.
    }
  }

  private close() {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
