// Errors the controller returns. Every error has a stable `code` from a closed set that maps onto
// a gRPC status, and a one-line message in Kubernetes' words ("pods \"web-1\" not found").

export type ApiErrorCode =
  /** The request or a document in it is malformed or invalid. */
  | 'invalid-argument'
  /** The object named does not exist. */
  | 'not-found'
  /** An object of that kind and name exists already. */
  | 'already-exists'
  /** A write was based on a resource version that is no longer current. */
  | 'conflict'
  /** The caller's view is stale (an agent's epoch after its node was declared lost). */
  | 'failed-precondition'
  /** The store or an agent cannot be reached. */
  | 'unavailable'
  /** A bug or an unexpected failure. */
  | 'internal';

/** gRPC status numbers for each code (grpc-js `status`); the core needs no gRPC import. */
export const grpcStatusOfApiError: Record<ApiErrorCode, number> = {
  'invalid-argument': 3,
  'not-found': 5,
  'already-exists': 6,
  'failed-precondition': 9,
  'conflict': 10,
  'internal': 13,
  'unavailable': 14,
};

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  constructor(code: ApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ApiError';
  }
}

export const isApiError = (err: unknown, code?: ApiErrorCode): err is ApiError =>
  err instanceof ApiError && (code === undefined || err.code === code);
