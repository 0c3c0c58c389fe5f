// The cluster suite (issue 4): the control plane, on one host with one controller and one agent.
//
// 1. Time from `berth apply` of a Deployment of N replicas (N = 10 and 50; the image already on the
//    host, imagePullPolicy IfNotPresent) until N replicas run: the Deployment's status shows N
//    available, its pods are exactly N Running ones, and the agent and runc both report exactly
//    their N containers running. Against
//    - the floor: N sequential `berth run -d` of the same image on the same agent, until runc runs all;
//    - Docker Swarm: `docker service create --replicas N` until the swarm reports N tasks running
//      and dockerd and runc report their N containers running.
// 2. A rolling update of the 50 to a second image differing by one layer: berth with maxSurge 25%
//    (and maxUnavailable 25%, the default), timed from `berth apply` until all 50 pods run the new
//    image and no other pod or container is left; Swarm with `docker service update --image` once
//    with its default update settings (parallelism 1) and once with --update-parallelism 13 (25%
//    of 50), timed until 50 tasks run the new image and no container of the old one runs (Swarm
//    keeps stopped containers as task history; berth removes old pods).
//
// Every round runs the floor, berth and Swarm for each N, in an order rotated per round; berth's
// rolling update is measured every round, Swarm's default one in the first round only (it takes
// minutes) and its parallelism-13 one in the second (both in the first with --cluster-runs 1).
// Between measurements everything is deleted and the bench waits until no container is left.
// Both systems run the same two images (busybox-static, built here, loaded from one `docker save`
// archive into dockerd and into the agent: nothing from a registry) and the same command
// (REPLICA_COMMAND in cluster-common.ts: a shell that exits on SIGTERM, not a bare sleep, which as
// PID 1 ignores SIGTERM and would make every stop wait out the grace period).
// How Docker is started and what it leaves behind: cluster-swarm.ts.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildImage, busyboxLayer, type BuiltImage } from '../fixtures/images';
import type { Cleanup } from './cleanup';
import { startBerthCluster, type BerthCluster } from './cluster-berth';
import { median, type ImageRef } from './cluster-common';
import { startSwarm, type Swarm } from './cluster-swarm';
import { dockerArchive } from './docker-archive';
import { memoryOf } from './proc';
import { removeTree } from './tools';

