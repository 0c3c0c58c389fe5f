// The low-level OCI runtime: runc driven through conmon, one monitor per container.
//
// Lifecycle of one id: create (config.json written, conmon started, `runc create` done: the
// container exists in state "created", its process waits) -> start (the process runs) ->
// the process ends (conmon writes the exit file and exits) -> delete (runc state, cgroup and
// conmon's records gone). create may follow delete under the same id (a restart).
// Every record lives in files (runc --root, stateDir), so a new agent process — a new
// OciRuntime over the same directories — sees exactly what the old one did: containers and
// their monitors outlive the agent.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { attachTo, reopenLog, resizeTerminal, type AttachSession } from './attach';
import { BerthError, type ErrorCode } from '../../proto/errors';
import {
  conmonPid, ExitWatch, isMonitor, layoutOf, persistDir, readExit, removeRecords, spawnConmon,
} from './conmon';
import { Runc, runcErrors, runWithPipes, type PipeIo, type RuncStatus } from './runc';

export interface OciRuntimeOptions {
  /** The runc binary, e.g. /usr/sbin/runc. */
  runc: string;
  conmon: string;
  /** runc --root: the agent's own, never shared with another engine. */
  root: string;
  /** conmon's exits/, persist/ and sockets/ live here (created if missing). */
  stateDir: string;
  /** How long a create may take before it is given up (default 60 s). */
  createTimeoutMs?: number;
  /** Poll period of waitExit, the fallback for missed fs events and lost monitors (default 1 s). */
  pollMs?: number;
}

export interface CreateOptions {
  id: string;
  /** The bundle directory; config.json is written there from `spec`. */
  bundle: string;
  spec: object;
  /** k8s-file log; appended to if it exists (a restart keeps one log). */
  logPath: string;
  /** A terminal (spec.process.terminal must say so too) and an open stdin, as ContainerConfig's tty/openStdin. */
  terminal?: boolean;
  stdin?: boolean;
  /** stdin closes when the first attached client leaves. */
  stdinOnce?: boolean;
}

export interface Created {
  /** The container's init process. */
  pid: number;
  conmonPid: number;
}

export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
  /** When the process ended: the exit file's mtime (or when the loss was noticed). */
  finishedAt: string;
  /**
   * The monitor died without recording the exit (it was killed): the process is gone but its
   * real exit code is unknown; exitCode is then 255, as containerd reports a lost shim.
   */
  lost?: boolean;
}

export interface ContainerRuntimeState {
  status: RuncStatus;
  pid: number;
}

export interface ExecProcess {
  args: string[];
  /** The whole environment of the process (not merged with the container's). */
  env: string[];
  cwd: string;
  /** With the supplementary groups the container's process has (its user's, --group-add, fsGroup). */
  user?: { uid: number; gid: number; additionalGids?: number[] };
}

/** stdin optional; output chunks as they come. */
export type ExecIo = PipeIo;

export interface OciRuntime {
  /**
   * Write config.json, start the container's monitor (it outlives the agent) which runs
   * `runc create`; resolves once the container exists in state "created". A process that
   * cannot be run rejects with StartError (exitCode 127/126/128, as docker maps them) and
   * leaves nothing behind.
   */
  create(o: CreateOptions): Promise<Created>;
  start(id: string): Promise<void>;
  /** A container that already stopped is not an error; an unknown one is 'not-found'. */
  kill(id: string, signal: string): Promise<void>;
  /**
   * Freeze the container's processes where they are (cgroup freezer), as `docker pause`: they
   * run no instruction until `resume`. One that has already stopped is 'failed-precondition'.
   */
  pause(id: string): Promise<void>;
  /** Thaw a paused container; one not paused, or gone, is not an error. */
  resume(id: string): Promise<void>;
  /**
   * Idempotent. Without force a running container is 'failed-precondition'. Also removes
   * conmon's records, so the id can be created again.
   */
  delete(id: string, force?: boolean): Promise<void>;
  /** undefined: runc knows no such container. */
  state(id: string): Promise<ContainerRuntimeState | undefined>;
  /**
   * The recorded end of the container's process; undefined while it has not ended (or was
   * never started). `lost` when the monitor died without recording it and the process is gone.
   */
  exitOf(id: string): Promise<ExitInfo | undefined>;
  /**
   * Resolves when the process has ended, also for a container an earlier agent created;
   * rejects 'not-found' for an id the runtime does not hold (or once it is deleted).
   */
  waitExit(id: string, signal?: AbortSignal): Promise<ExitInfo>;
  /** Is the container's monitor (conmon) alive? */
  monitorAlive(id: string): Promise<boolean>;
  /**
   * Run a process in a running container with pipes; resolves with its exit code (127/126
   * when it cannot be run, like docker exec). A container not running is 'failed-precondition'.
   */
  exec(id: string, process: ExecProcess, io: ExecIo): Promise<number>;
  /** Attach to the running container's stdio through its monitor (attach.ts). */
  attach(id: string): AttachSession;
  /** The size of the container's terminal (a container created with one). */
  resize(id: string, rows: number, cols: number): Promise<void>;
  /** Have the container's monitor start a new log file (log-rotation.ts). */
  reopenLog(id: string): Promise<void>;
}

