// berth's version, as every process reports it (`berth version`): the package's, with a "v" as
// kubectl and docker print theirs. One source, so a client and a server of one build agree.

import pkg from '../package.json';

export const BERTH_VERSION = `v${pkg.version}`;

/** What `berth version` prints of a process: its version, platform and runtime. */
export interface VersionInfo {
  version: string;
  platform: string;
  runtime: string;
}

export function versionInfo(): VersionInfo {
  return { version: BERTH_VERSION, platform: `${process.platform}/${process.arch}`, runtime: `node ${process.version}` };
}
