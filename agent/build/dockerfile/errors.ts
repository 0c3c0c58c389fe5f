// A Dockerfile that cannot be built as written: the message names the file and line, as
// `Dockerfile:7: unknown instruction: RUM (did you mean RUN?)`.

import { BerthError } from '../../../proto/errors';

export class DockerfileError extends BerthError {
  constructor(
    readonly reason: string,
    readonly file: string,
    readonly line: number,
  ) {
    super('invalid-argument', `${file}:${line}: ${reason}`);
  }
}
