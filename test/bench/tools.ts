// The measured pulls: berth (a real agent process and the CLI), skopeo + umoci, containerd (ctr),
// and a floor (curl | tar -xz of every layer at once). Each run starts cold: a fresh data root,
// OCI layout, containerd root or directory, removed again afterwards.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, unmountUnder } from './cleanup';
import type { BenchImage } from './corpus';
import { memoryOf, RssSampler, runCommand, startDaemon, waitFor, type CommandResult } from './proc';

export type ToolName = 'berth' | 'skopeo' | 'containerd' | 'floor';

export const TOOL_LABELS: Record<ToolName, string> = {
  berth: 'berth (agent + CLI)',
  skopeo: 'skopeo copy + umoci unpack',
  containerd: 'containerd (ctr pull)',
  floor: 'reference: curl | tar -xz',
};

export interface Sample {
  tool: ToolName;
  round: number;
  seconds: number;
  /** Named parts of `seconds` (skopeo's copy and umoci's unpack). */
  parts?: Record<string, number>;
  /** CPU seconds of every process involved (daemon + client), user + system. */
  cpuSeconds: number;
  /** The system part of cpuSeconds. */
  sysSeconds: number;
  /** berth only: the agent's RSS. */
  rss?: { peakSampled: number; hwm: number; idle: number; samples: number };
  /** berth only: when each layer finished, seconds after the CLI started. */
  layerDone?: number[];
  /** berth only: when the CLI printed the resolved reference (manifest fetched), seconds after it started. */
  resolvedAt?: number;
  /** Regular files found unpacked (checked against the image). */
  files: number;
}

export interface BenchContext {
  image: BenchImage;
  /** 127.0.0.1:PORT/bench:1 */
  ref: string;
  /** http://127.0.0.1:PORT */
  registryBase: string;
  repo: string;
  /** Scratch directory; each run makes its own subdirectory. */
  work: string;
  cli: string;
  cleanup: Cleanup;
  /** Extra node flags for the agent (e.g. --cpu-prof). */
  agentNodeFlags?: string[];
  log: (line: string) => void;
}

const TICK = 100; // CLK_TCK on Linux

/** [user, system] CPU seconds of a process (+ its reaped children's, for `self`). */
function cpuOf(pid: number | 'self', withChildren = false): Cpu {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised comm; utime is field 14 overall, i.e. index 11 here.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return withChildren ? [f[13]! / TICK, f[14]! / TICK] : [f[11]! / TICK, f[12]! / TICK];
  } catch {
    return [0, 0];
  }
}

type Cpu = [number, number];
const plus = (a: Cpu, b: Cpu): Cpu => [a[0] + b[0], a[1] + b[1]];
const minus = (a: Cpu, b: Cpu): Cpu => [a[0] - b[0], a[1] - b[1]];

/** CPU of the children this process has reaped so far. */
const childrenCpu = (): Cpu => cpuOf('self', true);

/** Regular files under `dir` (not following symlinks). */
export function countFiles(dir: string): number {
  let n = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) stack.push(path.join(d, e.name));
      else if (e.isFile()) n++;
    }
  }
  return n;
}

function scratch(ctx: BenchContext, name: string): string {
  const dir = fs.mkdtempSync(path.join(ctx.work, `${name}-`));
  ctx.cleanup.teardown(() => removeTree(dir));
  return dir;
}

