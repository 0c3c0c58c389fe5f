// The tls suite (issue 9): what mutual TLS costs. berth as built here, whose controller serves only
// mutual TLS, against a build of the last commit before it (1f013a6: plaintext gRPC, the CLI takes
// --server, agents join without a token), both measured in the same run, alternately:
//
// 1. `berth get pods` as a user types it: a fresh CLI process per call against a controller of each
//    build (no agent; a few pending pods so that the list is not empty), and `berth --help` of each
//    build beside it: the CLI's own start, without a connection. (Not a floor to subtract: the two
//    builds load their modules at different moments; the TLS CLI reads YAML before any verb.)
// 2. In this process, with grpc-js: a new client and its first List (credentials, TCP, HTTP/2 and,
//    for TLS, the handshake with the admin's client certificate), and List calls on one open
//    channel (the per-call cost once connected).
// 3. apply -> N running (the cluster suite's measurement, cluster-berth.ts) on a controller and an
//    agent of each build, the image already on the host.
//
// Ratios are TLS / plain: above 1, berth with TLS takes that much longer. The peer is a commit, not
// a switch: between the two, RBAC on every call came with TLS, and Pod Security admission, seccomp
// and a cgroup per pod came after it. Parts 1 and 2 measure mostly the transport; part 3 all of it.

import type * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { loadClusterApi, type ClusterClient } from '../../proto/grpc';
import type { Pod } from '../../proto/resources';
import type { Cleanup } from './cleanup';
import { images } from './cluster';
import { startBerthCluster, startController, type BenchController, type BerthCluster, type Transport } from './cluster-berth';
import { median, now, REPLICA_COMMAND } from './cluster-common';
import { dockerArchive } from './docker-archive';
import { buildCommit } from './old-build';
import { runCommand } from './proc';
import { removeTree } from './tools';

export const TLS_PARTS = ['cli', 'grpc', 'apply'] as const;
export type TlsPart = (typeof TLS_PARTS)[number];

export interface TlsOptions {
  /** The plaintext build's commit (default 1f013a6, the last before TLS). */
  plainCommit: string;
  /** A commit to build for the TLS side instead of this checkout (e.g. the TLS commit alone, without what came after it). */
  tlsCommit?: string | undefined;
  /** Keep the plaintext build's worktree for the next run. */
  keepBuild: boolean;
  /** Fresh CLI processes per build (part 1). */
  calls: number;
  /** List calls per build on one channel (part 2); a tenth of it (at least 10) new clients. */
  channelCalls: number;
  /** Runs per build of apply -> N running (part 3). */
  runs: number;
  replicas: number[];
  parts: TlsPart[];
  cli: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

const TRANSPORTS: Transport[] = ['plain', 'tls'];
/** Pending pods in the list `berth get pods` prints. */
const LISTED_PODS = 5;

/** Nearest-rank percentile. */
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

/** The two builds in an order that alternates with `i`, so that neither always goes first. */
const rotated = (i: number): Transport[] => (i % 2 === 0 ? TRANSPORTS : [...TRANSPORTS].reverse());

type Samples = Record<Transport, number[]>;
const samples = (): Samples => ({ plain: [], tls: [] });

function unary<T>(fn: (cb: (err: grpc.ServiceError | null, r?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r as T))));
}

/** Seconds of one List of the default namespace's pods. */
async function timedList(client: ClusterClient): Promise<number> {
  const t0 = now();
  const r = await unary<{ items: unknown[] }>((cb) => client.list({ kind: 'Pod', namespace: 'default' }, cb));
  const s = now() - t0;
  if (r.items.length !== LISTED_PODS) throw new Error(`List returned ${r.items.length} pods, not ${LISTED_PODS}`);
  return s;
}

