// Another commit of berth, built next to this one, for suites that compare against it (the tls
// suite's plaintext peer): a detached git worktree in the temp dir named by the commit, sharing this
// checkout's node_modules and native addon, built with `npm run build`. A complete build found
// there (a stamp names its commit) is reused; whatever the bench made is removed at the end.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../fixtures/agent';
import type { Cleanup } from './cleanup';
import { runCommand } from './proc';

export interface OldBuild {
  /** The full commit id. */
  commit: string;
  /** The worktree. */
  dir: string;
  /** Its dist/cli/main.js. */
  cli: string;
}

const STAMP = '.berth-bench-built';

const git = async (...args: string[]) => (await runCommand('git', ['-C', REPO_ROOT, ...args])).stdout.trim();

/** Remove the worktree at `dir` from git's list and from the disk. */
async function removeWorktree(dir: string): Promise<void> {
  await runCommand('git', ['-C', REPO_ROOT, 'worktree', 'remove', '--force', dir]).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
  await runCommand('git', ['-C', REPO_ROOT, 'worktree', 'prune']).catch(() => undefined);
}

/**
 * `rev` built into `<tmp>/<prefix>-<commit>`. Registers its removal with `cleanup` unless `keep`
 * (then a later run reuses it).
 */
export async function buildCommit(rev: string, o: { cleanup: Cleanup; log: (line: string) => void; keep?: boolean; prefix?: string }): Promise<OldBuild> {
  const commit = await git('rev-parse', '--verify', `${rev}^{commit}`);
  const dir = path.join(os.tmpdir(), `${o.prefix ?? 'berth-plain'}-${commit.slice(0, 12)}`);
  const cli = path.join(dir, 'dist', 'cli', 'main.js');
  if (!o.keep) o.cleanup.teardown(() => removeWorktree(dir));
  const stamp = path.join(dir, STAMP);
  if (fs.existsSync(cli) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === commit) {
    o.log(`bench: reusing the build of ${commit.slice(0, 7)} in ${dir}`);
    return { commit, dir, cli };
  }
  if (fs.existsSync(dir)) await removeWorktree(dir); // a build that did not finish
  // The addon is copied, not built: refuse a commit whose native sources differ from this checkout's.
  const native = await runCommand('git', ['-C', REPO_ROOT, 'diff', '--quiet', commit, 'HEAD', '--', 'agent/native']).then(() => true, () => false);
  if (!native) throw new Error(`agent/native differs between ${commit.slice(0, 7)} and HEAD: this bench copies the built addon and cannot build that commit`);
  const t0 = Date.now();
  await git('worktree', 'add', '--detach', dir, commit);
  fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(dir, 'node_modules'));
  fs.cpSync(path.join(REPO_ROOT, 'agent', 'native', 'build'), path.join(dir, 'agent', 'native', 'build'), { recursive: true });
  await runCommand('npm', ['run', 'build', '--silent'], { cwd: dir });
  fs.writeFileSync(stamp, `${commit}\n`);
  o.log(`bench: built ${commit.slice(0, 7)} in ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { commit, dir, cli };
}
