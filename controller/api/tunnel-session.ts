// A client's duplex call carried through an agent's tunnel (port-forward, exec): the client's
// first frame names the target; checks and lookups run; then the tunnel connection opens and the
// client's bytes follow it (those sent meanwhile kept, in order; their end passed on). A client
// that leaves before the connection opened gets none; one that leaves later cancels it.

import type * as grpc from '@grpc/grpc-js';
import { BerthError } from '../../proto/errors';
import { failStream } from './grpc';
import type { TunnelConnection } from './tunnels';

export interface TunnelSession<Frame, Target> {
  /** The message when the first frame does not name a target. */
  firstFrame: string;
  /** The target an opening frame names; undefined for any other frame. */
  openOf(frame: Frame): Target | undefined;
  /** The client's bytes in a frame, 'end' when it says they are finished, a terminal size, or undefined. */
  inputOf(frame: Frame): Buffer | 'end' | { rows: number; cols: number } | undefined;
  /**
   * Authorize and look up (throw to refuse), then return what opens the tunnel connection:
   * called only if the client is still there. `fail` ends the call with an error.
   */
  prepare(target: Target, fail: (err: unknown) => void): Promise<() => TunnelConnection>;
}

function deliver(connection: TunnelConnection, input: Buffer | { rows: number; cols: number }): void {
  if (Buffer.isBuffer(input)) connection.write(input);
  else connection.resize?.(input.rows, input.cols);
}

export function serveTunnelSession<In, Out, Target>(call: grpc.ServerDuplexStream<In, Out>, session: TunnelSession<In, Target>): void {
  let connection: TunnelConnection | undefined;
  const early: Array<Buffer | { rows: number; cols: number }> = [];
  let ended = false;
  let gone = false;
  const fail = (err: unknown) => {
    connection?.cancel();
    failStream(call, err);
  };
  const open = async (target: Target) => {
    const connect = await session.prepare(target, fail);
    if (gone) return;
    connection = connect();
    for (const input of early.splice(0)) deliver(connection, input);
    if (ended) connection.end();
  };
  const end = () => {
    ended = true;
    connection?.end();
  };
  let opening: Promise<void> | undefined;
  call.on('data', (frame: In) => {
    if (!opening) {
      const target = session.openOf(frame);
      if (target === undefined) return fail(new BerthError('invalid-argument', session.firstFrame));
      opening = open(target).catch(fail);
      return;
    }
    const input = session.inputOf(frame);
    if (input === 'end') end();
    else if (input) {
      if (connection) deliver(connection, input);
      else early.push(input);
    }
  });
  // The client closed its side: its bytes are finished.
  call.on('end', end);
  const leave = () => {
    gone = true;
    connection?.cancel();
  };
  call.on('cancelled', leave);
  call.on('error', leave);
}
