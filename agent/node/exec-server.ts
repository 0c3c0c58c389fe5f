// Commands in pods' containers for the controller (kubectl exec), served through the tunnel: a
// TunnelRequest exec runs the command in the container (runc exec, as probes run), `data` feeds
// its stdin and `end` closes it, `cancel` stops it; its stdout comes back as data, its stderr as
// stderr, and one end message carries the exit code (or a gRPC code and message).

import { PassThrough } from 'node:stream';
import type { TunnelReply } from '../../proto/gen/berth/cluster/v1/TunnelReply';
import type { TunnelRequest__Output } from '../../proto/gen/berth/cluster/v1/TunnelRequest';
import { BerthError, GRPC_STATUS } from '../../proto/errors';
import type { PodRuntime } from './types';

/** The runtime ID of a pod's container on this node, or a BerthError (not-found, failed-precondition). */
export type ContainerTarget = (namespace: string, name: string, container: string) => string;

interface Running {
  stdin?: PassThrough;
  abort: AbortController;
  /** The command's terminal, once it has one. */
  resize?: (rows: number, cols: number) => void;
}

export class ExecServer {
  private readonly running = new Map<string, Running>();

  constructor(private readonly target: ContainerTarget, private readonly containers: Pick<PodRuntime, 'exec'>) {}

  /** Whether the request is this server's to answer. */
  handle(request: TunnelRequest__Output, reply: (r: TunnelReply) => boolean): boolean {
    const id = String(request.id);
    switch (request.request) {
      case 'exec':
        if (request.exec) this.run(id, request.exec, reply);
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

  private run(id: string, req: NonNullable<TunnelRequest__Output['exec']>, reply: (r: TunnelReply) => boolean): void {
    const run: Running = { abort: new AbortController(), ...(req.stdin ? { stdin: new PassThrough() } : {}) };
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
          ...(req.tty ? { terminal: { rows: req.size?.rows || 24, cols: req.size?.cols || 80, onResize: (fn: (rows: number, cols: number) => void) => { run.resize = fn; } } } : {}),
        });
      })
      .then(
        (exitCode) => reply({ id, end: { code: 0, message: '', exitCode } }),
        (err: unknown) => reply({ id, end: { code: GRPC_STATUS[err instanceof BerthError ? err.code : 'internal'], message: (err as Error).message } }),
      )
      .finally(() => this.running.delete(id));
  }
}