export function removeTree(dir: string): void {
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function expectFiles(ctx: BenchContext, tool: string, found: number): void {
  if (found !== ctx.image.files) {
    throw new Error(`${tool}: found ${found} regular files unpacked, the image has ${ctx.image.files}`);
  }
}

// ---- berth ----

export async function runBerth(ctx: BenchContext, round: number): Promise<Sample> {
  const dir = scratch(ctx, `berth-${round}`);
  const dataRoot = path.join(dir, 'data');
  const socket = path.join(dir, 'agent.sock');
  const agent = startDaemon(process.execPath, [...(ctx.agentNodeFlags ?? []), ctx.cli, 'agent', '--data-root', dataRoot, '--socket', socket]);
  ctx.cleanup.teardown(() => agent.stop());
  try {
    await waitFor('berth agent', () => {
      if (agent.child.exitCode !== null) throw new Error(`berth agent exited (${agent.child.exitCode}): ${agent.output()}`);
      return agent.output().includes('serving') && fs.existsSync(socket);
    }, agent.output);
    const idle = memoryOf(agent.pid)?.rss ?? 0;
    const sampler = new RssSampler(agent.pid, 50);
    const layerStart = new Map<string, number>();
    const layerDone: number[] = [];
    let resolvedAt: number | undefined;
    const cpu0 = plus(cpuOf(agent.pid), childrenCpu());
    sampler.start();
    let res: CommandResult;
    try {
      res = await runCommand(process.execPath, [ctx.cli, '--agent', socket, 'pull', ctx.ref], {
        onLine: (line, at) => {
          if (resolvedAt === undefined && line.includes('Pulling from')) resolvedAt = at;
          const m = /^([0-9a-f]{12}): (.*)$/.exec(line);
          if (!m) return;
          if (!layerStart.has(m[1]!)) layerStart.set(m[1]!, at);
          if (m[2] === 'Pull complete') layerDone.push(at);
        },
      });
    } finally {
      sampler.stop();
    }
    const cpu = minus(plus(cpuOf(agent.pid), childrenCpu()), cpu0);
    const hwm = memoryOf(agent.pid)?.hwm ?? 0;
    await agent.stop();
    if (agent.child.exitCode !== 0 && agent.child.signalCode === null) {
      ctx.log(`berth agent exited ${agent.child.exitCode}: ${agent.output().slice(-500)}`);
    }
    // <data root>/snapshots/<chain hex>/fs, next to each snapshot's info.json.
    const snapshots = path.join(dataRoot, 'snapshots');
    const files = fs.readdirSync(snapshots).filter((n) => /^[0-9a-f]{64}$/.test(n)).reduce((a, n) => a + countFiles(path.join(snapshots, n, 'fs')), 0);
    expectFiles(ctx, 'berth', files);
    return {
      tool: 'berth', round, seconds: res.seconds, cpuSeconds: cpu[0] + cpu[1], sysSeconds: cpu[1], files,
      rss: { peakSampled: sampler.peak, hwm, idle, samples: sampler.samples },
      layerDone: layerDone.sort((a, b) => a - b),
      ...(resolvedAt !== undefined ? { resolvedAt } : {}),
    };
  } finally {
    await agent.stop();
    removeTree(dir);
  }
}

// ---- skopeo + umoci ----

export async function runSkopeo(ctx: BenchContext, round: number): Promise<Sample> {
  const dir = scratch(ctx, `skopeo-${round}`);
  try {
    const policy = path.join(dir, 'policy.json');
    fs.writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const layout = path.join(dir, 'oci');
    const bundle = path.join(dir, 'bundle');
    const cpu0 = childrenCpu();
    const copy = await runCommand('skopeo', ['--policy', policy, 'copy', '--src-tls-verify=false', `docker://${ctx.ref}`, `oci:${layout}:bench`]);
    const unpack = await runCommand('umoci', ['unpack', '--image', `${layout}:bench`, bundle]);
    const cpu = minus(childrenCpu(), cpu0);
    const files = countFiles(path.join(bundle, 'rootfs'));
    expectFiles(ctx, 'skopeo+umoci', files);
    return {
      tool: 'skopeo', round, seconds: copy.seconds + unpack.seconds, cpuSeconds: cpu[0] + cpu[1], sysSeconds: cpu[1], files,
      parts: { 'skopeo copy': copy.seconds, 'umoci unpack': unpack.seconds },
    };
  } finally {
    removeTree(dir);
  }
}

// ---- containerd ----

// Only what a pull needs: content, images, leases, namespaces, the overlayfs snapshotter and the
// walking differ. No CRI, no runtimes or tasks (nothing under /run/containerd), no other snapshotters.
const DISABLED_PLUGINS = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.native',
  'io.containerd.internal.v1.opt',
  'io.containerd.runtime.v1.linux',
  'io.containerd.runtime.v2.task',
  'io.containerd.runtime-shim.v2.shim',
  'io.containerd.service.v1.tasks-service',
  'io.containerd.grpc.v1.tasks',
  'io.containerd.monitor.v1.cgroups',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
];