export interface ClusterOptions {
  /** Rounds (each: every measurement of every side once). */
  runs: number;
  /** Replica counts for the start measurement; the rolling update uses the largest. */
  replicas: number[];
  /** Which of floor, berth and swarm to measure (default all). */
  sides?: Side[];
  cli: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

const START_AIM = { replicas: 50, seconds: 1.4 };
const UPDATE_AIM = { replicas: 50, seconds: 10 };
const SWARM_PARALLELISM = 13;

export type Side = 'floor' | 'berth' | 'swarm';
export const SIDES: Side[] = ['floor', 'berth', 'swarm'];
const SIDE_LABELS: Record<Side, string> = {
  floor: 'floor: N x berth run -d, sequential',
  berth: 'berth apply (Deployment)',
  swarm: 'docker service create (Swarm)',
};

const secs = (s: number) => s.toFixed(2);
const stats = (xs: number[]) => (xs.length === 0 ? 'n/a' : xs.length === 1 ? `${secs(xs[0]!)} (1 run)` : `${secs(median(xs))} (${secs(Math.min(...xs))}-${secs(Math.max(...xs))}, ${xs.length} runs)`);
const mib = (b: number) => (b / 1048576).toFixed(1);

/** The two images: busybox, and busybox plus one small layer. */
export async function images(): Promise<{ built: [BuiltImage, BuiltImage]; refs: [ImageRef, ImageRef] }> {
  const config = { config: { Cmd: ['sh'] } };
  const one = await buildImage({ layers: [busyboxLayer()], config });
  const two = await buildImage({ layers: [busyboxLayer(), [{ path: 'etc', type: 'dir' }, { path: 'etc/bench-image', type: 'file', content: '2\n' }]], config });
  return {
    built: [one, two],
    refs: [
      { ref: 'berth-bench/box:1', id: one.config.descriptor.digest },
      { ref: 'berth-bench/box:2', id: two.config.descriptor.digest },
    ],
  };
}

export async function clusterSuite(o: ClusterOptions): Promise<string> {
  const { cleanup, log } = o;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-cluster-'));
  cleanup.teardown(() => removeTree(work));
  const { built, refs } = await images();
  const archive = path.join(work, 'images.tar');
  fs.writeFileSync(archive, await dockerArchive([{ tag: refs[0].ref, image: built[0] }, { tag: refs[1].ref, image: built[1] }]));

  const notes: string[] = [];
  const start = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      const msg = (err as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 600);
      log(`bench: ${what}: ${msg}`);
      notes.push(`${what}: not measured: ${msg}`);
      return undefined;
    }
  };
  const wanted = o.sides ?? SIDES;
  const berth: BerthCluster | undefined = wanted.some((s) => s !== 'swarm')
    ? await start('berth', () => startBerthCluster(path.join(work, 'berth'), archive, o.cli, cleanup, log)) : undefined;
  const swarm: Swarm | undefined = wanted.includes('swarm')
    ? await start('Docker Swarm', () => startSwarm(path.join(work, 'docker'), archive, cleanup, log)) : undefined;
  const sides = wanted.filter((s) => (s === 'swarm' ? swarm : berth));
  if (sides.length === 0) throw new Error(`cluster suite: neither berth nor Docker Swarm could be started (${notes.join('; ')})`);

  const timeout = (n: number) => 30_000 + n * 2_000;
  const starts = new Map<string, number[]>(); // `${side} ${n}`
  const push = (key: string, s: number) => starts.set(key, [...(starts.get(key) ?? []), s]);
  const updates = { berth: [] as number[], swarmDefault: [] as number[], swarmParallel: [] as number[] };
  const big = Math.max(...o.replicas);
  let seq = 0;

  for (let round = 0; round < o.runs; round++) {
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    for (const n of o.replicas) {
      for (const side of order) {
        const name = `bench-${round}-${n}-${seq++}`;
        let s: number;
        let extra = '';
        if (side === 'floor') {
          s = await berth!.floor(n, refs[0]);
        } else if (side === 'berth') {
          s = await berth!.create(name, n, refs[0], timeout(n));
          if (n === big) {
            const u = await berth!.update(name, n, refs[1], timeout(n));
            updates.berth.push(u);
            extra = `, rolling update ${secs(u)} s`;
          }
          await berth!.remove(name);
        } else {
          s = await swarm!.create(name, n, refs[0], timeout(n));
          if (n === big) {
            // The default update in round 0; parallelism 13 in round 1, or right after it (back to image 1) when there is one round.
            if (round === 0) {
              const u = await swarm!.update(name, n, refs[1], 120_000 + n * 10_000);
              updates.swarmDefault.push(u);
              extra = `, rolling update (default settings) ${secs(u)} s`;
            }
            if (round === 1 || (round === 0 && o.runs === 1)) {
              const u = await swarm!.update(name, n, refs[round === 0 ? 0 : 1], timeout(n) * 2, SWARM_PARALLELISM);
              updates.swarmParallel.push(u);
              extra += `, rolling update (parallelism ${SWARM_PARALLELISM}) ${secs(u)} s`;
            }
          }
          await swarm!.remove(name);
        }
        push(`${side} ${n}`, s);
        log(`bench: round ${round + 1}/${o.runs} ${side} N=${n}: ${secs(s)} s${extra}`);
      }
    }
  }

  const out: string[] = [''];
  out.push(`cluster: one host; berth: one controller + one agent${berth ? '' : ' (not measured)'}; Docker Swarm: ${swarm ? `one-node swarm, dockerd ${swarm.version}` : 'not measured'}; images present on the host; ${o.runs} round(s), order rotated per round`);
  out.push(`host: ${os.cpus().length} cores, node ${process.version}, load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  out.push('');
  out.push(`time from the command to N replicas running, s: median (min-max)`);
  const col = (n: number) => `N=${n}`.padEnd(30);
  out.push(`${''.padEnd(40)}${o.replicas.map(col).join('')}`);
  for (const side of sides) out.push(`${SIDE_LABELS[side].padEnd(40)}${o.replicas.map((n) => stats(starts.get(`${side} ${n}`) ?? []).padEnd(30)).join('')}`);
  const med = (side: Side, n: number) => median(starts.get(`${side} ${n}`) ?? []);
  if (sides.includes('berth')) {
    out.push('');
    if (sides.includes('floor')) out.push(`berth / floor: ${o.replicas.map((n) => `N=${n} ${(med('berth', n) / med('floor', n)).toFixed(2)}x`).join(', ')}`);
    if (sides.includes('swarm')) out.push(`berth / Swarm: ${o.replicas.map((n) => `N=${n} ${(med('berth', n) / med('swarm', n)).toFixed(2)}x`).join(', ')} (below 1: berth is faster)`);
    if (o.replicas.includes(START_AIM.replicas)) {
      const m = med('berth', START_AIM.replicas);
      out.push(`aim: N=${START_AIM.replicas} in under ${START_AIM.seconds} s: ${m < START_AIM.seconds ? 'MET' : 'NOT MET'} (${secs(m)} s)`);
    }
  }
  out.push('');
  out.push(`rolling update of ${big} replicas to an image differing by one layer, s:`);
  if (sides.includes('berth')) out.push(`  ${'berth, maxSurge 25% (maxUnavailable 25%)'.padEnd(50)}${stats(updates.berth)}`);
  if (swarm) {
    out.push(`  ${'Swarm, default update settings (parallelism 1)'.padEnd(50)}${stats(updates.swarmDefault)}`);
    out.push(`  ${`Swarm, --update-parallelism ${SWARM_PARALLELISM}`.padEnd(50)}${stats(updates.swarmParallel)}`);
  }
  if (updates.berth.length) {
    const m = median(updates.berth);
    if (swarm) out.push(`berth / Swarm: ${(m / median(updates.swarmDefault)).toFixed(2)}x against the default settings, ${(m / median(updates.swarmParallel)).toFixed(2)}x against parallelism ${SWARM_PARALLELISM}`);
    if (big === UPDATE_AIM.replicas) out.push(`aim: a rolling update of ${UPDATE_AIM.replicas} with maxSurge 25% in under ${UPDATE_AIM.seconds} s: ${m < UPDATE_AIM.seconds ? 'MET' : 'NOT MET'} (${secs(m)} s)`);
  }
  if (berth) {
    const c = memoryOf(berth.pids.controller);
    const a = memoryOf(berth.pids.agent);
    out.push('');
    out.push(`berth RSS at the end (peak): controller ${mib(c?.rss ?? 0)} MiB (${mib(c?.hwm ?? 0)}), agent ${mib(a?.rss ?? 0)} MiB (${mib(a?.hwm ?? 0)})`);
  }
  for (const n of notes) out.push(n);
  return out.join('\n');
}