export async function tlsSuite(o: TlsOptions): Promise<string> {
  const { cleanup, log } = o;
  const loadAtStart = os.loadavg();
  // Registered first, so removed last: after every process running from it has stopped.
  const old = await buildCommit(o.plainCommit, { cleanup, log, keep: o.keepBuild });
  const other = o.tlsCommit === undefined ? undefined : await buildCommit(o.tlsCommit, { cleanup, log, keep: o.keepBuild, prefix: 'berth-tls' });
  const head = other?.commit.slice(0, 7) ?? (await runCommand('git', ['-C', path.dirname(o.cli), 'rev-parse', '--short', 'HEAD']).catch(() => undefined))?.stdout.trim() ?? 'HEAD';
  const clis: Record<Transport, string> = { plain: old.cli, tls: other?.cli ?? o.cli };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-tls-'));
  cleanup.teardown(() => removeTree(work));

  const cliRuns = { getPods: samples(), help: samples() };
  const grpcRuns = { connect: samples(), call: samples() };
  const applyRuns = new Map<number, Samples>();

  if (o.parts.includes('cli') || o.parts.includes('grpc')) {
    const controllers = {} as Record<Transport, BenchController>;
    for (const t of TRANSPORTS) controllers[t] = await startController(clis[t], path.join(work, `controller-${t}`), cleanup, t);
    log(`bench: controllers: plain (${old.commit.slice(0, 7)}) ${controllers.plain.address}, tls (${head}) ${controllers.tls.address}`);
    const manifest = path.join(work, 'pods.yaml');
    const pod = (i: number): Pod => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `bench-pod-${i}`, namespace: 'default' },
      spec: { containers: [{ name: 'box', image: 'berth-bench/box:1', command: REPLICA_COMMAND }] },
    });
    fs.writeFileSync(manifest, Array.from({ length: LISTED_PODS }, (_, i) => stringify(pod(i))).join('---\n'));
    const cli = (t: Transport, ...args: string[]) => runCommand(process.execPath, [clis[t], ...controllers[t].cliArgs, ...args]);
    for (const t of TRANSPORTS) {
      await cli(t, 'apply', '-f', manifest);
      // The first call also warms the page cache for the build's files.
      const listed = (await cli(t, 'get', 'pods')).stdout;
      const missing = Array.from({ length: LISTED_PODS }, (_, i) => `bench-pod-${i}`).filter((n) => !listed.includes(n));
      if (missing.length) throw new Error(`berth get pods (${t}) does not list ${missing.join(', ')}:\n${listed}`);
      await runCommand(process.execPath, [clis[t], '--help']);
    }

    if (o.parts.includes('cli')) {
      for (let i = 0; i < o.calls; i++) {
        for (const t of rotated(i)) {
          cliRuns.getPods[t].push((await cli(t, 'get', 'pods')).seconds);
          cliRuns.help[t].push((await runCommand(process.execPath, [clis[t], '--help'])).seconds);
        }
        if ((i + 1) % 10 === 0) log(`bench: berth get pods: ${i + 1}/${o.calls} calls of each build`);
      }
    }

    if (o.parts.includes('grpc')) {
      const { Cluster } = loadClusterApi().berth.cluster.v1;
      // A channel of its own (no subchannel shared with another client): each new client connects.
      const client = (t: Transport) => new Cluster(controllers[t].address, controllers[t].credentials(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as ClusterClient;
      const connects = Math.max(10, Math.round(o.channelCalls / 10));
      for (let i = 0; i < connects + 3; i++) {
        for (const t of rotated(i)) {
          const t0 = now();
          const c = client(t);
          try {
            await timedList(c);
            if (i >= 3) grpcRuns.connect[t].push(now() - t0); // the first three warm up
          } finally {
            c.close();
          }
        }
      }
      const open = { plain: client('plain'), tls: client('tls') };
      try {
        for (let i = 0; i < o.channelCalls + 20; i++) {
          for (const t of rotated(i)) {
            const s = await timedList(open[t]);
            if (i >= 20) grpcRuns.call[t].push(s);
          }
        }
      } finally {
        open.plain.close();
        open.tls.close();
      }
      log(`bench: grpc-js: ${connects} new clients and ${o.channelCalls} calls on one channel per build`);
    }
    // The next part starts without them.
    for (const t of TRANSPORTS) await controllers[t].daemon.stop(5000);
  }

  if (o.parts.includes('apply')) {
    const { built, refs } = await images();
    const archive = path.join(work, 'images.tar');
    fs.writeFileSync(archive, await dockerArchive([{ tag: refs[0].ref, image: built[0] }]));
    const clusters = {} as Record<Transport, BerthCluster>;
    for (const t of TRANSPORTS) clusters[t] = await startBerthCluster(path.join(work, `cluster-${t}`), archive, clis[t], cleanup, log, t);
    let seq = 0;
    for (let round = 0; round < o.runs; round++) {
      for (const n of o.replicas) {
        for (const t of rotated(round)) {
          const name = `bench-${t}-${round}-${n}-${seq++}`;
          const s = await clusters[t].create(name, n, refs[0], 30_000 + n * 2_000);
          await clusters[t].remove(name);
          if (!applyRuns.has(n)) applyRuns.set(n, samples());
          applyRuns.get(n)![t].push(s);
          log(`bench: round ${round + 1}/${o.runs} ${t} N=${n}: ${s.toFixed(2)} s`);
        }
      }
    }
  }

  // ---- the report ----
  const ms = (s: number) => (s * 1000).toFixed(1);
  const rows: string[][] = [['', `plain (${old.commit.slice(0, 7)})`, `TLS (${head})`, 'TLS/plain']];
  const row = (label: string, xs: Samples, stat: (v: number[]) => number, fmt: (s: number) => string) => {
    if (xs.plain.length === 0 || xs.tls.length === 0) return;
    const p = stat(xs.plain);
    const t = stat(xs.tls);
    rows.push([label, fmt(p), fmt(t), `${(t / p).toFixed(2)}x`]);
  };
  const med = median;
  const p90 = (xs: number[]) => percentile(xs, 90);
  const n = (xs: Samples) => xs.plain.length;
  /** A row of the difference of two rows' medians (what one part adds to the other). */
  const beyond = (label: string, whole: Samples, part: Samples) => {
    if (!n(whole) || !n(part)) return;
    const d = (t: Transport) => med(whole[t]) - med(part[t]);
    rows.push([label, ms(d('plain')), ms(d('tls')), d('plain') > 0 && d('tls') > 0 ? `${(d('tls') / d('plain')).toFixed(2)}x` : '']);
  };
  row(`berth get pods, fresh CLI (${n(cliRuns.getPods)} each): median ms`, cliRuns.getPods, med, ms);
  row('  p90 ms', cliRuns.getPods, p90, ms);
  row(`berth --help, fresh CLI, no connection: median ms`, cliRuns.help, med, ms);
  row(`grpc-js: new client + first List (${n(grpcRuns.connect)} each): median ms`, grpcRuns.connect, med, ms);
  beyond('  beyond one call on an open channel (medians): ms', grpcRuns.connect, grpcRuns.call);
  row(`grpc-js: List on one open channel (${n(grpcRuns.call)} each): median ms`, grpcRuns.call, med, (s) => (s * 1000).toFixed(2));
  row('  p90 ms', grpcRuns.call, p90, (s) => (s * 1000).toFixed(2));
  for (const [replicas, xs] of applyRuns) {
    row(`apply -> ${replicas} running (${n(xs)} runs each): median s`, xs, med, (s) => s.toFixed(2));
    rows.push([`  all runs, s`, xs.plain.map((s) => s.toFixed(2)).join(' '), xs.tls.map((s) => s.toFixed(2)).join(' '), '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const out: string[] = [''];
  out.push(`tls: berth at ${head} (mutual TLS, the admin kubeconfig; agents join with a token) against berth at ${old.commit.slice(0, 7)} (plaintext), same run, alternating`);
  out.push(`host: ${os.cpus().length} cores, node ${process.version}, load average at start ${loads(loadAtStart)}, at end ${loads(os.loadavg())}; ${new Date().toISOString().slice(0, 10)}`);
  out.push('');
  for (const r of rows) out.push(line(r));
  return out.join('\n');
}
