// Everything the benchmark starts (registry, agents, containerd, temp dirs, mounts) registers its
// undo here; the undos run last-in first-out at the end, on an error and on SIGINT/SIGTERM.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

type Undo = () => unknown;

export class Cleanup {
  private readonly undos: Undo[] = [];
  private running: Promise<void> | undefined;

  /** The fixtures' `Teardown` shape: register an undo. */
  teardown(fn: Undo): void {
    this.undos.push(fn);
  }

  /** Run every undo registered so far (newest first); failures are reported, not thrown. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.undos.length > 0) {
        const fn = this.undos.pop()!;
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`bench cleanup: ${(err as Error).message}\n`);
        }
      }
      this.running = undefined;
    })();
    return this.running;
  }

  /** On SIGINT/SIGTERM: clean up, then exit 130/143. */
  onSignals(): void {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      process.once(signal, () => {
        process.stderr.write(`\nbench: ${signal}, cleaning up...\n`);
        void this.run().finally(() => process.exit(code));
      });
    }
  }
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const target = line.split(' ')[4];
    if (!target) continue;
    const decoded = target.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(`${dir}/`)) out.push(decoded);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmount whatever is mounted under `dir` (lazily, so a busy mount cannot stall the cleanup). */
export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** Remove a cgroup parent and the cgroups directly under it, in every hierarchy (v1). */
export function removeCgroupParent(parent: string): void {
  for (const h of fs.readdirSync('/sys/fs/cgroup')) {
    const p = path.join('/sys/fs/cgroup', h, parent);
    if (!fs.existsSync(p)) continue;
    try {
      for (const c of fs.readdirSync(p, { withFileTypes: true })) if (c.isDirectory()) fs.rmdirSync(path.join(p, c.name));
      fs.rmdirSync(p);
    } catch (err) {
      process.stderr.write(`bench cleanup: cgroup ${p}: ${(err as Error).message}\n`);
    }
  }
}
