// The two ways a cluster verb fails, each printed in kubectl's words by runClusterVerb:
// the user's mistake ("error: ...") and the controller's refusal ("Error from server (NotFound): ...").

import { BerthError, codeOfGrpcStatus, type ErrorCode } from '../../proto/errors';
import { CliError } from '../common/errors';

/** kubectl's StatusReason for each code, as it prints them: "Error from server (NotFound)". */
const REASON: Record<ErrorCode, string> = {
  'cancelled': 'Cancelled',
  'invalid-argument': 'Invalid',
  'not-found': 'NotFound',
  'already-exists': 'AlreadyExists',
  'conflict': 'Conflict',
  'failed-precondition': 'BadRequest',
  'gone': 'Expired',
  'unauthenticated': 'Unauthorized',
  'permission-denied': 'Forbidden',
  'resource-exhausted': 'TooManyRequests',
  'data-loss': 'InternalError',
  'unavailable': 'ServiceUnavailable',
  'internal': 'InternalError',
};

/** The controller refused a call, or could not be reached. */
export class ServerError extends BerthError {
  /** The controller's own message ("pods \"x\" not found"). */
  readonly details: string;
  /** Not a refusal: the controller could not be reached at all. */
  readonly connection: boolean;

  constructor(code: ErrorCode, details: string, options: { cause?: unknown; connection?: boolean } = {}) {
    super(code, details, { cause: options.cause });
    this.name = 'ServerError';
    this.details = details;
    this.connection = options.connection ?? false;
  }

  get reason(): string {
    return REASON[this.code];
  }
}

/** The ServerError for a failed call of grpc-lite ({ code, details }) to the controller at `server`. */
export function serverErrorOf(err: { code?: number; details?: string; message: string }, server: string): ServerError {
  const code = codeOfGrpcStatus(err.code);
  const details = err.details || err.message;
  if (code === 'unavailable' && /certificate|CERT_|altnames|self-signed|alert/i.test(details)) {
    // kubectl: "Unable to connect to the server: x509: certificate signed by unknown authority".
    const why = details.replace(/^No connection established\. Last error: /, '');
    return new ServerError('unavailable', `Unable to connect to the controller ${server}: TLS: ${why} (is the kubeconfig's certificate-authority this cluster's CA, and its client certificate still valid?)`, { cause: err, connection: true });
  }
  if (code === 'unavailable' && /No connection established|ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET/.test(details)) {
    const refused = /ECONNREFUSED/.test(details);
    const message = refused
      ? `The connection to the controller ${server} was refused - is it running, and is that the right address? (the kubeconfig's server, or --server / BERTH_SERVER)`
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
