// Commands in pods' containers for the controller (kubectl exec), served through the tunnel: a
// TunnelRequest exec runs the command in the container (runc exec, as probes run), `data` feeds
// its stdin and `end` closes it, `cancel` stops it; its stdout comes back as data, its stderr as
// stderr, and one end message carries the exit code (or a gRPC code and message). An exec with
// `attach` joins the container's own process instead (kubectl attach), through its monitor.

import { PassThrough } from 'node:stream';
import type { TunnelReply } from '../../proto/gen/berth/cluster/v1/TunnelReply';
import type { TunnelRequest__Output } from '../../proto/gen/berth/cluster/v1/TunnelRequest';
import { BerthError, GRPC_STATUS } from '../../proto/errors';
import { ClientTerminal, type AttachSession, type ContainerService } from '../runtime';
import type { PodRuntime } from './types';

/** The runtime ID of a pod's container on this node, or a BerthError (not-found, failed-precondition). */
export type ContainerTarget = (namespace: string, name: string, container: string) => string;

interface Running {
  stdin?: PassThrough;
  abort: AbortController;
  /** Resize the command's terminal (kept until it has one). */
  resize?: (rows: number, cols: number) => void;
}

/** What an attach needs of the runtime besides exec. */
export type AttachRuntime = Pick<ContainerService, 'attach' | 'resize' | 'runEnded'>;

export class ExecServer {
  private readonly running = new Map<string, Running>();

  constructor(private readonly target: ContainerTarget, private readonly containers: Pick<PodRuntime, 'exec'> & AttachRuntime) {}

  /** Whether the request is this server's to answer. */
  handle(request: TunnelRequest__Output, reply: (r: TunnelReply) => boolean): boolean {
    const id = String(request.id);
    switch (request.request) {
      case 'exec':
        if (request.exec?.attach) this.attach(id, request.exec, reply);
        else if (request.exec) this.run(id, request.exec, reply);
        return true;
      case 'data': {
        const run = this.running.get(id);
        if (!run) return false;
        if (request.data) run.stdin?.write(request.data);
        return true;
      }
      case 'end': {
        const run = this.running.get(id);
        if (!run) return false;
        run.stdin?.end();
        return true;
      }
      case 'resize': {
        const run = this.running.get(id);
        if (!run) return false;
        if (request.resize && request.resize.rows > 0) run.resize?.(request.resize.rows, request.resize.cols);
        return true;
      }
      case 'cancel': {
        const run = this.running.get(id);
        if (!run) return false;
        run.abort.abort();
        return true;
      }
      default:
        return false;
    }
  }

  /** The tunnel closed (or the agent stops): every command under way is stopped. */
  closeAll(): void {
    for (const run of this.running.values()) run.abort.abort();
    this.running.clear();
  }

  /**
   * kubectl attach: the container's own process. Its output from now on; typed input to its stdin
   * (the controller checked it has one); the end of the client's input ends an attach, not the
   * container's stdin, unless the container closes it then (stdinOnce). Ends with its run's exit
   * code once its output ends, or when the client leaves (the container goes on).
   */
  private attach(id: string, req: NonNullable<TunnelRequest__Output['exec']>, reply: (r: TunnelReply) => boolean): void {
    const run: Running = { abort: new AbortController() };
    this.running.set(id, run);
    let session: AttachSession | undefined;
    Promise.resolve()
      .then(async () => {
        const container = this.target(req.namespace || 'default', req.name, req.container);
        const s = this.containers.attach(container);
        session = s;
        const leave = () => s.close();
        run.abort.signal.addEventListener('abort', leave, { once: true });
        s.on('output', (stream, data) => {
          if (!reply(stream === 'stderr' ? { id, stderr: data } : { id, data })) run.abort.abort();
        });
        if (req.stdin) {
          const stdin = new PassThrough();
          run.stdin = stdin;
          stdin.on('data', (data: Buffer) => s.write(data));
          stdin.on('end', () => s.endInput());
        }
        if (req.tty) {
          run.resize = (rows, cols) => void this.containers.resize(container, rows, cols).catch(() => undefined);
          if (req.size && req.size.rows > 0) run.resize(req.size.rows, req.size.cols);
        }
        const ended = this.containers.runEnded(container);
        await s.done;
        if (run.abort.signal.aborted) throw new BerthError('cancelled', 'the client left');
        return ended;
      })
      .then(
        (exitCode) => reply({ id, end: { code: 0, message: '', exitCode } }),
        (err: unknown) => reply({ id, end: { code: GRPC_STATUS[err instanceof BerthError ? err.code : 'internal'], message: (err as Error).message } }),
      )
      .finally(() => {
        session?.close();
        this.running.delete(id);
      });
  }

  private run(id: string, req: NonNullable<TunnelRequest__Output['exec']>, reply: (r: TunnelReply) => boolean): void {
    const run: Running = { abort: new AbortController(), ...(req.stdin ? { stdin: new PassThrough() } : {}) };
    // Sizes that come before the command's terminal exists are kept for it.
    const terminal = req.tty ? new ClientTerminal(req.size?.rows || 24, req.size?.cols || 80) : undefined;
    if (terminal) run.resize = (rows, cols) => terminal.resize(rows, cols);
    this.running.set(id, run);
    const stop = () => run.abort.abort();
    Promise.resolve()
      .then(() => {
        const container = this.target(req.namespace || 'default', req.name, req.container);
        return this.containers.exec(container, req.command, {}, {
          ...(run.stdin ? { stdin: run.stdin } : {}),
          // The tunnel is gone: nobody reads any more, so the command goes.
          onStdout: (data) => { if (!reply({ id, data })) stop(); },
          onStderr: (stderr) => { if (!reply({ id, stderr })) stop(); },
          signal: run.abort.signal,
          ...(terminal ? { terminal } : {}),
        });
      })
      .then(
        (exitCode) => reply({ id, end: { code: 0, message: '', exitCode } }),
        (err: unknown) => reply({ id, end: { code: GRPC_STATUS[err instanceof BerthError ? err.code : 'internal'], message: (err as Error).message } }),
      )
      .finally(() => this.running.delete(id));
  }
}
