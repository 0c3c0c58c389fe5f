// Pod logs for the controller, served through the tunnel: a TunnelRequest.logs is answered with
// data messages (the container's log lines, batched) and one end message (code 0, or a gRPC code
// and message); a cancel stops a follow.

import type { TunnelReply } from '../../proto/gen/berth/cluster/v1/TunnelReply';
import type { TunnelRequest__Output } from '../../proto/gen/berth/cluster/v1/TunnelRequest';
import { BerthError, GRPC_STATUS } from '../../proto/errors';
import type { LogLine, LogOptions } from '../runtime';

/** Which container a logs request reads: its runtime ID, or a BerthError (not-found, failed-precondition). */
export type LogTarget = (namespace: string, name: string, container: string) => string;

export type LogReader = (id: string, options: Omit<LogOptions, 'done'>, onLine: (line: LogLine) => void) => Promise<void>;

const MAX_CHUNK = 64 * 1024;

export class LogServer {
  private readonly active = new Map<string, AbortController>();

  constructor(private readonly target: LogTarget, private readonly read: LogReader) {}

  handle(request: TunnelRequest__Output, reply: (r: TunnelReply) => boolean): void {
    const id = String(request.id);
    if (request.request === 'cancel') {
      this.active.get(id)?.abort();
      return;
    }
    if (request.request === 'logs' && request.logs) void this.serve(id, request.logs, reply);
  }

  /** The tunnel closed (or the agent stops): every request in progress ends. */
  closeAll(): void {
    for (const abort of this.active.values()) abort.abort();
    this.active.clear();
  }

  private async serve(id: string, req: NonNullable<TunnelRequest__Output['logs']>, reply: (r: TunnelReply) => boolean): Promise<void> {
    const abort = new AbortController();
    this.active.set(id, abort);
    let pending: string[] = [];
    let size = 0;
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (size === 0) return;
      const data = Buffer.from(pending.join(''));
      pending = [];
      size = 0;
      if (!reply({ id, data })) abort.abort();
    };
    try {
      const container = this.target(req.namespace || 'default', req.name, req.container);
      await this.read(container, { follow: req.follow, ...(req.tailLines >= 0 ? { tail: req.tailLines } : {}), signal: abort.signal }, (line) => {
        const text = `${req.timestamps ? `${line.time} ` : ''}${line.text}${line.partial ? '' : '\n'}`;
        pending.push(text);
        size += text.length;
        if (size >= MAX_CHUNK) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
      flush();
      reply({ id, end: { code: 0, message: '' } });
    } catch (err) {
      flush();
      const code = GRPC_STATUS[err instanceof BerthError ? err.code : 'internal'];
      reply({ id, end: { code, message: (err as Error).message } });
    } finally {
      this.active.delete(id);
    }
  }
}
