// gRPC plumbing for the controller's services: ApiErrors become statuses, handlers stay thin.

import * as grpc from '@grpc/grpc-js';
import { StoreError } from '../store/types';
import { ApiError, grpcStatusOfApiError } from '../errors';

export function toServiceError(err: unknown): Partial<grpc.ServiceError> & { code: number; details: string } {
  let status: number = grpc.status.INTERNAL;
  if (err instanceof ApiError) status = grpcStatusOfApiError[err.code];
  else if (err instanceof StoreError && err.code === 'unavailable') status = grpc.status.UNAVAILABLE;
  const message = err instanceof Error ? err.message : String(err);
  if (status === grpc.status.INTERNAL) console.error('internal error:', err);
  return Object.assign(new Error(message), { code: status, details: message, metadata: new grpc.Metadata() });
}

/** A unary handler from an async function; every failure becomes a gRPC status. */
export function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then((res) => callback(null, res), (err) => callback(toServiceError(err) as grpc.ServiceError));
  };
}

/** A JSON document from the wire, or an invalid-argument error naming where it came from. */
export function parseJson(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new ApiError('invalid-argument', `${what}: not a JSON document: ${(err as Error).message}`);
  }
}

/**
 * End a server stream with an error status. (grpc-js sends the status of an error *emitted* on the
 * call; destroy() would end the stream without one and leave the client waiting.)
 */
export function failStream(call: { emit(event: 'error', err: unknown): boolean }, err: unknown): void {
  call.emit('error', toServiceError(err));
}
