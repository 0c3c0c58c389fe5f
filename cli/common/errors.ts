// The user's mistake, on either side of the CLI (a flag, an argument, a file): a BerthError with
// 'invalid-argument', which the node verbs print as docker does ("Error: ...", exit 125) and the
// cluster verbs as kubectl does ("error: ...", exit 1).

import { BerthError } from '../../proto/errors';

export class CliError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid-argument', message, options);
    this.name = 'CliError';
  }
}
