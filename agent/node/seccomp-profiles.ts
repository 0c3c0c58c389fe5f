// Localhost seccomp profiles: files an administrator put below the node's profile root
// (<agent data root>/seccomp/), named by a pod's seccompProfile.localhostProfile. A pod must not
// make the agent read anything else: the name is checked as the controller checks it, and the
// file it resolves to (symlinks followed) must still be below the root.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { localhostProfileProblem } from '../../proto/resources';

/** Profiles are small; a larger file is a mistake, not a profile. */
const MAX_PROFILE_BYTES = 1 << 20;

/** The profile's JSON text. The contents are checked by the runtime when the container is made. */
export function readLocalhostProfile(root: string, name: string): string {
  const refuse = (why: string) => new BerthError('invalid-argument', `seccomp localhostProfile "${name}": ${why}`);
  const problem = localhostProfileProblem(name);
  if (problem) throw refuse(problem);
  let realRoot: string;
  let real: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(path.join(realRoot, name));
  } catch (err) {
    throw refuse(`no such profile under ${root} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!real.startsWith(realRoot + path.sep)) throw refuse(`resolves outside ${root}`);
  const st = fs.statSync(real);
  if (!st.isFile()) throw refuse('is not a regular file');
  if (st.size > MAX_PROFILE_BYTES) throw refuse(`is larger than ${MAX_PROFILE_BYTES} bytes`);
  return fs.readFileSync(real, 'utf8');
}
