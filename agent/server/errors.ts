// Errors across the wire: BerthError codes become gRPC statuses and back.

import * as grpc from '@grpc/grpc-js';
import { BerthError, codeOfGrpcStatus, grpcStatusOf } from '../errors';

export function toServiceError(err: unknown): grpc.ServiceError {
  const known = err instanceof BerthError;
  const status = known ? grpcStatusOf[err.code] : grpc.status.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  if (!known) console.error('internal error:', err);
  return Object.assign(new Error(message), { code: status, details: message, metadata: new grpc.Metadata() });
}

/** The BerthError a client sees for a failed call. */
export function fromServiceError(err: grpc.ServiceError): BerthError {
  if (err.code === grpc.status.UNAVAILABLE && /connect|ECONNREFUSED|ENOENT/.test(err.details)) {
    return new BerthError('unavailable', `cannot reach the agent: ${err.details}`, { cause: err });
  }
  return new BerthError(codeOfGrpcStatus(err.code), err.details || err.message, { cause: err });
}
