// Apply -> N running for several builds of berth in the same run, alternating, so that the load of a
// shared machine falls on all of them alike (a regression hunt's tool, not part of `npm run bench`).
//
//   node dist/test/bench/compare.js --commits REV,REV,... [--runs N] [--replicas N] [--keep]
//
// REV "HEAD" is this checkout's dist/; any other is built into <tmp>/berth-cmp-<commit> like
// old-build.ts does, except that the native addon of this checkout is copied even when the commit's
// agent/native differs (the addon only gained functions since). A commit before e5f9050 is driven in
// plaintext (`--server`, no join token), a later one with mutual TLS.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../fixtures/agent';
import { Cleanup } from './cleanup';
import { images } from './cluster';
import { startBerthCluster, type BerthCluster, type Transport } from './cluster-berth';
import { median } from './cluster-common';
import { dockerArchive } from './docker-archive';
import { machineBusy, runCommand } from './proc';
import { removeTree } from './tools';

const TLS_COMMIT = 'e5f9050';
const STAMP = '.berth-bench-built';
const log = (line: string) => process.stderr.write(`${line}\n`);
const git = async (...args: string[]) => (await runCommand('git', ['-C', REPO_ROOT, ...args])).stdout.trim();

async function removeWorktree(dir: string): Promise<void> {
  await runCommand('git', ['-C', REPO_ROOT, 'worktree', 'remove', '--force', dir]).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
  await runCommand('git', ['-C', REPO_ROOT, 'worktree', 'prune']).catch(() => undefined);
}

const TICK = 100; // USER_HZ

/** CPU seconds of a process and of the children it has waited for (runc, CNI plugins...). */
function processCpu(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // fields 14-17 of stat (utime stime cutime cstime) are 12-15 after "pid (comm) "
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
  } catch {
    return NaN;
  }
}

/** CPU seconds of everything under a cgroup v1 cpuacct parent (the pods' processes). */
function cgroupCpu(parent: string): number {
  try {
    return Number(fs.readFileSync(path.join('/sys/fs/cgroup/cpuacct', parent, 'cpuacct.usage'), 'utf8')) / 1e9;
  } catch {
    return 0;
  }
}

interface Build {
  label: string;
  cli: string;
  transport: Transport;
}

async function build(rev: string, cleanup: Cleanup, keep: boolean): Promise<Build> {
  if (rev === 'HEAD') return { label: `HEAD(${(await git('rev-parse', '--short', 'HEAD'))}+)`, cli: path.resolve(__dirname, '../../cli/main.js'), transport: 'tls' };
  const commit = await git('rev-parse', '--verify', `${rev}^{commit}`);
  const transport: Transport = await runCommand('git', ['-C', REPO_ROOT, 'merge-base', '--is-ancestor', TLS_COMMIT, commit]).then(() => 'tls' as const, () => 'plain' as const);
  const dir = path.join(os.tmpdir(), `berth-cmp-${commit.slice(0, 12)}`);
  const cli = path.join(dir, 'dist', 'cli', 'main.js');
  const label = commit.slice(0, 7);
  if (!keep) cleanup.teardown(() => removeWorktree(dir));
  const stamp = path.join(dir, STAMP);
  if (fs.existsSync(cli) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === commit) {
    log(`compare: reusing the build of ${label} in ${dir}`);
    return { label, cli, transport };
  }
  if (fs.existsSync(dir)) await removeWorktree(dir);
  const t0 = Date.now();
  await git('worktree', 'add', '--detach', dir, commit);
  fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(dir, 'node_modules'));
  fs.cpSync(path.join(REPO_ROOT, 'agent', 'native', 'build'), path.join(dir, 'agent', 'native', 'build'), { recursive: true });
  await runCommand('npm', ['run', 'build', '--silent'], { cwd: dir });
  fs.writeFileSync(stamp, `${commit}\n`);
  log(`compare: built ${label} (${transport}) in ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { label, cli, transport };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { commits: { type: 'string' }, runs: { type: 'string' }, replicas: { type: 'string' }, keep: { type: 'boolean' } } });
  const revs = (values.commits ?? 'HEAD').split(',').map((s) => s.trim()).filter(Boolean);
  const runs = Number(values.runs ?? 3);
  const n = Number(values.replicas ?? 50);
  const cleanup = new Cleanup();
  cleanup.onSignals();
  const load0 = os.loadavg();
  try {
    const builds: Build[] = [];
    for (const r of revs) builds.push(await build(r, cleanup, Boolean(values.keep)));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-cmp-'));
    cleanup.teardown(() => removeTree(work));
    const { built, refs } = await images();
    const archive = path.join(work, 'images.tar');
    fs.writeFileSync(archive, await dockerArchive([{ tag: refs[0].ref, image: built[0] }]));
    const clusters: BerthCluster[] = [];
    for (const [i, b] of builds.entries()) clusters.push(await startBerthCluster(path.join(work, `cluster-${i}`), archive, b.cli, cleanup, log, b.transport));
    const samples: number[][] = builds.map(() => []);
    const cpu: Array<{ agent: number[]; controller: number[]; pods: number[]; others: number[] }> = builds.map(() => ({ agent: [], controller: [], pods: [], others: [] }));
    let seq = 0;
    for (let round = 0; round < runs; round++) {
      // Rotated, and reversed every other round, so that no build always follows the same one.
      const base = builds.map((_, i) => (i + round) % builds.length);
      const order = round % 2 === 0 ? base : base.reverse();
      for (const i of order) {
        const name = `cmp-${i}-${round}-${seq++}`;
        const c = clusters[i]!;
        const before = { agent: processCpu(c.pids.agent), controller: processCpu(c.pids.controller), pods: cgroupCpu(c.cgroupParent), machine: machineBusy() };
        const s = await c.create(name, n, refs[0], 30_000 + n * 2_000);
        const d = { agent: processCpu(c.pids.agent) - before.agent, controller: processCpu(c.pids.controller) - before.controller, pods: cgroupCpu(c.cgroupParent) - before.pods, machine: machineBusy() - before.machine };
        const others = d.machine - d.agent - d.controller - d.pods;
        await c.remove(name);
        samples[i]!.push(s);
        cpu[i]!.agent.push(d.agent);
        cpu[i]!.controller.push(d.controller);
        cpu[i]!.pods.push(d.pods);
        cpu[i]!.others.push(others);
        log(`compare: round ${round + 1}/${runs} ${builds[i]!.label} N=${n}: ${s.toFixed(2)} s; CPU s agent ${d.agent.toFixed(2)} controller ${d.controller.toFixed(2)} pods ${d.pods.toFixed(2)}, machine ${d.machine.toFixed(2)} of ${(2 * s).toFixed(2)} (others incl. bench and conmon ${others.toFixed(2)}) (load ${os.loadavg()[0]!.toFixed(2)})`);
      }
    }
    const base = median(samples[0]!);
    const out = [`compare: apply -> ${n} running, ${runs} runs each, same run; load at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`];
    for (const [i, b] of builds.entries()) {
      const xs = samples[i]!;
      out.push(`  ${b.label.padEnd(16)} ${b.transport.padEnd(6)} median ${median(xs).toFixed(2)} s  (${xs.map((x) => x.toFixed(2)).join(' ')})  /first ${(median(xs) / base).toFixed(2)}x`);
      const m = (k: 'agent' | 'controller' | 'pods' | 'others') => median(cpu[i]![k]).toFixed(2);
      out.push(`  ${''.padEnd(23)} CPU s, medians: agent+children ${m('agent')}, controller ${m('controller')}, pods' cgroups ${m('pods')}, rest of the machine ${m('others')}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await cleanup.run();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});
