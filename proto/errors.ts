// berth's one error vocabulary, shared by the CLI, the controller and the agent. Every error has
// a stable `code` from a closed set, and the set maps onto gRPC status codes in exactly one place
// (GRPC_STATUS), so an error keeps its meaning across the wire in both directions. Messages say
// in one line what is wrong and where; `cause` keeps what led to it.
//
// This module imports nothing: the core of every process uses it without loading gRPC.

export type ErrorCode =
  /** The caller gave up (a cancelled call, an interrupted stream). */
  | 'cancelled'
  /** The caller's input is malformed: a reference, a flag, a manifest, a quantity, a selector. */
  | 'invalid-argument'
  /** The thing named does not exist (image, container, object, blob, repository). */
  | 'not-found'
  /** A name is already taken. */
  | 'already-exists'
  /** A write was based on a version that is no longer current (resourceVersion, store revision). */
  | 'conflict'
  /** The request is valid but the current state forbids it (an image in use, a stale node epoch). */
  | 'failed-precondition'
  /** History asked for is no longer kept (a watch from a compacted revision). */
  | 'gone'
  /** No credentials, or credentials that were refused (a registry's 401). */
  | 'unauthenticated'
  /** The caller is known and still refused (a registry's 403). */
  | 'permission-denied'
  /** A size or rate limit was hit: a decompression bomb, an oversized manifest, 429 after retries. */
  | 'resource-exhausted'
  /** Bytes do not match the digest that named them; a document is not what it claims. */
  | 'data-loss'
  /** A peer failed or could not be reached (a registry's 5xx, the store, the controller, an agent). */
  | 'unavailable'
  /** A bug or an unexpected host failure. */
  | 'internal';

/** The gRPC status number of each code (grpc-js `status`), the only such map in berth. */
export const GRPC_STATUS: Readonly<Record<ErrorCode, number>> = {
  'cancelled': 1,
  'invalid-argument': 3,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'resource-exhausted': 8,
  'failed-precondition': 9,
  'conflict': 10, // ABORTED: etcd's and Kubernetes' choice for a failed compare-and-swap
  'gone': 11, // OUT_OF_RANGE: etcd's answer to a watch from a compacted revision
  'internal': 13,
  'unavailable': 14,
  'data-loss': 15,
  'unauthenticated': 16,
};

const CODE_OF_STATUS = new Map<number, ErrorCode>(Object.entries(GRPC_STATUS).map(([code, status]) => [status, code as ErrorCode]));

/** The code of a gRPC status; statuses outside the set (UNKNOWN, UNIMPLEMENTED...) are 'internal'. */
export const codeOfGrpcStatus = (status: number | undefined): ErrorCode => CODE_OF_STATUS.get(status ?? -1) ?? 'internal';

export class BerthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'BerthError';
  }
}

export const isBerthError = (err: unknown, code?: ErrorCode): err is BerthError =>
  err instanceof BerthError && (code === undefined || err.code === code);

/**
 * The BerthError a client sees for a failed call, from its gRPC status (a grpc-js ServiceError or
 * the CLI's own client's error: both carry `code` and `details`).
 */
export function fromStatus(err: { code?: number; details?: string; message: string }): BerthError {
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

/**
 * Of two operations that ran together and feed each other (a transfer and its consumer), the
 * failure worth reporting: when one fails the other usually fails too, only as an echo (an
 * abort, a broken pipe). A BerthError wins over a stray error, the earlier over the later.
 */
export function meaningfulFailure(results: PromiseSettledResult<unknown>[]): unknown {
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  return failures.find((e) => e instanceof BerthError && e.code !== 'internal') ?? failures[0];
}
