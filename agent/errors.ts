// Errors the agent returns. Every error has a stable `code` from a closed set that maps onto a
// gRPC status, a one-line message that says what is wrong and where, and its `cause`.

export type ErrorCode =
  /** The caller's input is malformed (a reference, a flag, a document). */
  | 'invalid-argument'
  /** The thing named does not exist (image, tag, blob, registry repository). */
  | 'not-found'
  /** A name is already taken. */
  | 'already-exists'
  /** The request is valid but the current state forbids it (an image in use). */
  | 'failed-precondition'
  /** The registry refused our credentials or we have none (401). */
  | 'unauthenticated'
  /** The registry knows who we are and still refuses (403). */
  | 'permission-denied'
  /** A size limit was hit: decompression bomb, oversized manifest, too many retries on 429. */
  | 'resource-exhausted'
  /** Bytes do not match the digest that named them; a document is not what it claims. */
  | 'data-loss'
  /** A remote peer failed or could not be reached (5xx after retries, connection refused). */
  | 'unavailable'
  /** A bug or an unexpected host failure. */
  | 'internal';

/** gRPC status numbers for each code (grpc-js `status`), kept here so the core needs no gRPC import. */
export const grpcStatusOf: Record<ErrorCode, number> = {
  'invalid-argument': 3,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'resource-exhausted': 8,
  'failed-precondition': 9,
  'internal': 13,
  'unavailable': 14,
  'data-loss': 15,
  'unauthenticated': 16,
};

export const codeOfGrpcStatus = (status: number): ErrorCode =>
  (Object.entries(grpcStatusOf).find(([, n]) => n === status)?.[0] as ErrorCode | undefined) ?? 'internal';

export class BerthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BerthError';
  }
}

/**
 * The BerthError a client sees for a failed call, from its gRPC status (a grpc-js ServiceError
 * or the CLI's own client's error: both carry `code` and `details`).
 */
export function fromServiceError(err: { code: number; details: string; message: string }): BerthError {
  if (err.code === grpcStatusOf.unavailable && /connect|ECONNREFUSED|ENOENT/.test(err.details)) {
    return new BerthError('unavailable', `cannot reach the agent: ${err.details}`, { cause: err });
  }
  return new BerthError(codeOfGrpcStatus(err.code), err.details || err.message, { cause: err });
}

/** Wrap anything thrown into a BerthError, prefixing context ("image busybox: layer sha256:ab..: "). */
export function withContext(prefix: string, err: unknown): BerthError {
  if (err instanceof BerthError) {
    return new BerthError(err.code, `${prefix}: ${err.message}`, { cause: err.cause ?? err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BerthError('internal', `${prefix}: ${message}`, { cause: err });
}

export const isBerthError = (err: unknown, code?: ErrorCode): err is BerthError =>
  err instanceof BerthError && (code === undefined || err.code === code);

/**
 * Of two operations that ran together and feed each other (a transfer and its consumer), the
 * failure worth reporting: when one fails the other usually fails too, only as an echo (an
 * abort, a broken pipe). A BerthError wins over a stray error, the earlier over the later.
 */
export function meaningfulFailure(results: PromiseSettledResult<unknown>[]): unknown {
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  return failures.find((e) => e instanceof BerthError && e.code !== 'internal') ?? failures[0];
}
