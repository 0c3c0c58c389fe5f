// Requests the controller forwards to agents over the stream each agent keeps open (agents dial
// the controller, never the reverse): logs, port-forward connections and commands in containers
// (exec). One tunnel per node; a newer one replaces an older one.

import type * as grpc from '@grpc/grpc-js';
import type { LogsRequest } from '../../proto/gen/berth/cluster/v1/LogsRequest';
import type { ExecTarget } from '../../proto/gen/berth/cluster/v1/ExecTarget';
import type { PortForwardTarget } from '../../proto/gen/berth/cluster/v1/PortForwardTarget';
import type { TunnelReply__Output } from '../../proto/gen/berth/cluster/v1/TunnelReply';
import type { TunnelRequest } from '../../proto/gen/berth/cluster/v1/TunnelRequest';
import { BerthError } from '../../proto/errors';
import { failStream } from './grpc';

type TunnelStream = grpc.ServerDuplexStream<TunnelReply__Output, TunnelRequest>;

interface Pending {
  onData(data: Buffer): void;
  /** An exec's standard error. */
  onStderr?(data: Buffer): void;
  onEnd(err?: BerthError, exitCode?: number): void;
}

/** A request's writing side: bytes to the agent, a half-close, or cancel. */
export interface TunnelConnection {
  write(data: Buffer): void;
  end(): void;
  cancel(): void;
  /** The command's terminal size (an exec with a terminal). */
  resize?(rows: number, cols: number): void;
}

interface Tunnel {
  stream: TunnelStream;
  pending: Map<string, Pending>;
}

const apiCodeOfGrpc: Record<number, BerthError['code']> = { 3: 'invalid-argument', 5: 'not-found', 9: 'failed-precondition', 14: 'unavailable' };

export class Tunnels {
  private readonly byNode = new Map<string, Tunnel>();
  private nextId = 1;

  /**
   * Serve one agent's Tunnel call until it ends. `caller` is the node its certificate names: a
   * hello for another node ends the call with PERMISSION_DENIED (a node cannot take over another's
   * log stream).
   */
  attach(stream: TunnelStream, caller: string): void {
    let tunnel: Tunnel | undefined;
    stream.on('data', (reply: TunnelReply__Output) => {
      if (reply.reply === 'hello' && reply.hello) {
        const name = reply.hello.nodeName;
        if (name !== caller) {
          failStream(stream, new BerthError('permission-denied', `node "${caller}" is not allowed to open the tunnel of node "${name}"`));
          return;
        }
        const previous = this.byNode.get(name);
        if (previous && previous.stream !== stream) this.drop(name, previous);
        tunnel = { stream, pending: new Map() };
        this.byNode.set(name, tunnel);
        return;
      }
      const pending = tunnel?.pending.get(reply.id);
      if (!pending) return;
      if (reply.reply === 'data' && reply.data) pending.onData(reply.data);
      else if (reply.reply === 'stderr' && reply.stderr) pending.onStderr?.(reply.stderr);
      else if (reply.reply === 'end') {
        tunnel!.pending.delete(reply.id);
        const end = reply.end;
        if (end && end.code !== 0) pending.onEnd(new BerthError(apiCodeOfGrpc[end.code] ?? 'internal', end.message));
        else pending.onEnd(undefined, end?.exitCode ?? 0);
      }
    });
    const finish = () => {
      for (const [name, t] of this.byNode) if (t.stream === stream) this.drop(name, t);
    };
    stream.on('end', () => {
      finish();
      stream.end();
    });
    stream.on('error', finish);
    stream.on('cancelled', finish);
  }

  /** Ask a node's agent for a container's log. Returns a cancel function. */
  logs(nodeName: string, request: LogsRequest, onData: (data: Buffer) => void, onEnd: (err?: BerthError) => void): () => void {
    return this.open(nodeName, 'serve logs', { logs: request }, { onData, onEnd }).cancel;
  }

  /**
   * Open a connection to a pod's port on a node (port-forward): bytes from the pod come to
   * `onData`; `write` sends, `end` half-closes, `cancel` drops the connection.
   */
  portForward(nodeName: string, target: PortForwardTarget, onData: (data: Buffer) => void, onEnd: (err?: BerthError) => void): TunnelConnection {
    return this.open(nodeName, 'forward ports', { portForward: target }, { onData, onEnd });
  }

  /**
   * Run a command in a pod's container on a node: its output comes to `onStdout` and `onStderr`,
   * its exit code to `onEnd`; `write` feeds its stdin, `end` closes it, `cancel` stops the command.
   */
  exec(nodeName: string, target: ExecTarget, onStdout: (data: Buffer) => void, onStderr: (data: Buffer) => void, onEnd: (err?: BerthError, exitCode?: number) => void): TunnelConnection {
    return this.open(nodeName, 'run commands', { exec: target }, { onData: onStdout, onStderr, onEnd });
  }

  private open(nodeName: string, what: string, request: Omit<TunnelRequest, 'id'>, pending: Pending): TunnelConnection {
    const tunnel = this.byNode.get(nodeName);
    if (!tunnel) {
      pending.onEnd(new BerthError('unavailable', `node "${nodeName}" is not connected: its agent cannot ${what} now`));
      return { write() {}, end() {}, cancel() {}, resize() {} };
    }
    const id = String(this.nextId++);
    tunnel.pending.set(id, pending);
    tunnel.stream.write({ id, ...request });
    const open = () => tunnel.pending.has(id) && this.byNode.get(nodeName) === tunnel;
    return {
      write: (data) => {
        if (open()) tunnel.stream.write({ id, data });
      },
      end: () => {
        if (open()) tunnel.stream.write({ id, end: {} });
      },
      resize: (rows, cols) => {
        if (open()) tunnel.stream.write({ id, resize: { rows, cols } });
      },
      cancel: () => {
        if (!tunnel.pending.delete(id)) return;
        tunnel.stream.write({ id, cancel: {} });
      },
    };
  }

  closeAll(): void {
    for (const [name, t] of this.byNode) {
      this.drop(name, t);
      t.stream.end();
    }
  }

  private drop(name: string, tunnel: Tunnel): void {
    if (this.byNode.get(name) === tunnel) this.byNode.delete(name);
    for (const p of tunnel.pending.values()) p.onEnd(new BerthError('unavailable', `node "${name}" disconnected`));
    tunnel.pending.clear();
  }
}