/** A container process that could not be started, with the exit code docker gives it. */
export class StartError extends BerthError {
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
    this.name = 'StartError';
  }
}

/**
 * The exit code docker records for a runtime's refusal to start `command` (moby's
 * translateContainerdStartErr): not there 127, there but not executable 126, anything else 128.
 */
export function startExitCode(message: string, command: string): number {
  const m = message.toLowerCase();
  if (m.includes('permission denied') || m.includes('is a directory')) return 126;
  const missing = m.includes('executable file not found') || m.includes('no such file or directory');
  // "no such file" of something else (a bind mount's source) is not the command's fault.
  if (missing && (command === '' || m.includes(command.toLowerCase()))) return 127;
  return 128;
}

const ID = /^[\w+.-]+$/;
const CONMON_EXIT_WAIT_MS = 5_000;

export function createOciRuntime(options: OciRuntimeOptions): OciRuntime {
  const cfg = {
    ...options,
    createTimeoutMs: options.createTimeoutMs ?? 60_000,
    pollMs: options.pollMs ?? 1_000,
  };
  const layout = layoutOf(cfg.stateDir);
  for (const dir of [cfg.root, layout.exitsDir, layout.persistRoot, layout.socketsDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const runc = new Runc(cfg.runc, cfg.root);
  const exits = new ExitWatch(layout.exitsDir);

  const checkId = (id: string) => {
    if (!ID.test(id)) throw new BerthError('invalid-argument', `invalid container id "${id}"`);
  };

  async function monitorAlive(id: string): Promise<boolean> {
    const pid = await conmonPid(layout, id);
    return pid !== undefined && isMonitor(pid, id);
  }

  async function exitOf(id: string): Promise<ExitInfo | undefined> {
    const recorded = await readExit(layout, id);
    if (recorded) return recorded;
    const pid = await conmonPid(layout, id);
    // No monitor was ever recorded: never created here, or already deleted.
    if (pid === undefined || (await isMonitor(pid, id))) return undefined;
    // The monitor is gone. It writes the record before it exits, so read once more, then
    // decide on runc's view: a process still running merely lost its monitor.
    const late = await readExit(layout, id);
    if (late) return late;
    const st = await runc.state(id);
    if (st && st.status !== 'stopped') return undefined;
    return { exitCode: 255, oomKilled: false, finishedAt: new Date().toISOString(), lost: true };
  }

  /** Does the runtime hold anything of this id: conmon's records or runc's state? */
  async function known(id: string): Promise<boolean> {
    if (await fs.access(persistDir(layout, id)).then(() => true, () => false)) return true;
    return (await runc.state(id)) !== undefined;
  }

  /** Wait (bounded) for the monitor to finish writing its records and exit. */
  async function monitorGone(id: string): Promise<void> {
    const pid = await conmonPid(layout, id);
    if (pid === undefined) return;
    const deadline = Date.now() + CONMON_EXIT_WAIT_MS;
    while ((await isMonitor(pid, id)) && Date.now() < deadline) await sleep(20);
  }

  async function del(id: string, force = false): Promise<void> {
    checkId(id);
    // runc's state directory says whether runc holds anything; when it does not (a second delete,
    // a create that failed early), exec'ing runc to hear "not found" twice is wasted.
    const inRuntime = await runc.has(id);
    // Where conmon left its fifos: recorded at create; runc is asked only when that record is gone.
    const recorded = await fs.readFile(join(persistDir(layout, id), 'bundle'), 'utf8').catch(() => undefined);
    const bundle = recorded ?? (inRuntime ? (await runc.state(id))?.bundle : undefined);
    if (inRuntime) await runc.delete(id, force);
    // A forced delete kills the process; its monitor then records the exit and leaves. Let it
    // finish first, or it would write the records again after they were removed.
    await monitorGone(id);
    const pid = await conmonPid(layout, id);
    // A monitor still there after the wait is stuck: it holds nothing worth keeping.
    if (pid !== undefined && (await isMonitor(pid, id))) process.kill(pid, 'SIGKILL');
    await removeRecords(layout, id, bundle);
  }

  async function create(o: CreateOptions): Promise<Created> {
    checkId(o.id);
    if (await runc.has(o.id)) throw new BerthError('already-exists', `container ${o.id} already exists in the runtime`);
    // Records of an earlier run under this id would be taken for this run's.
    await removeRecords(layout, o.id, o.bundle);
    const persist = persistDir(layout, o.id);
    await fs.mkdir(persist, { recursive: true, mode: 0o700 });
    await fs.writeFile(join(persist, 'bundle'), o.bundle);
    await fs.writeFile(join(o.bundle, 'config.json'), JSON.stringify(o.spec));
    let result;
    try {
      result = await spawnConmon({
        conmon: cfg.conmon, runc: cfg.runc, runcRoot: cfg.root, layout, id: o.id, bundle: o.bundle,
        logPath: o.logPath, timeoutMs: cfg.createTimeoutMs,
        ...(o.terminal ? { terminal: true } : {}),
        // Unless stdinOnce, stdin outlives each attached client (a detach leaves the shell running).
        ...(o.stdin ? { stdin: true, leaveStdinOpen: !o.stdinOnce } : {}),
      });
    } catch (err) {
      await del(o.id, true).catch(() => undefined);
      throw err;
    }
    if ('message' in result) {
      await del(o.id, true).catch(() => undefined);
      const command = (o.spec as { process?: { args?: string[] } }).process?.args?.[0] ?? '';
      const exitCode = startExitCode(result.message, command);
      const code: ErrorCode = exitCode === 128 ? 'internal' : 'invalid-argument';
      throw new StartError(code, `container ${o.id}: ${cleanMessage(result.message)}`, exitCode);
    }
    const monitor = await conmonPid(layout, o.id);
    return { pid: result.pid, conmonPid: monitor ?? 0 };
  }

  async function waitExit(id: string, signal?: AbortSignal): Promise<ExitInfo> {
    checkId(id);
    signal?.throwIfAborted();
    return new Promise<ExitInfo>((resolve, reject) => {
      let checking = false;
      let again = false;
      // Checks are serialized; an event during a check triggers one more after it.
      const check = async () => {
        if (checking) { again = true; return; }
        checking = true;
        try {
          do {
            again = false;
            const info = await exitOf(id);
            if (info) { finish(); resolve(info); return; }
            // Deleted (or never created): nothing will ever record an exit.
            if (!(await known(id))) { finish(); reject(new BerthError('not-found', `no such container: ${id}`)); return; }
          } while (again);
        } catch (err) {
          finish();
          reject(err);
        } finally {
          checking = false;
        }
      };
      const onAbort = () => { finish(); reject(signal!.reason); };
      // The poll also catches what no file event announces: a monitor that died.
      const timer = setInterval(() => void check(), cfg.pollMs);
      const unwatch = exits.on(id, () => void check());
      const finish = () => {
        clearInterval(timer);
        unwatch();
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Watch first, then look: an exit between the two is still seen.
      void check();
    });
  }

  async function exec(id: string, proc: ExecProcess, io: ExecIo): Promise<number> {
    checkId(id);
    const st = await runc.state(id);
    if (!st) throw new BerthError('not-found', `no such container: ${id}`);
    if (st.status !== 'running') throw new BerthError('failed-precondition', `container ${id} is not running`);
    // Start from the container's own process (capabilities, rlimits, apparmor...) as docker does.
    const config = JSON.parse(await fs.readFile(join(st.bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const user = proc.user ? { uid: proc.user.uid, gid: proc.user.gid, ...(proc.user.additionalGids?.length ? { additionalGids: proc.user.additionalGids } : {}) } : config.process.user;
    const spec = { ...config.process, terminal: Boolean(io.terminal), args: proc.args, env: io.terminal && !proc.env.some((e) => e.startsWith('TERM=')) ? [...proc.env, 'TERM=xterm'] : proc.env, cwd: proc.cwd, user };
    const tag = `exec-${randomBytes(6).toString('hex')}`;
    const persist = persistDir(layout, id);
    const specFile = join(persist, `${tag}.json`);
    const logFile = join(persist, `${tag}.log`);
    await fs.writeFile(specFile, JSON.stringify(spec));
    try {
      const code = await runWithPipes(cfg.runc, runc.argsWithLog(logFile, ['exec', '--process', specFile, id]), io);
      const errors = runcErrors(await fs.readFile(logFile, 'utf8').catch(() => ''));
      // runc itself failed (exit 255 with an error logged), as opposed to the process exiting 255.
      if (code === 255 && errors.length > 0) {
        const message = errors.at(-1)!;
        const exitCode = startExitCode(message, proc.args[0] ?? '');
        if (exitCode !== 128) return exitCode;
        const m = message.toLowerCase();
        const stopped = m.includes('stopped') || m.includes('not running');
        throw new BerthError(stopped ? 'failed-precondition' : 'internal', stopped ? `container ${id} is not running` : `container ${id}: exec: ${cleanMessage(message)}`);
      }
      return code;
    } finally {
      await Promise.all([fs.rm(specFile, { force: true }), fs.rm(logFile, { force: true })]);
    }
  }

  /** The bundle of a container conmon monitors (its control fifo is there). */
  async function runningBundle(id: string): Promise<string> {
    checkId(id);
    const bundle = (await fs.readFile(join(persistDir(layout, id), 'bundle'), 'utf8').catch(() => '')).trim();
    if (!bundle) throw new BerthError('failed-precondition', `container ${id} is not running`);
    return bundle;
  }

  return {
    create,
    attach: (id) => {
      checkId(id);
      return attachTo(layout.socketsDir, id);
    },
    resize: async (id, rows, cols) => resizeTerminal(await runningBundle(id), rows, cols),
    reopenLog: async (id) => reopenLog(await runningBundle(id)),
    // async throughout: a bad id rejects like every other failure instead of throwing.
    start: async (id) => { checkId(id); await runc.start(id); },
    kill: async (id, signal) => { checkId(id); await runc.kill(id, signal); },
    pause: async (id) => { checkId(id); await runc.pause(id); },
    resume: async (id) => { checkId(id); await runc.resume(id); },
    delete: del,
    state: async (id) => {
      checkId(id);
      const st = await runc.state(id);
      return st && { status: st.status, pid: st.pid };
    },
    exitOf: async (id) => { checkId(id); return exitOf(id); },
    waitExit,
    monitorAlive: async (id) => { checkId(id); return monitorAlive(id); },
    exec,
  };
}

/**
 * conmon passes on runc's logfmt line (`time=.. level=error msg="runc create failed: ..."`):
 * the user needs the quoted message, unescaped, without the wrapper's prefix.
 */
export function cleanMessage(message: string): string {
  const quoted = /msg="((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  let text = message;
  if (quoted !== undefined) {
    try {
      text = JSON.parse(`"${quoted}"`) as string;
    } catch {
      text = quoted.replace(/\\(.)/g, '$1');
    }
  }
  return text.replace(/^.*?runc create failed: /s, '').trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
