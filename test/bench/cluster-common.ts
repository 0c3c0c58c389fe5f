// What both sides of the cluster benchmark (berth, Docker Swarm) share: the replicas' command,
// the images, and runc's own view of which containers run (the check behind every "running").

import { runCommand } from './proc';

/**
 * Every replica runs this, under berth and under Swarm. Not a bare `sleep 3600`: as PID 1 of its
 * PID namespace sleep ignores SIGTERM, so every stop in a rolling update or a removal would wait
 * out the grace period (Swarm 10 s, berth 30 s) and the update would measure grace periods.
 * The shell exits on SIGTERM at once (the trap interrupts `wait`), as a real service does.
 */
export const REPLICA_COMMAND = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];

/** One of the two test images: its name and its image ID (the config digest, sha256:...). */
export interface ImageRef {
  ref: string;
  id: string;
}

/** How often convergence is polled, in ms: a sample is late by at most this much. */
export const POLL_MS = 20;

/** Seconds on a monotonic clock. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e9;

/**
 * IDs of the containers runc (under `root`) reports as running. `runc list` reads the root's
 * directory, then each container's state: a container the agent deletes in between fails the
 * whole list ("stat <root>/<id>: no such file or directory"), so that case is asked again.
 */
export async function runcRunning(root: string): Promise<Set<string>> {
  let r: Awaited<ReturnType<typeof runCommand>> | undefined;
  for (let attempt = 1; r === undefined; attempt++) {
    r = await runCommand('runc', ['--root', root, 'list', '--format', 'json']).catch((err: Error) => {
      if (attempt >= 5 || !/stat \S+: no such file or directory/.test(err.message)) throw err;
      return undefined;
    });
  }
  const list = JSON.parse(r.stdout.trim() || 'null') as Array<{ id: string; status: string }> | null;
  return new Set((list ?? []).filter((c) => c.status === 'running').map((c) => c.id));
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
