// Errors across the wire: BerthError codes become gRPC statuses and back.

import * as grpc from '@grpc/grpc-js';
import { BerthError, grpcStatusOf } from '../errors';

export function toServiceError(err: unknown): grpc.ServiceError {
  const known = err instanceof BerthError;
  const status = known ? grpcStatusOf[err.code] : grpc.status.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  if (!known) console.error('internal error:', err);
  return Object.assign(new Error(message), { code: status, details: message, metadata: new grpc.Metadata() });
}

export { fromServiceError } from '../errors';
