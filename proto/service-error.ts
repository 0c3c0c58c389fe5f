// The server side of the error vocabulary: any failure as the gRPC status a client reads back
// with fromStatus (proto/errors.ts). An error outside the vocabulary is a bug: it is logged here,
// once, and the caller sees INTERNAL with its message.

import * as grpc from '@grpc/grpc-js';
import { BerthError, GRPC_STATUS } from './errors';

export function toServiceError(err: unknown): grpc.ServiceError {
  const known = err instanceof BerthError;
  const status = known ? GRPC_STATUS[err.code] : grpc.status.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  if (!known || err.code === 'internal') console.error('internal error:', err);
  return Object.assign(new Error(message), { code: status, details: message, metadata: new grpc.Metadata() });
}
