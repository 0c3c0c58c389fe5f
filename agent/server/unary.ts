// Unary gRPC handlers from async functions.

import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from '../../proto/grpc';

/** Wrap a unary handler so every failure becomes a proper gRPC status. */
export function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then((res) => callback(null, res), (err) => callback(toServiceError(err)));
  };
}
