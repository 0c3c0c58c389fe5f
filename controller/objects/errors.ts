// The object layer's failures in the shared vocabulary, worded as Kubernetes words them, and the
// one "already gone is fine" filter that deletes across the controller use.

import { BerthError } from '../../proto/errors';
import { StoreError } from '../store';
import { describeObject, infoOf } from './keys';

export function notFound(kind: string, name: string): BerthError {
  return new BerthError('not-found', `${describeObject(infoOf(kind), name)} not found`);
}

export function conflict(kind: string, name: string, cause?: unknown): BerthError {
  return new BerthError('conflict',
    `Operation cannot be fulfilled on ${describeObject(infoOf(kind), name)}: the object has been modified; please apply your changes to the latest version and try again`,
    { cause });
}

export function storeFailure(err: unknown): BerthError {
  if (err instanceof BerthError) return err;
  if (err instanceof StoreError && err.code === 'unavailable') return new BerthError('unavailable', `store unavailable: ${err.message}`, { cause: err });
  return new BerthError('internal', err instanceof Error ? err.message : String(err), { cause: err });
}

/** For `.catch()` on a delete or read: not-found means "already done" (level-triggered); anything else rethrows. */
export function ignoreNotFound(err: unknown): undefined {
  if (err instanceof BerthError && err.code === 'not-found') return undefined;
  throw err;
}
