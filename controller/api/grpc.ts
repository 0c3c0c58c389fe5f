// gRPC plumbing for the controller's services: BerthErrors become statuses, handlers stay thin.

import type * as grpc from '@grpc/grpc-js';
import { BerthError } from '../../proto/errors';
import { toServiceError } from '../../proto/grpc';

/** A unary handler from an async function; every failure becomes a gRPC status. */
export function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then((res) => callback(null, res), (err) => callback(toServiceError(err)));
  };
}

/** A JSON document from the wire, or an invalid-argument error naming where it came from. */
export function parseJson(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new BerthError('invalid-argument', `${what}: not a JSON document: ${(err as Error).message}`);
  }
}

/**
 * End a server stream with an error status. (grpc-js sends the status of an error *emitted* on the
 * call; destroy() would end the stream without one and leave the client waiting.)
 */
export function failStream(call: { emit(event: 'error', err: unknown): boolean }, err: unknown): void {
  call.emit('error', toServiceError(err));
}
