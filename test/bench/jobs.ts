// The jobs suite (issue 11): Job throughput on one host with one controller and one agent.
//
// A batch/v1 Job of --job-completions short pods (default 1,000; each runs `true`), --job-parallelism
// at a time (default 20), timed from `berth apply` until the Job is Complete with every completion
// succeeded; against the floor, `berth run --rm IMAGE true` one after another on the same agent
// (what a user without a Job would script), each to its end: --job-floor of them (default 100; a
// thousand would take a quarter of an hour), compared as pods per second. No Kubernetes-style peer
// runs on this machine (no kubelet), so the floor is the peer. --job-runs rounds (default 1: a
// round is minutes), floor and Job in an order rotated per round; medians with the range.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { images } from './cluster';
import { startBerthCluster } from './cluster-berth';
import { median } from './cluster-common';
import { dockerArchive } from './docker-archive';
import { removeTree } from './tools';

export interface JobsOptions {
  runs: number;
  completions: number;
  parallelism: number;
  /** How many sequential runs the floor times. */
  floorCount: number;
  cli: string;
  cleanup: Cleanup;
  log(line: string): void;
}

const TASK = ['true'];

export async function jobsSuite(o: JobsOptions): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-jobs-'));
  o.cleanup.teardown(() => removeTree(work));
  const { built, refs } = await images();
  const archive = path.join(work, 'images.tar');
  fs.writeFileSync(archive, await dockerArchive([{ tag: refs[0].ref, image: built[0] }]));
  const berth = await startBerthCluster(path.join(work, 'berth'), archive, o.cli, o.cleanup, o.log);
  const job: number[] = [];
  const floor: number[] = [];
  for (let round = 0; round < o.runs; round++) {
    const order = round % 2 === 0 ? ['floor', 'job'] : ['job', 'floor'];
    for (const side of order) {
      if (side === 'floor') {
        const s = await berth.runs(o.floorCount, refs[0], TASK);
        floor.push(o.floorCount / s);
        o.log(`bench: round ${round + 1}: ${o.floorCount} x berth run --rm: ${s.toFixed(1)} s (${(o.floorCount / s).toFixed(2)} pods/s)`);
      } else {
        const s = await berth.job(`throughput-${round}`, o.completions, o.parallelism, refs[0], TASK, 30 * 60_000);
        job.push(o.completions / s);
        o.log(`bench: round ${round + 1}: Job of ${o.completions}, parallelism ${o.parallelism}: ${s.toFixed(1)} s (${(o.completions / s).toFixed(2)} pods/s)`);
      }
    }
  }
  const range = (xs: number[]) => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})` : '');
  const j = median(job);
  const f = median(floor);
  return [
    `Job throughput (pods running \`true\`, per second), ${o.runs} round(s), medians:`,
    `  berth Job of ${o.completions}, parallelism ${o.parallelism}: ${j.toFixed(2)} pods/s${range(job)} (${(o.completions / j).toFixed(0)} s)`,
    `  ${o.floorCount} x berth run --rm, one after another: ${f.toFixed(2)} pods/s${range(floor)}`,
    `  Job / floor: ${(j / f).toFixed(2)}x`,
  ].join('\n');
}
