// The two ways a cluster verb fails, each printed in kubectl's words by runClusterVerb:
// the user's mistake ("error: ...") and the controller's refusal ("Error from server (NotFound): ...").

/** Codes of the controller's errors (controller/errors.ts), by gRPC status, plus the transport's. */
export type ServerErrorCode =
  | 'cancelled'
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'conflict'
  | 'unavailable'
  | 'internal'
  | 'unknown';

const CODE_OF_STATUS: Record<number, ServerErrorCode> = {
  1: 'cancelled',
  3: 'invalid-argument',
  5: 'not-found',
  6: 'already-exists',
  9: 'failed-precondition',
  10: 'conflict',
  13: 'internal',
  14: 'unavailable',
};

/** kubectl's StatusReason for each code, as it prints them: "Error from server (NotFound)". */
const REASON: Record<ServerErrorCode, string> = {
  'cancelled': 'Cancelled',
  'invalid-argument': 'Invalid',
  'not-found': 'NotFound',
  'already-exists': 'AlreadyExists',
  'failed-precondition': 'BadRequest',
  'conflict': 'Conflict',
  'unavailable': 'ServiceUnavailable',
  'internal': 'InternalError',
  'unknown': 'InternalError',
};

/** What the user asked for is wrong or could not be done on this side: `error: MESSAGE`, exit 1. */
export class CliError extends Error {
  readonly code = 'invalid-argument' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** The controller refused a call, or could not be reached. */
export class ServerError extends Error {
  readonly code: ServerErrorCode;
  /** The controller's own message ("pods \"x\" not found"). */
  readonly details: string;
  /** Not a refusal: the controller could not be reached at all. */
  readonly connection: boolean;

  constructor(code: ServerErrorCode, details: string, options: { cause?: unknown; connection?: boolean } = {}) {
    super(details, { cause: options.cause });
    this.name = 'ServerError';
    this.code = code;
    this.details = details;
    this.connection = options.connection ?? false;
  }

  get reason(): string {
    return REASON[this.code];
  }
}

/** The ServerError for a failed call of grpc-lite ({ code, details }) to the controller at `server`. */
export function serverErrorOf(err: { code?: number; details?: string; message: string }, server: string): ServerError {
  const code = CODE_OF_STATUS[err.code ?? -1] ?? 'unknown';
  const details = err.details || err.message;
  if (code === 'unavailable' && /No connection established|ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET/.test(details)) {
    const refused = /ECONNREFUSED/.test(details);
    const message = refused
      ? `The connection to the controller ${server} was refused - is it running, and is that the right address? (set --server, BERTH_SERVER or "server:" in ~/.berth/config)`
      : `Unable to connect to the controller ${server}: ${details.replace(/^No connection established\. Last error: /, '')}`;
    return new ServerError('unavailable', message, { cause: err, connection: true });
  }
  return new ServerError(code, details, { cause: err });
}

export const isNotFound = (err: unknown): boolean => err instanceof ServerError && err.code === 'not-found';
export const isConflict = (err: unknown): boolean => err instanceof ServerError && err.code === 'conflict';

/** The line(s) kubectl prints for an error, without the trailing newline. */
export function errorText(err: unknown): string {
  if (err instanceof ServerError) return err.connection ? err.details : `Error from server (${err.reason}): ${err.details}`;
  if (err instanceof CliError) return `error: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}
