// The build suite (`--suite build`): berth build against Docker's BuildKit, Docker's classic builder
// and buildah, in the same run, on the same project (build-project.ts: a 3-stage Dockerfile over a
// context of --build-files files, default 10,000) and the same base image (busybox-static, built
// here and pushed to a docker-registry on 127.0.0.1 that every builder pulls it from beforehand).
//
// Each round, each builder in an order rotated per round:
//   reset      every cache emptied, every image but the base removed (build-peers.ts);
//   cold       a build of a fresh copy of the project (new inodes and a new path too, so nothing a
//              builder remembers about an earlier context applies);
//   rebuild    one source file changed, built again: the compile and test stages run again, the
//              base's steps come from the cache;
//   unchanged  built once more with nothing changed (every step cached; shown, not aimed at).
// Timed: the wall time of the builder's CLI, after a `sync`, so that no earlier writeback lands in
// it. Each image is checked by its /app/report: the expected counts, and the same content hash from
// every builder. Medians over --build-runs rounds (default 5), with the range.
//
// The aims (the issue's): the cold build no slower than BuildKit's, the one-file rebuild faster
// than BuildKit's, and both faster than the classic builder's and buildah's.
// --profile: one more cold build and rebuild by berth, on an agent under --cpu-prof, summarised.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { changeOneFile, expectedCounts, writeProject, type BuildProject } from './build-project';
import { PEER_LABELS, startBerth, startBuildah, startDocker, type BuildPeer, type PeerName } from './build-peers';
import type { Cleanup } from './cleanup';
import { median } from './cluster-common';
import { machineBusy, runCommand } from './proc';
import { summarizeProfile } from './profile';
import { fsType, workDir } from './scratch-fs';
import { removeTree } from './tools';

export interface BuildSuiteOptions {
  runs: number;
  /** Files in the build context. */
  files: number;
  peers: PeerName[];
  /** Where everything is written: loop, tmp or a directory (scratch-fs.ts). */
  fs: string;
  profile: boolean;
  cli: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

type Scenario = 'cold' | 'rebuild' | 'unchanged';
const SCENARIOS: Scenario[] = ['cold', 'rebuild', 'unchanged'];
const SCENARIO_LABELS: Record<Scenario, string> = { cold: 'cold build', rebuild: 'one-file rebuild', unchanged: 'unchanged rebuild' };

interface Measurement {
  seconds: number;
  /** Busy CPU seconds of the whole machine meanwhile. */
  cpu: number;
  /** From a plain progress log (berth, BuildKit). */
  steps: Step[];
}

interface Step {
  name: string;
  seconds: number;
  cached: boolean;
}

/** The steps of a plain progress log as berth and BuildKit print it (`#N name`, `#N DONE 1.2s`, `#N CACHED`). */
function plainSteps(text: string): Step[] {
  const steps = new Map<string, Step>();
  for (const line of text.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, id, rest] = m as unknown as [string, string, string];
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest);
    const step = steps.get(id);
    if (done) {
      if (step) step.seconds = Number(done[1]);
    } else if (rest === 'CACHED') {
      if (step) step.cached = true;
    } else if (!step && !/^(sha256:|\d+\.\d+ |ERROR)/.test(rest)) {
      steps.set(id, { name: rest, seconds: 0, cached: false });
    }
  }
  return [...steps.values()];
}

const secs = (s: number) => s.toFixed(2);
const stats = (xs: number[]) => (xs.length === 0 ? 'n/a' : xs.length === 1 ? `${secs(xs[0]!)}` : `${secs(median(xs))} (${secs(Math.min(...xs))}-${secs(Math.max(...xs))})`);

/** busybox-static with every applet (find, sort, gzip, sha256sum...), passwd and group. */
async function baseImage() {
  const applets = execFileSync('busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const layer: LayerEntry[] = [
    ...busyboxLayer().filter((e) => !(e.type === 'symlink' && e.path.startsWith('bin/'))),
    ...applets.map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
  ];
  return buildImage({ layers: [layer], config: { config: { Cmd: ['sh'] } } });
}

