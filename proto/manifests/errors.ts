// The one error class of manifests: a bad document is the user's input, so always
// 'invalid-argument' (gRPC INVALID_ARGUMENT). The message is the full one-line report;
// the parts are kept for callers that print or group them differently.

import { BerthError } from '../errors';
import type { SourcePosition } from './types';

export class ManifestError extends BerthError {
  declare readonly code: 'invalid-argument';
  /** The source's name ("app.yaml", "<stdin>"), or for a document from the API "Deployment default/web". */
  readonly where: string;
  readonly position?: SourcePosition;
  /** The field path as printed; '' when the error is about the whole document or source. */
  readonly field: string;
  /** The message without location and field: "must be a string". */
  readonly detail: string;

  constructor(parts: { where: string; position?: SourcePosition; field?: string; detail: string }, options?: { cause?: unknown }) {
    const at = parts.position ? `${parts.where}:${parts.position.line}:${parts.position.column}` : parts.where;
    const field = parts.field ?? '';
    super('invalid-argument', field ? `${at}: ${field}: ${parts.detail}` : `${at}: ${parts.detail}`, options);
    this.name = 'ManifestError';
    this.where = parts.where;
    this.position = parts.position;
    this.field = field;
    this.detail = parts.detail;
  }
}
