// npm run bench: cold pull + unpack of a ~240 MB, 5-layer, 14k-file image from a local registry,
// by berth, skopeo + umoci and containerd, N times each in alternating order (issue 2).
//
//   npm run bench -- [--runs N] [--tools berth,skopeo,containerd,floor] [--profile]
//                    [--fs loop|tmp|DIR] [--drop-caches] [--json FILE] [--files N] [--mb N]
//                    [--suite pull|containers|cluster|tls|network|jobs|build|all] [--start-runs N] [--count N] [--concurrency N] [--probe on|off]
//                    [--cluster-runs N] [--replicas N,N] [--cluster-sides floor,berth,swarm]
//                    [--plain-commit REV] [--tls-commit REV] [--keep-plain-build] [--tls-calls N] [--tls-channel-calls N] [--tls-parts cli,grpc,apply]
//                    [--net-runs N] [--net-seconds S] [--net-round-trips N] [--net-connects N] [--net-attach-runs N]
//                    [--net-backends host-gw,vxlan] [--net-parts pods,connect,dns,proxy,attach]
//                    [--job-completions N] [--job-parallelism N] [--job-runs N] [--job-floor N]
//                    [--build-runs N] [--build-files N] [--build-peers berth,buildkit,classic,buildah]
//
// Environment: BENCH_RUNS, BENCH_TOOLS, BENCH_PROFILE=1, BENCH_FS, BENCH_SUITE do the same as the flags.
// Sizes are MB = 2^20 bytes. --suite containers (issue 3, containers.ts): start latency of raw runc,
// berth and ctr run --rm (--start-runs rounds, default 20), then --count containers (default 100).
// --suite cluster (issue 4, cluster.ts): time from berth apply to N replicas running (--replicas,
// default 10,50) against N sequential berth run -d and Docker Swarm, and a rolling update of the
// largest N; --cluster-runs rounds (default 3). The default suite is pull.
// --suite tls (issue 9, tls.ts): berth with mutual TLS against a plaintext build of --plain-commit
// (default 1f013a6, built into a temporary git worktree, removed at the end unless --keep-plain-build):
// `berth get pods` by a fresh CLI (--tls-calls per build, default 30), grpc-js List calls on new
// clients and on one channel (--tls-channel-calls, default 200), and apply -> N running (--replicas,
// default 50; --cluster-runs per build, default 3); --tls-commit REV builds the TLS side from REV
// too, instead of this checkout. Not part of --suite all.
// --suite network (issue 10, network.ts): on two network-namespace hosts per pod network backend
// (--net-backends, default host-gw,vxlan), pod-to-pod TCP throughput (iperf3, --net-seconds, default 5)
// and request/response latency (--net-round-trips per run, default 2000) against host-to-host on the
// same veths, --net-runs rounds (default 5); connect latency through a ClusterIP against the pod IP
// (--net-connects each, default 1000); the dns and proxy suites (dns.ts, proxy.ts); and a pod's
// network attach + detach by the agent's network module (--net-attach-runs, default 30). Each figure
// against its aim, one summary table at the end. Needs iperf3 (Debian's). Not part of --suite all
// (a few minutes more, two clusters, and iperf3, which scripts/setup.sh does not install).
//
// --suite jobs (issue 11, jobs.ts): a Job of --job-completions short pods (default 1000),
// --job-parallelism at a time (default 20), from apply to Complete, against as many sequential
// `berth run --rm` on the same agent (--job-floor of them, default 100), as pods per second;
// --job-runs rounds (default 1). Not part of --suite all.
//
// --suite build (build.ts): berth build against Docker's BuildKit and classic builder (Debian's
// docker.io, a dockerd started here) and buildah (Debian's), on one 3-stage Dockerfile over a context
// of --build-files files (default 10000): a cold build (every cache emptied), a rebuild after one
// source file changed, and an unchanged rebuild; --build-runs rounds (default 5), medians, berth's
// ratio to each and the issue's aims. Written on --fs like the pull suite; --profile adds one
// profiled berth build. Not part of --suite all (minutes, and docker.io and buildah to install).
//
// --fs loop (the default) unpacks onto a fresh journaled ext4 in a loop-mounted file, the same for
// every tool: on a journal-less ext4 (this machine's /) inode allocation scans every inode deleted
// in the last minutes (ext4's recently_deleted()), so each run would pay for the previous run's
// cleanup and times would drift upwards run after run.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startRegistry } from '../fixtures/registry';
import { buildSuite } from './build';
import { PEERS, type PeerName } from './build-peers';
import { Cleanup } from './cleanup';
import { clusterSuite, SIDES, type Side } from './cluster';
import { containersSuite } from './containers';
import { benchImage, DEFAULT_CORPUS, mb, pushBenchImage, type BenchImage } from './corpus';
import { jobsSuite } from './jobs';
import { networkSuite, NETWORK_BACKENDS, NETWORK_PARTS, type NetworkPart } from './network';
import type { PodNetworkBackend } from './network-cluster';
import { summarizeProfile } from './profile';
import { runCommand } from './proc';
import { tlsSuite, TLS_PARTS, type TlsPart } from './tls';
import { fsType, workDir } from './scratch-fs';
import { RUNNERS, TOOL_LABELS, type BenchContext, type Sample, type ToolName } from './tools';