export async function buildSuite(o: BuildSuiteOptions): Promise<{ text: string; failed: boolean }> {
  const { cleanup, log } = o;
  const run = `berth-bench-${randomBytes(3).toString('hex')}`;
  const work = await workDir(o.fs, cleanup, log, 'building');
  const registry = await startRegistry(cleanup);
  const base = `${registry.host}/${run}/busybox:1`;
  await pushImage(registry.host, `${run}/busybox:1`, await baseImage());
  const t0 = Date.now();
  const project = writeProject(path.join(work, 'template'), o.files, base);
  log(`bench: project of ${project.files} files (${(project.sourceBytes / 1048576).toFixed(1)} MB of sources) written in ${((Date.now() - t0) / 1000).toFixed(1)} s; base ${base}`);

  const notes: string[] = [];
  const problems: string[] = [];
  const peers: BuildPeer[] = [];
  const setup = (name: string) => ({ dir: path.join(work, name), base, cleanup, log });
  const start = async (what: string, fn: () => Promise<BuildPeer[]>) => {
    try {
      peers.push(...await fn());
    } catch (err) {
      const msg = (err as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 600);
      log(`bench: ${what}: ${msg}`);
      notes.push(`${what}: not measured: ${msg}`);
    }
  };
  if (o.peers.includes('berth')) await start('berth', async () => [await startBerth(setup('berth'), o.cli)]);
  if (o.peers.includes('buildkit') || o.peers.includes('classic')) {
    await start('Docker', async () => (await startDocker(setup('docker'))).filter((p) => o.peers.includes(p.name)));
  }
  if (o.peers.includes('buildah')) await start('buildah', async () => [await startBuildah(setup('buildah'), registry.host)]);
  if (peers.length === 0) throw new Error(`build suite: no builder could be started (${notes.join('; ')})`);
  const names = o.peers.filter((n) => peers.some((p) => p.name === n));
  const peerOf = (n: PeerName) => peers.find((p) => p.name === n)!;

  const results = new Map<string, Measurement[]>(); // `${peer} ${scenario}`
  const reports = new Map<string, string>(); // 'cold' | 'changed': the first report seen
  const check = (peer: PeerName, scenario: Scenario, report: string) => {
    const text = report.trim();
    const want = expectedCounts(project, scenario !== 'cold');
    if (!text.startsWith(want)) problems.push(`${PEER_LABELS[peer]}, ${SCENARIO_LABELS[scenario]}: the image's report is "${text}", expected "${want}..."`);
    const key = scenario === 'cold' ? 'cold' : 'changed';
    const first = reports.get(key);
    if (first === undefined) reports.set(key, text);
    else if (first !== text) problems.push(`${PEER_LABELS[peer]}, ${SCENARIO_LABELS[scenario]}: the image's report "${text}" differs from another builder's "${first}"`);
  };

  /** A cold build, the one-file rebuild and the unchanged rebuild of a fresh copy of the project. */
  const measure = async (peer: BuildPeer, label: string): Promise<Record<Scenario, Measurement>> => {
    await peer.reset();
    const context = path.join(work, `ctx-${label}`);
    await runCommand('cp', ['-a', project.dir, context]);
    try {
      const out = {} as Record<Scenario, Measurement>;
      for (const scenario of SCENARIOS) {
        if (scenario === 'rebuild') changeOneFile(project, context);
        const tag = `${run}/app:${label}-${scenario}`;
        await runCommand('sync', []);
        const cpu0 = machineBusy();
        const r = await peer.build(context, tag);
        out[scenario] = { seconds: r.seconds, cpu: machineBusy() - cpu0, steps: plainSteps(r.stderr) };
        check(peer.name, scenario, await peer.report(tag));
      }
      return out;
    } finally {
      removeTree(context);
    }
  };

  const load0 = os.loadavg();
  for (let round = 0; round < o.runs; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const name of order) {
      const m = await measure(peerOf(name), `${name}-${round}`);
      for (const s of SCENARIOS) results.set(`${name} ${s}`, [...(results.get(`${name} ${s}`) ?? []), m[s]]);
      log(`bench: round ${round + 1}/${o.runs} ${PEER_LABELS[name]}: ${SCENARIOS.map((s) => `${SCENARIO_LABELS[s]} ${secs(m[s].seconds)} s`).join(', ')} (load ${os.loadavg()[0]!.toFixed(2)})`);
    }
  }

  const times = (peer: PeerName, s: Scenario) => (results.get(`${peer} ${s}`) ?? []).map((m) => m.seconds);
  const med = (peer: PeerName, s: Scenario) => median(times(peer, s));
  const out: string[] = [''];
  out.push(`build: a 3-stage Dockerfile (compile, test, runtime) over a context of ${project.files} files (${project.sources} sources, ${(project.sourceBytes / 1048576).toFixed(1)} MB); ${o.runs} round(s), order rotated per round; written on ${fsType(work)}`);
  out.push(`builders: ${peers.map((p) => `${PEER_LABELS[p.name]} (${p.version})`).join('; ')}; every RUN with --network none`);
  out.push(`host: ${os.cpus().length} cores, node ${process.version}, load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  out.push('');
  out.push('wall time of the CLI, s: median (min-max)');
  const w = 34;
  out.push(`${''.padEnd(w)}${SCENARIOS.map((s) => SCENARIO_LABELS[s].padEnd(22)).join('')}`);
  for (const n of names) out.push(`${PEER_LABELS[n].padEnd(w)}${SCENARIOS.map((s) => stats(times(n, s)).padEnd(22)).join('')}`);
  out.push('');
  out.push('busy CPU s of the whole machine during the build, medians');
  for (const n of names) out.push(`${PEER_LABELS[n].padEnd(w)}${SCENARIOS.map((s) => secs(median((results.get(`${n} ${s}`) ?? []).map((m) => m.cpu))).padEnd(22)).join('')}`);

  if (names.includes('berth')) {
    const others = names.filter((n) => n !== 'berth');
    if (others.length) {
      out.push('');
      out.push('berth / builder, time (below 1: berth is faster)');
      for (const n of others) out.push(`  ${PEER_LABELS[n].padEnd(w - 2)}${SCENARIOS.map((s) => `${(med('berth', s) / med(n, s)).toFixed(2)}x`.padEnd(22)).join('')}`);
      out.push('');
      out.push('aims:');
      const aim = (text: string, peer: PeerName, s: Scenario, strict: boolean) => {
        if (!names.includes(peer)) return;
        const r = med('berth', s) / med(peer, s);
        out.push(`  ${text}: ${(strict ? r < 1 : r <= 1) ? 'MET' : 'NOT MET'} (${r.toFixed(2)}x, ${secs(med('berth', s))} s against ${secs(med(peer, s))} s)`);
      };
      aim('cold build no slower than BuildKit', 'buildkit', 'cold', false);
      aim('one-file rebuild faster than BuildKit', 'buildkit', 'rebuild', true);
      for (const peer of ['classic', 'buildah'] as const) {
        for (const s of ['cold', 'rebuild'] as const) aim(`${SCENARIO_LABELS[s]} faster than ${PEER_LABELS[peer]}`, peer, s, true);
      }
    }
  }

  // Where the time goes, from the progress logs of the builders that print one.
  for (const n of names.filter((x) => x === 'berth' || x === 'buildkit')) {
    for (const s of ['cold', 'rebuild'] as const) {
      const byName = new Map<string, number[]>();
      for (const m of results.get(`${n} ${s}`) ?? []) for (const step of m.steps) if (!step.cached) byName.set(step.name, [...(byName.get(step.name) ?? []), step.seconds]);
      const top = [...byName].map(([name, xs]) => [name, median(xs)] as const).sort((a, b) => b[1] - a[1]).slice(0, 4);
      out.push(`${PEER_LABELS[n]}, ${SCENARIO_LABELS[s]}, slowest steps (medians): ${top.map(([name, x]) => `${name.length > 48 ? `${name.slice(0, 45)}...` : name} ${x.toFixed(1)} s`).join('; ')}`);
    }
  }

  if (o.profile && names.includes('berth')) out.push('', await profileBerth(o, work, project, base, run));
  for (const n of notes) out.push(n);
  if (problems.length) out.push('', 'IMAGES NOT AS EXPECTED:', ...problems.slice(0, 20).map((p) => `  ${p}`));
  return { text: out.join('\n'), failed: problems.length > 0 };
}

/** One more cold build and one-file rebuild by berth, on a fresh agent under --cpu-prof. */
async function profileBerth(o: BuildSuiteOptions, work: string, project: BuildProject, base: string, run: string): Promise<string> {
  const dir = path.join(work, 'profile');
  const profiles = path.join(dir, 'cpuprofiles');
  fs.mkdirSync(profiles, { recursive: true });
  const berth = await startBerth({ dir, base, cleanup: o.cleanup, log: o.log }, o.cli, ['--cpu-prof', '--cpu-prof-dir', profiles]);
  const context = path.join(work, 'ctx-profile');
  await runCommand('cp', ['-a', project.dir, context]);
  const seconds: string[] = [];
  try {
    for (const s of ['cold', 'rebuild'] as const) {
      if (s === 'rebuild') changeOneFile(project, context);
      await runCommand('sync', []);
      const r = await berth.build(context, `${run}/app:profile-${s}`);
      const slow = plainSteps(r.stderr).filter((x) => !x.cached).sort((a, b) => b.seconds - a.seconds).slice(0, 3);
      seconds.push(`${SCENARIO_LABELS[s]} ${secs(r.seconds)} s (${slow.map((x) => `${x.name} ${x.seconds.toFixed(1)} s`).join('; ')})`);
    }
  } finally {
    removeTree(context);
    await berth.stop();
  }
  const file = fs.readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return 'berth agent CPU profile: the agent wrote none (did it exit cleanly?)';
  const keep = path.join(os.tmpdir(), `berth-bench-build-agent-${Date.now()}.cpuprofile`);
  fs.copyFileSync(path.join(profiles, file), keep);
  return `berth agent CPU profile over a cold build and a one-file rebuild under the profiler: ${seconds.join(', ')}; saved as ${keep}:\n${summarizeProfile(keep)}`;
}
