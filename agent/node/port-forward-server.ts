// Port-forward connections for the controller, served through the tunnel: a TunnelRequest
// port_forward opens a TCP connection to the pod's address and port (from the node, the way a
// Service reaches it); data both ways; `end` half-closes toward the pod; `cancel` drops it. The
// connection's close is one end message (code 0, or a gRPC code and message).

import * as net from 'node:net';
import type { TunnelReply } from '../../proto/gen/berth/cluster/v1/TunnelReply';
import type { TunnelRequest__Output } from '../../proto/gen/berth/cluster/v1/TunnelRequest';
import { BerthError, GRPC_STATUS } from '../../proto/errors';

/** The pod's address on this node, or a BerthError (not-found, failed-precondition). */
export type PodAddress = (namespace: string, name: string) => string;

const CONNECT_TIMEOUT_MS = 10_000;

export class PortForwardServer {
  private readonly sockets = new Map<string, net.Socket>();

  constructor(private readonly address: PodAddress) {}

  /** Whether the request is this server's to answer (the exec and logs servers take the others). */
  handle(request: TunnelRequest__Output, reply: (r: TunnelReply) => boolean): boolean {
    const id = String(request.id);
    switch (request.request) {
      case 'portForward':
        if (request.portForward) this.open(id, request.portForward, reply);
        return true;
      case 'data': {
        // Another server's request (an exec's stdin) is not this one's to swallow.
        const socket = this.sockets.get(id);
        if (!socket) return false;
        if (request.data) socket.write(request.data);
        return true;
      }
      case 'end': {
        const socket = this.sockets.get(id);
        if (!socket) return false;
        socket.end();
        return true;
      }
      case 'cancel':
        this.sockets.get(id)?.destroy();
        return this.sockets.delete(id);
      default:
        return false;
    }
  }

  closeAll(): void {
    for (const socket of this.sockets.values()) socket.destroy();
    this.sockets.clear();
  }

  private open(id: string, target: NonNullable<TunnelRequest__Output['portForward']>, reply: (r: TunnelReply) => boolean): void {
    const fail = (err: unknown) => {
      const code = GRPC_STATUS[err instanceof BerthError ? err.code : 'unavailable'];
      reply({ id, end: { code, message: (err as Error).message } });
    };
    let host: string;
    try {
      host = this.address(target.namespace || 'default', target.name);
    } catch (err) {
      return fail(err);
    }
    const where = `pod ${target.namespace}/${target.name} port ${target.port}`;
    // Half-open, both ways: the client's end reaches the pod as a shutdown, and the pod may go on answering.
    const socket = net.connect({ host, port: target.port, timeout: CONNECT_TIMEOUT_MS, allowHalfOpen: true });
    this.sockets.set(id, socket);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.setTimeout(0);
    });
    // The pod has sent everything: nothing says "half-closed" back through the tunnel, so the connection ends.
    socket.on('end', () => socket.end());
    socket.on('timeout', () => socket.destroy(new Error(`connecting to ${host}:${target.port} timed out`)));
    socket.on('data', (data) => {
      // The tunnel is gone: nobody is reading any more.
      if (!reply({ id, data })) socket.destroy();
    });
    socket.on('error', (err) => {
      if (!this.sockets.delete(id)) return;
      fail(new BerthError('unavailable', connected ? `${where}: ${err.message}` : `error forwarding port ${target.port} to pod ${target.name}: ${err.message}`));
    });
    socket.on('close', () => {
      if (this.sockets.delete(id)) reply({ id, end: { code: 0, message: '' } });
    });
  }
}