/** Resolves once the containerd started as `daemon` answers on `sock`; fails if it exits. */
export function containerdReady(daemon: ReturnType<typeof startDaemon>, sock: string): Promise<void> {
  return waitFor('containerd', async () => {
    if (daemon.child.exitCode !== null) throw new Error(`containerd exited (${daemon.child.exitCode}): ${daemon.output()}`);
    if (!fs.existsSync(sock)) return false;
    try {
      await runCommand('ctr', ['--address', sock, 'version']);
      return true;
    } catch {
      return false;
    }
  }, daemon.output);
}

/** A containerd config with everything under `dir`; `disabled` plugins are switched off. */
export function containerdConfig(dir: string, disabled: readonly string[] = DISABLED_PLUGINS): string {
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    `disabled_plugins = [${disabled.map((p) => `"${p}"`).join(', ')}]`,
    '[grpc]',
    `  address = "${dir}/containerd.sock"`,
    '[ttrpc]',
    `  address = "${dir}/containerd.sock.ttrpc"`,
    '[debug]',
    '  address = ""',
    '  level = "warn"',
    '[metrics]',
    '  address = ""',
    '',
  ].join('\n');
}

export async function runContainerd(ctx: BenchContext, round: number): Promise<Sample> {
  const dir = scratch(ctx, `containerd-${round}`);
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, containerdConfig(dir));
  const sock = path.join(dir, 'containerd.sock');
  const daemon = startDaemon('/usr/bin/containerd', ['--config', config]);
  ctx.cleanup.teardown(() => daemon.stop());
  try {
    await containerdReady(daemon, sock);
    const cpu0 = plus(cpuOf(daemon.pid), childrenCpu());
    const pull = await runCommand('ctr', ['--address', sock, '-n', 'bench', 'image', 'pull', '--plain-http', '--print-chainid', ctx.ref]);
    const cpu = minus(plus(cpuOf(daemon.pid), childrenCpu()), cpu0);
    // Unpacked, not only fetched: the image's top chain ID is a committed overlayfs snapshot.
    const chainId = /image chain ID: (sha256:[0-9a-f]{64})/.exec(pull.stdout)?.[1];
    if (!chainId) throw new Error(`ctr pull printed no chain ID: ${pull.stdout.slice(-1000)}`);
    const snaps = await runCommand('ctr', ['--address', sock, '-n', 'bench', 'snapshots', 'ls']);
    const committed = snaps.stdout.split('\n').filter((l) => /\bCommitted\b/.test(l));
    if (committed.length !== ctx.image.layers.length || !committed.some((l) => l.startsWith(chainId))) {
      throw new Error(`containerd: expected ${ctx.image.layers.length} committed snapshots ending in ${chainId}, got:\n${snaps.stdout}`);
    }
    await daemon.stop();
    const files = countFiles(path.join(dir, 'root', 'io.containerd.snapshotter.v1.overlayfs', 'snapshots'));
    expectFiles(ctx, 'containerd', files);
    return { tool: 'containerd', round, seconds: pull.seconds, cpuSeconds: cpu[0] + cpu[1], sysSeconds: cpu[1], files };
  } finally {
    await daemon.stop();
    removeTree(dir);
  }
}

// ---- floor ----

/** Every layer at once through curl | tar -xz into its own directory: no verification, no store. */
export async function runFloor(ctx: BenchContext, round: number): Promise<Sample> {
  const dir = scratch(ctx, `floor-${round}`);
  try {
    const started = process.hrtime.bigint();
    const cpu0 = childrenCpu();
    await Promise.all(ctx.image.layers.map((l, i) => {
      const out = path.join(dir, `l${i}`);
      fs.mkdirSync(out);
      const url = `${ctx.registryBase}/v2/${ctx.repo}/blobs/${l.descriptor.digest}`;
      return runCommand('bash', ['-c', 'set -o pipefail; curl -sfL "$1" | tar -xzf - -C "$2"', 'floor', url, out]);
    }));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = minus(childrenCpu(), cpu0);
    const files = countFiles(dir);
    expectFiles(ctx, 'floor', files);
    return { tool: 'floor', round, seconds, cpuSeconds: cpu[0] + cpu[1], sysSeconds: cpu[1], files };
  } finally {
    removeTree(dir);
  }
}

export const RUNNERS: Record<ToolName, (ctx: BenchContext, round: number) => Promise<Sample>> = {
  berth: runBerth,
  skopeo: runSkopeo,
  containerd: runContainerd,
  floor: runFloor,
};