const ALL_TOOLS: ToolName[] = ['berth', 'skopeo', 'containerd', 'floor'];
const RSS_TARGET = 150 * 1024 * 1024;
const TIME_TARGET = 0.5; // berth / containerd

const BINARIES: Record<ToolName, string[]> = {
  berth: [],
  skopeo: ['skopeo', 'umoci'],
  containerd: ['/usr/bin/containerd', 'ctr'],
  floor: ['curl', 'tar', 'gzip'],
};

const log = (line: string) => process.stderr.write(`${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      tools: { type: 'string' },
      profile: { type: 'boolean' },
      'drop-caches': { type: 'boolean' },
      fs: { type: 'string' },
      json: { type: 'string' },
      files: { type: 'string' },
      mb: { type: 'string' },
      suite: { type: 'string' },
      'start-runs': { type: 'string' },
      count: { type: 'string' },
      concurrency: { type: 'string' },
      probe: { type: 'string' },
      'cluster-runs': { type: 'string' },
      replicas: { type: 'string' },
      'cluster-sides': { type: 'string' },
      'plain-commit': { type: 'string' },
      'tls-commit': { type: 'string' },
      'keep-plain-build': { type: 'boolean' },
      'tls-calls': { type: 'string' },
      'tls-channel-calls': { type: 'string' },
      'tls-parts': { type: 'string' },
      'net-runs': { type: 'string' },
      'net-seconds': { type: 'string' },
      'net-round-trips': { type: 'string' },
      'net-connects': { type: 'string' },
      'net-attach-runs': { type: 'string' },
      'net-backends': { type: 'string' },
      'net-parts': { type: 'string' },
      'job-completions': { type: 'string' },
      'job-parallelism': { type: 'string' },
      'job-runs': { type: 'string' },
      'job-floor': { type: 'string' },
      'build-runs': { type: 'string' },
      'build-files': { type: 'string' },
      'build-peers': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    const lines = fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => !l.startsWith('"use strict"'));
    const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
    process.stdout.write(header.join('\n').replace(/^\/\/ ?/gm, '') + '\n');
    process.exit(0);
  }
  const runs = Number(values.runs ?? process.env.BENCH_RUNS ?? 3);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs ?? process.env.BENCH_RUNS}`);
  const tools = (values.tools ?? process.env.BENCH_TOOLS ?? ALL_TOOLS.join(',')).split(',').map((s) => s.trim()).filter(Boolean) as ToolName[];
  for (const t of tools) if (!ALL_TOOLS.includes(t)) throw new Error(`unknown tool "${t}" (known: ${ALL_TOOLS.join(', ')})`);
  const suite = values.suite ?? process.env.BENCH_SUITE ?? 'pull';
  if (!['pull', 'containers', 'cluster', 'tls', 'network', 'jobs', 'build', 'all'].includes(suite)) throw new Error(`--suite must be pull, containers, cluster, tls, network, jobs, build or all, not ${suite}`);
  const int = (name: string, v: string | undefined, dflt: number, min: number) => {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not ${v}`);
    return n;
  };
  if (values.probe !== undefined && !['on', 'off'].includes(values.probe)) throw new Error(`--probe must be on or off, not ${values.probe}`);
  const replicas = (values.replicas ?? '10,50').split(',').map((r) => int('replicas', r.trim(), 0, 1));
  const sides = (values['cluster-sides'] ?? SIDES.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as Side[];
  for (const x of sides) if (!SIDES.includes(x)) throw new Error(`--cluster-sides: unknown side "${x}" (known: ${SIDES.join(', ')})`);
  const tlsParts = (values['tls-parts'] ?? TLS_PARTS.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as TlsPart[];
  for (const x of tlsParts) if (!TLS_PARTS.includes(x)) throw new Error(`--tls-parts: unknown part "${x}" (known: ${TLS_PARTS.join(', ')})`);
  const netParts = (values['net-parts'] ?? NETWORK_PARTS.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as NetworkPart[];
  for (const x of netParts) if (!NETWORK_PARTS.includes(x)) throw new Error(`--net-parts: unknown part "${x}" (known: ${NETWORK_PARTS.join(', ')})`);
  const netBackends = (values['net-backends'] ?? NETWORK_BACKENDS.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as PodNetworkBackend[];
  for (const x of netBackends) if (!NETWORK_BACKENDS.includes(x)) throw new Error(`--net-backends: unknown backend "${x}" (known: ${NETWORK_BACKENDS.join(', ')})`);
  const buildPeers = (values['build-peers'] ?? PEERS.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as PeerName[];
  for (const x of buildPeers) if (!PEERS.includes(x)) throw new Error(`--build-peers: unknown builder "${x}" (known: ${PEERS.join(', ')})`);
  return {
    build: {
      runs: int('build-runs', values['build-runs'], 5, 1),
      files: int('build-files', values['build-files'], 10_000, 3),
      peers: buildPeers,
    },
    network: {
      runs: int('net-runs', values['net-runs'], 5, 1),
      seconds: int('net-seconds', values['net-seconds'], 5, 1),
      roundTrips: int('net-round-trips', values['net-round-trips'], 2000, 10),
      connects: int('net-connects', values['net-connects'], 1000, 10),
      attachRuns: int('net-attach-runs', values['net-attach-runs'], 30, 1),
      backends: netBackends,
      parts: netParts,
    },
    tls: {
      plainCommit: values['plain-commit'] ?? '1f013a6',
      tlsCommit: values['tls-commit'],
      keepBuild: Boolean(values['keep-plain-build']),
      calls: int('tls-calls', values['tls-calls'], 30, 1),
      channelCalls: int('tls-channel-calls', values['tls-channel-calls'], 200, 1),
      replicas: values.replicas === undefined ? [50] : replicas,
      parts: tlsParts,
    },
    jobs: {
      completions: int('job-completions', values['job-completions'], 1000, 1),
      parallelism: int('job-parallelism', values['job-parallelism'], 20, 1),
      runs: int('job-runs', values['job-runs'], 1, 1),
      floorCount: int('job-floor', values['job-floor'], 100, 1),
    },
    clusterRuns: int('cluster-runs', values['cluster-runs'], 3, 1),
    replicas,
    sides,
    suite,
    startRuns: int('start-runs', values['start-runs'], 20, 1),
    count: int('count', values.count, 100, 0),
    concurrency: int('concurrency', values.concurrency, 4, 1),
    probe: values.probe !== 'off',
    runs,
    tools,
    profile: Boolean(values.profile) || process.env.BENCH_PROFILE === '1',
    dropCaches: Boolean(values['drop-caches']),
    fs: values.fs ?? process.env.BENCH_FS ?? 'loop',
    json: values.json,
    files: values.files ? Number(values.files) : DEFAULT_CORPUS.files,
    bytes: values.mb ? Number(values.mb) * 1024 * 1024 : DEFAULT_CORPUS.bytes,
  };
}

function have(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$1"`, 'have', bin], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function report(image: BenchImage, samples: Sample[], tools: ToolName[], runs: number, where: string): string {
  const out: string[] = [];
  const dirs = image.layers.reduce((a, l) => a + l.dirs, 0);
  const links = image.layers.reduce((a, l) => a + l.symlinks, 0);
  out.push('');
  out.push(`image: ${image.layers.length} gzip layers, ${image.files} files + ${dirs} dirs + ${links} symlinks; ${mb(image.compressedBytes)} MB compressed, ${mb(image.uncompressedBytes)} MB uncompressed (tar), ${mb(image.contentBytes)} MB of file content`);
  out.push(`       layers (compressed/uncompressed MB, files): ${image.layers.map((l) => `${mb(l.descriptor.size)}/${mb(l.tarBytes)} ${l.files}`).join(', ')}`);
  out.push(`host: ${os.cpus().length} cores, ${mb(os.totalmem(), 0)} MB RAM, node ${process.version}, load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  out.push(`runs: ${runs} per tool, cold (fresh root each run), order rotated per round; unpacked on ${where}; MB = 2^20 bytes`);
  out.push('');
  const berth = samples.filter((s) => s.tool === 'berth');
  const berthMedian = berth.length ? median(berth.map((s) => s.seconds)) : undefined;
  const header = ['tool', 'median s', 'min s', 'max s', 'MB/s comp', 'MB/s uncomp', 'CPU s (sys)', 'berth/tool'];
  const rows: string[][] = [];
  for (const tool of tools) {
    const mine = samples.filter((s) => s.tool === tool);
    if (mine.length === 0) continue;
    const secs = mine.map((s) => s.seconds);
    const med = median(secs);
    rows.push([
      TOOL_LABELS[tool],
      med.toFixed(2),
      Math.min(...secs).toFixed(2),
      Math.max(...secs).toFixed(2),
      (image.compressedBytes / 1048576 / med).toFixed(1),
      (image.uncompressedBytes / 1048576 / med).toFixed(1),
      `${median(mine.map((s) => s.cpuSeconds)).toFixed(2)} (${median(mine.map((s) => s.sysSeconds)).toFixed(2)})`,
      berthMedian !== undefined && tool !== 'berth' ? `${(berthMedian / med).toFixed(2)}x time` : '',
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(line(header));
  for (const r of rows) out.push(line(r));
  out.push('');

  for (const tool of tools) {
    const mine = samples.filter((s) => s.tool === tool);
    out.push(`${TOOL_LABELS[tool]}: ${mine.map((s) => `${s.seconds.toFixed(2)}${s.parts ? ` (${Object.entries(s.parts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' + ')})` : ''}`).join(', ')} s`);
  }
  if (berth.length) {
    const done = berth.map((s) => s.layerDone ?? []);
    out.push(`berth timeline (s after the CLI started; per run): ${berth.map((s, i) => `resolved ${s.resolvedAt?.toFixed(2) ?? '?'}, layers done ${done[i]!.map((x) => x.toFixed(2)).join(' ')}`).join(' | ')}`);
    const peaks = berth.map((s) => s.rss!.peakSampled);
    const hwms = berth.map((s) => s.rss!.hwm);
    const peak = Math.max(...peaks, ...hwms);
    out.push(
      `berth agent RSS: peak (sampled every 50 ms) median ${mb(median(peaks))} MB, max ${mb(Math.max(...peaks))} MB; VmHWM max ${mb(Math.max(...hwms))} MB; idle before pull ${mb(median(berth.map((s) => s.rss!.idle)))} MB`,
    );
    out.push(`  target < ${mb(RSS_TARGET, 0)} MB: ${peak < RSS_TARGET ? 'MET' : 'NOT MET'} (${mb(peak)} MB = ${((100 * peak) / RSS_TARGET).toFixed(0)}% of target)`);
    const cd = samples.filter((s) => s.tool === 'containerd');
    if (cd.length && berthMedian !== undefined) {
      const ratio = berthMedian / median(cd.map((s) => s.seconds));
      out.push(`  time target berth/containerd <= ${TIME_TARGET.toFixed(2)}x: ${ratio <= TIME_TARGET ? 'MET' : 'NOT MET'} (${ratio.toFixed(2)}x)`);
    }
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const opts = options();
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const cli = path.resolve(__dirname, '../../cli/main.js');
    if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
    if (opts.suite === 'containers' || opts.suite === 'all') {
      const text = await containersSuite({ runs: opts.startRuns, count: opts.count, concurrency: opts.concurrency, probe: opts.probe, cli, cleanup, log });
      process.stdout.write(`${text}\n`);
      await cleanup.run(); // the next suite starts from a quiet host
    }
    if (opts.suite === 'cluster' || opts.suite === 'all') {
      const text = await clusterSuite({ runs: opts.clusterRuns, replicas: opts.replicas, sides: opts.sides, cli, cleanup, log });
      process.stdout.write(`${text}\n`);
      await cleanup.run();
    }
    if (opts.suite === 'tls') {
      const text = await tlsSuite({ ...opts.tls, runs: opts.clusterRuns, cli, cleanup, log });
      process.stdout.write(`${text}\n`);
      return;
    }
    if (opts.suite === 'build') {
      const { text, failed } = await buildSuite({ ...opts.build, fs: opts.fs, profile: opts.profile, cli, cleanup, log });
      process.stdout.write(`${text}\n`);
      if (failed) process.exitCode = 1;
      return;
    }
    if (opts.suite === 'jobs') {
      process.stdout.write(`${await jobsSuite({ ...opts.jobs, cli, cleanup, log })}\n`);
      return;
    }
    if (opts.suite === 'network') {
      const { text, failed } = await networkSuite({ ...opts.network, cleanup, log });
      process.stdout.write(`${text}\n`);
      if (failed) process.exitCode = 1;
      return;
    }
    if (opts.suite === 'containers' || opts.suite === 'cluster') return;
    const tools = opts.tools.filter((t) => {
      const missing = BINARIES[t].filter((b) => !have(b));
      if (missing.length) log(`bench: skipping ${t}: ${missing.join(', ')} not installed`);
      return missing.length === 0;
    });
    log(`bench: ${opts.runs} run(s) each of ${tools.join(', ')}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    const image = await benchImage({ ...DEFAULT_CORPUS, files: opts.files, bytes: opts.bytes, log });
    const registry = await startRegistry(cleanup);
    const repo = 'bench';
    const t0 = Date.now();
    await pushBenchImage(registry.host, repo, '1', image);
    log(`bench: pushed to ${registry.host}/${repo}:1 in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const work = await workDir(opts.fs, cleanup, log, 'unpacking');
    const ctx: BenchContext = {
      image, ref: `${registry.host}/${repo}:1`, registryBase: registry.base, repo, work, cli, cleanup, log,
    };

    const samples: Sample[] = [];
    for (let round = 0; round < opts.runs; round++) {
      const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
      for (const tool of order) {
        // Nothing of the previous run may still be written back while this one is timed.
        await runCommand('sync', []);
        if (opts.dropCaches) fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
        const s = await RUNNERS[tool](ctx, round);
        samples.push(s);
        const extra = s.rss ? `, agent RSS peak ${mb(s.rss.peakSampled)} MB` : s.parts ? ` (${Object.entries(s.parts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' + ')})` : '';
        log(`bench: round ${round + 1}/${opts.runs} ${tool}: ${s.seconds.toFixed(2)} s, CPU ${s.cpuSeconds.toFixed(2)} s (sys ${s.sysSeconds.toFixed(2)})${extra}`);
      }
    }

    let profileText = '';
    if (opts.profile && tools.includes('berth')) {
      const dir = fs.mkdtempSync(path.join(work, 'profile-'));
      await runCommand('sync', []);
      const s = await RUNNERS.berth({ ...ctx, agentNodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] }, opts.runs);
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      const keep = path.join(os.tmpdir(), `berth-bench-agent-${Date.now()}.cpuprofile`);
      if (files.length) {
        fs.copyFileSync(path.join(dir, files[0]!), keep);
        profileText = `\nberth agent CPU profile (one extra run, ${s.seconds.toFixed(2)} s under the profiler; saved as ${keep}):\n${summarizeProfile(keep)}`;
      } else {
        profileText = '\nberth agent CPU profile: the agent wrote no profile (did it exit cleanly?)';
      }
    }

    const text = report(image, samples, tools, opts.runs, fsType(work)) + profileText + '\n';
    process.stdout.write(text);
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ image: { ...image, config: undefined, manifest: undefined }, samples }, null, 2));
  } finally {
    await cleanup.run();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
