// The containers suite (issue 3): start latency of a container of a present busybox image, for
// raw runc on a prepared bundle with a fresh overlay (the floor), the berth agent (its Start RPC
// alone, `berth start`, `berth run --rm`) and containerd's `ctr run --rm`, interleaved per round;
// then 100 containers of one image: time to start them, disk beyond the image, agent RSS and the
// memory of each container's monitor (conmon); then their removal, and a check that the host is
// clean. Where berth's start time goes comes from phase-probe.ts, preloaded into the agent.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeTestHost, type TestHost } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { containerdConfig, containerdReady } from './tools';
import { call, containersClient } from '../../cli/node/agent-client';
import type { ContainersClient } from '../../proto/grpc';
import { removeCgroupParent, unmountUnder, type Cleanup } from './cleanup';
import type { PhaseEvent } from './phase-probe';
import { memoryOf, runCommand, startDaemon, waitFor, type Daemon } from './proc';
import { removeTree } from './tools';

export interface ContainersOptions {
  /** Start-latency rounds (each: one sample of every measurement). */
  runs: number;
  /** Containers in the many-containers part (0: skip it). */
  count: number;
  /** CLI calls in flight at once when starting them. */
  concurrency: number;
  /** Preload phase-probe.js into the agent. */
  probe: boolean;
  cli: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

const START_TARGET = 1.5; // berth agent start / raw runc run
const RUN_TARGET = 1.0; // berth run --rm / ctr run --rm
const MONITOR_TARGET = 2 * 1024 * 1024; // RSS per conmon

/** Docker's default capability set, as berth gives it (the floor gets the same). */
const DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'].map((c) => `CAP_${c}`);

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (s: number) => `${(s * 1000).toFixed(1)}`;
const mib = (b: number, d = 2) => (b / 1048576).toFixed(d);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

interface Series {
  label: string;
  seconds: number[];
}

export async function containersSuite(o: ContainersOptions): Promise<string> {
  const { cleanup, log } = o;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-ctr-'));
  cleanup.teardown(() => removeTree(work));

  // The image: busybox-static in one layer, in a local registry, pulled by berth (and containerd).
  const registry = await startRegistry(cleanup);
  const image = await buildImage({ layers: [busyboxLayer()] });
  await pushImage(registry.host, 'box:1', image);
  const ref = `${registry.host}/box:1`;

  const phasesFile = path.join(work, 'phases.jsonl');
  const agent = await startAgent(o, work, o.probe ? phasesFile : undefined);
  const host = agent.host;
  const client = containersClient(agent.socket);
  cleanup.teardown(() => client.close());
  const berth = (...args: string[]) => runCommand(process.execPath, [o.cli, '--agent', agent.socket, ...args]);
  await berth('pull', '-q', ref);
  log(`bench: agent pid ${agent.pid} on ${agent.socket}; runc root ${host.runDir}/runc, cgroup parent ${host.cgroupParent}, bridge ${host.bridge} ${host.subnet}`);

  const snapshots = path.join(agent.dataRoot, 'snapshots');
  const layerDirs = fs.readdirSync(snapshots).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => path.join(snapshots, n, 'fs'));
  if (layerDirs.length !== 1) throw new Error(`expected the busybox image's one layer snapshot under ${snapshots}, found ${layerDirs.length}`);
  const floor = await prepareFloor(work, layerDirs[0]!, host.cgroupParent, cleanup);
  const ctr = await startContainerd(work, ref, cleanup, log).catch((err: Error) => {
    log(`bench: containerd: ${err.message}`);
    return { error: err.message.split('\n').slice(0, 3).join(' ') };
  });

  // ---- start latency, interleaved ----
  const series = {
    floorRun: { label: 'runc run (bundle ready, overlay mounted)', seconds: [] as number[] },
    floorMount: { label: '  overlay mount (mount(8))', seconds: [] as number[] },
    floorCreate: { label: 'runc create', seconds: [] as number[] },
    floorStart: { label: 'runc start', seconds: [] as number[] },
    rpcStart: { label: 'berth agent Start RPC', seconds: [] as number[] },
    rpcStartNone: { label: 'berth agent Start RPC, --network none', seconds: [] as number[] },
    cliStart: { label: 'berth start (CLI)', seconds: [] as number[] },
    runRm: { label: 'berth run --rm IMAGE true', seconds: [] as number[] },
    runRmNone: { label: 'berth run --rm --network none', seconds: [] as number[] },
    ctrRun: { label: 'ctr run --rm IMAGE true', seconds: [] as number[] },
    nodeNoop: { label: 'node -e 0 (process floor)', seconds: [] as number[] },
    cliPs: { label: 'berth ps -q (CLI load + 1 small RPC)', seconds: [] as number[] },
  } satisfies Record<string, Series>;
  const rpcWindows: Array<[number, number]> = [];
  const runWindows: Array<[number, number]> = [];
  let ctrError = 'error' in ctr ? ctr.error : undefined;
  for (let round = 0; round < o.runs; round++) {
    const steps: Array<[string, () => Promise<void>]> = [
      ['floor', async () => {
        const r = await floor.run(round);
        series.floorMount.seconds.push(r.mount);
        series.floorRun.seconds.push(r.run);
        const c = await floor.createStart(round);
        series.floorCreate.seconds.push(c.create);
        series.floorStart.seconds.push(c.start);
      }],
      ['berth start', async () => {
        const id = (await berth('create', ref, 'true')).stdout.trim();
        series.cliStart.seconds.push((await berth('start', id)).seconds);
        await settle(client, id);
        const id2 = (await berth('create', ref, 'true')).stdout.trim();
        const t0 = nowMs();
        await call(client.Start.bind(client), { id: id2 });
        const t1 = nowMs();
        rpcWindows.push([t0, t1]);
        series.rpcStart.seconds.push((t1 - t0) / 1000);
        await settle(client, id2);
        const id3 = (await berth('create', '--network', 'none', ref, 'true')).stdout.trim();
        const t2 = nowMs();
        await call(client.Start.bind(client), { id: id3 });
        series.rpcStartNone.seconds.push((nowMs() - t2) / 1000);
        await settle(client, id3);
      }],
      ['berth run', async () => {
        const t0 = nowMs();
        series.runRm.seconds.push((await berth('run', '--rm', ref, 'true')).seconds);
        runWindows.push([t0, nowMs()]);
        await noContainers(client);
        series.runRmNone.seconds.push((await berth('run', '--rm', '--network', 'none', ref, 'true')).seconds);
        await noContainers(client);
        series.nodeNoop.seconds.push((await runCommand(process.execPath, ['-e', '0'])).seconds);
        series.cliPs.seconds.push((await berth('ps', '-q')).seconds);
      }],
      ['ctr', async () => {
        if (ctrError || 'error' in ctr) return;
        try {
          series.ctrRun.seconds.push(await ctr.run(round));
        } catch (err) {
          ctrError = (err as Error).message.split('\n').slice(0, 3).join(' ');
          log(`bench: ctr run failed, skipping it from now on: ${ctrError}`);
        }
      }],
    ];
    // Rotate the order per round, so no tool always runs right after the same other one.
    for (let i = 0; i < steps.length; i++) {
      const [, step] = steps[(i + round) % steps.length]!;
      await step();
    }
    log(`bench: round ${round + 1}/${o.runs}: runc run ${ms(series.floorRun.seconds.at(-1)!)} ms, berth Start RPC ${ms(series.rpcStart.seconds.at(-1)!)} ms, berth start ${ms(series.cliStart.seconds.at(-1)!)} ms, run --rm ${ms(series.runRm.seconds.at(-1)!)} ms${series.ctrRun.seconds.length > round ? `, ctr run --rm ${ms(series.ctrRun.seconds.at(-1)!)} ms` : ''}`);
  }
  if (!('error' in ctr)) await ctr.stop();

  const out: string[] = [];
  out.push('');
  out.push(`containers: busybox-static image (1 layer, ${mib(image.layers[0]!.tar.length)} MiB), ${o.runs} rounds, order rotated per round; host ${os.cpus().length} cores, node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  out.push('');
  out.push('start latency (ms)                        median     min     max');
  for (const s of Object.values(series)) {
    if (s.seconds.length === 0) continue;
    out.push(`${s.label.padEnd(40)} ${ms(median(s.seconds)).padStart(8)} ${ms(Math.min(...s.seconds)).padStart(7)} ${ms(Math.max(...s.seconds)).padStart(7)}`);
  }
  if (ctrError) out.push(`ctr run --rm: not measured: ${ctrError}`);
  const floorMed = median(series.floorRun.seconds.map((r, i) => r + series.floorMount.seconds[i]!));
  const rpcMed = median(series.rpcStart.seconds);
  out.push('');
  out.push(`raw runc floor (overlay mount + runc run): ${ms(floorMed)} ms`);
  out.push(`berth agent start / raw runc floor: ${(rpcMed / floorMed).toFixed(2)}x (target <= ${START_TARGET}x: ${rpcMed / floorMed <= START_TARGET ? 'MET' : 'NOT MET'}); berth start CLI / floor: ${(median(series.cliStart.seconds) / floorMed).toFixed(2)}x`);
  if (series.ctrRun.seconds.length) {
    const r = median(series.runRm.seconds) / median(series.ctrRun.seconds);
    out.push(`berth run --rm / ctr run --rm: ${r.toFixed(2)}x (target < ${RUN_TARGET}x: ${r < RUN_TARGET ? 'MET' : 'NOT MET'}); with --network none: ${(median(series.runRmNone.seconds) / median(series.ctrRun.seconds)).toFixed(2)}x`);
  }
  if (o.probe) {
    out.push(...phaseReport(phasesFile, rpcWindows, 'berth Start RPC, phases inside the agent', 'service start'));
    out.push(...phaseReport(phasesFile, runWindows, 'berth run --rm IMAGE true (CLI wall), phases inside the agent', undefined));
  }

  if (o.count > 0) out.push(...(await manyContainers(o, agent, client, ref, layerDirs[0]!)));
  return out.join('\n');
}

interface Agent {
  socket: string;
  dataRoot: string;
  pid: number;
  host: TestHost;
}

/**
 * A real agent on a test host of its own (the fixtures' makeTestHost: run dir, cgroup parent,
 * bridge, subnet, all cleaned up by cleanTestHost). Started here rather than by startTestAgent,
 * which finds the CLI relative to the test sources, not to dist/ where the bench runs; and with
 * the phase probe preloaded when asked.
 */
async function startAgent(o: ContainersOptions, work: string, phasesFile: string | undefined): Promise<Agent> {
  const host = makeTestHost(o.cleanup);
  const dataRoot = path.join(work, 'agent-root');
  host.dataRoots.push(dataRoot);
  const socket = path.join(work, 'agent.sock');
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(work, 'docker-config') };
  if (phasesFile) {
    env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(__dirname, 'phase-probe.js')}`.trim();
    env.BERTH_BENCH_PHASES = phasesFile;
  }
  // setpriv: the agent dies with the bench even if the bench is killed before its cleanup.
  const daemon = startDaemon('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, o.cli, 'agent', '--data-root', dataRoot, '--socket', socket,
    '--run-dir', host.runDir, '--cgroup-parent', host.cgroupParent, '--bridge', host.bridge, '--subnet', host.subnet], { env });
  o.cleanup.teardown(() => daemon.stop(5000));
  await waitFor('berth agent', () => {
    if (daemon.child.exitCode !== null) throw new Error(`berth agent exited (${daemon.child.exitCode}): ${daemon.output()}`);
    return fs.existsSync(socket);
  }, daemon.output);
  return { socket, dataRoot, pid: daemon.pid, host };
}

/** Wait for a started container's exit, then remove it (neither timed). */
async function settle(client: ContainersClient, id: string): Promise<void> {
  const { exitCode } = await call(client.Wait.bind(client), { id });
  if (exitCode !== 0) throw new Error(`container ${id} exited ${exitCode}`);
  await call(client.Remove.bind(client), { id, force: true });
}

/** `run --rm` removes after the CLI has its exit code: wait until it has, before the next sample. */
async function noContainers(client: ContainersClient): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await call(client.List.bind(client), { all: true });
    if (res.containers.length === 0) return;
    if (Date.now() > deadline) throw new Error(`run --rm left ${res.containers.length} container(s) behind`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- the floor: runc on a bundle of our own ----

interface Floor {
  /** Fresh overlay (timed: mount) + `runc run` of `true` (timed: run). */
  run(round: number): Promise<{ mount: number; run: number }>;
  /** Fresh overlay + `runc create` and `runc start` timed apart (berth's own two steps). */
  createStart(round: number): Promise<{ create: number; start: number }>;
}

async function prepareFloor(work: string, layer: string, cgroupParent: string, cleanup: Cleanup): Promise<Floor> {
  const dir = path.join(work, 'floor');
  const root = path.join(dir, 'runc');
  fs.mkdirSync(root, { recursive: true });
  cleanup.teardown(() => {
    const ids = spawnSync('runc', ['--root', root, 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const id of ids) spawnSync('runc', ['--root', root, 'delete', '-f', id]);
    unmountUnder(dir);
  });
  await runCommand('runc', ['spec', '--bundle', dir]);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.rmSync(path.join(dir, 'config.json'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  spec.process.capabilities = { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS };

  const bundle = async (name: string) => {
    const b = path.join(dir, name);
    for (const d of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(b, d), { recursive: true });
    const config = { ...spec, root: { path: path.join(b, 'rootfs'), readonly: false }, linux: { ...spec.linux, cgroupsPath: `${cgroupParent}/${name}` } };
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    const mount = await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${layer},upperdir=${b}/upper,workdir=${b}/work`, path.join(b, 'rootfs')]);
    return { b, mount: mount.seconds };
  };
  const drop = async (b: string) => {
    await runCommand('umount', [path.join(b, 'rootfs')]);
    fs.rmSync(b, { recursive: true, force: true });
  };
  return {
    async run(round) {
      const name = `floor-run-${round}`;
      const { b, mount } = await bundle(name);
      const r = await runCommand('runc', ['--root', root, 'run', '--bundle', b, name], { stdio: ['ignore', 'pipe', 'pipe'] });
      await drop(b);
      return { mount, run: r.seconds };
    },
    async createStart(round) {
      const name = `floor-cs-${round}`;
      const { b } = await bundle(name);
      // The container's stdio is /dev/null: runc create returns while its init waits for start.
      const create = await quiet('runc', ['--root', root, 'create', '--bundle', b, name]);
      const start = await quiet('runc', ['--root', root, 'start', name]);
      await waitFor(`runc ${name} to stop`, () => /"status":\s*"stopped"/.test(spawnSync('runc', ['--root', root, 'state', name], { encoding: 'utf8' }).stdout), () => '', 10_000);
      await runCommand('runc', ['--root', root, 'delete', name]);
      await drop(b);
      return { create, start };
    },
  };
}

/** Seconds a command takes, its stdio on /dev/null (a pipe would be held by the container). */
function quiet(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve((nowMs() - t0) / 1000) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal})`))));
  });
}

// ---- containerd, with tasks this time ----

interface Containerd {
  run(round: number): Promise<number>;
  stop(): Promise<void>;
}

const CONTAINERD_DISABLED = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.internal.v1.opt',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
];

async function startContainerd(work: string, ref: string, cleanup: Cleanup, log: (l: string) => void): Promise<Containerd> {
  for (const b of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2']) {
    if (!fs.existsSync(b)) throw new Error(`${b} is not installed`);
  }
  const dir = path.join(work, 'containerd');
  fs.mkdirSync(dir);
  const sock = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(config, containerdConfig(dir, CONTAINERD_DISABLED));
  // Shims put their sockets under /run/containerd/s and ctr its fifos under /run/containerd/fifo
  // whatever the state dir; remove /run/containerd afterwards if it was not there before.
  const hadRun = fs.existsSync('/run/containerd');
  const cgroup = `/berth-bench-ctr-${randomBytes(3).toString('hex')}`;
  const daemon: Daemon = startDaemon('/usr/bin/containerd', ['--config', config]);
  cleanup.teardown(() => {
    if (!hadRun) fs.rmSync('/run/containerd', { recursive: true, force: true });
    removeCgroupParent(cgroup);
  });
  cleanup.teardown(async () => {
    await daemon.stop();
    // Shims of containers still running (a failed run): they name our socket on their command line.
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(sock)) process.kill(Number(pid), 'SIGKILL');
      } catch { /* gone */ }
    }
    unmountUnder(dir);
  });
  const ctr = (...args: string[]) => runCommand('ctr', ['--address', sock, '-n', 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  await containerdReady(daemon, sock);
  await ctr('image', 'pull', '--plain-http', ref);
  log(`bench: containerd ${daemon.pid} on ${sock}, ${ref} pulled and unpacked (overlayfs)`);
  return {
    async run(round) {
      const r = await ctr('run', '--rm', '--snapshotter', 'overlayfs', '--cgroup', `${cgroup}/ctr-${round}`, ref, `bench-${round}`, 'true');
      return r.seconds;
    },
    stop: () => daemon.stop(),
  };
}

// ---- where berth's start goes ----

function phaseReport(file: string, windows: Array<[number, number]>, title: string, outer: string | undefined): string[] {
  if (!fs.existsSync(file)) return ['', 'berth start phases: the probe wrote nothing'];
  const events = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PhaseEvent);
  const per = new Map<string, number[]>();
  for (const [w0, w1] of windows) {
    const inside = events.filter((e) => e.t0 >= w0 && e.t1 <= w1 + 0.5);
    const sums = new Map<string, number>();
    for (const e of inside) sums.set(e.name, (sums.get(e.name) ?? 0) + (e.t1 - e.t0));
    const svc = inside.find((e) => e.name === outer);
    if (svc) sums.set(`(outside ${outer}: gRPC, queueing)`, w1 - w0 - (svc.t1 - svc.t0));
    const started = inside.find((e) => e.name === 'oci start');
    const exited = inside.find((e) => e.name === 'service exited');
    if (started && exited) sums.set('(oci start returned -> exit handled: runs + exit noticed)', exited.t0 - started.t1);
    if (!outer) sums.set('(outside the agent\'s service calls: CLI, gRPC)', w1 - w0 - inside.filter((e) => e.name.startsWith('service ') && !['service run', 'service release'].includes(e.name)).reduce((a, e) => a + e.t1 - e.t0, 0));
    for (const [k, v] of sums) per.set(k, [...(per.get(k) ?? []), v]);
  }
  const order = ['service create', 'service start', 'service run', 'mount rootfs', 'network attach', 'exec unshare', 'exec netns', 'exec ip', 'exec loopback ADD', 'exec bridge ADD', 'exec portmap ADD', 'write /etc files',
    'oci delete', 'exec runc delete', 'oci create', 'exec runc state', 'conmon + runc create', 'exec conmon', 'oci start', 'exec runc start', '(oci start returned -> exit handled: runs + exit noticed)', 'service exited', 'service release', 'network detach', 'unmount rootfs', 'service remove'];
  const names = [...per.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const out = ['', `${title} (median ms over ${windows.length}; nested: service start > run > ...; exec = a child process):`];
  for (const n of names) {
    const xs = per.get(n)!;
    out.push(`  ${n.padEnd(58)} ${median(xs).toFixed(1).padStart(7)}${xs.length < windows.length ? `   (in ${xs.length} of ${windows.length})` : ''}`);
  }
  return out;
}

// ---- many containers of one image ----

interface ProcMem {
  pid: number;
  rss: number;
  pss: number;
}

function monitors(runDir: string): ProcMem[] {
  const found: ProcMem[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') !== 'conmon' || !argv.some((a) => a.includes(runDir))) continue;
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
      found.push({ pid: Number(pid), rss: memoryOf(Number(pid))?.rss ?? 0, pss });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function duBytes(dir: string, apparent: boolean): number {
  if (!fs.existsSync(dir)) return 0;
  // -x: the rootfs mounts under each container dir are other filesystems (overlay) and not counted.
  return Number(execFileSync('du', ['-sx', apparent ? '-b' : '-B1', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** What containers leave on the host while they exist; empty once all are gone. */
function residue(agent: Agent): string[] {
  const h = agent.host;
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(agent.dataRoot) || (m.startsWith(h.runDir) && !m.endsWith('/net/netns')));
  const runc = spawnSync('runc', ['--root', path.join(h.runDir, 'runc'), 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const veths = spawnSync('ip', ['-o', 'link', 'show', 'master', h.bridge], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const cgroups = fs.readdirSync('/sys/fs/cgroup').flatMap((hier) => {
    const dir = path.join('/sys/fs/cgroup', hier, h.cgroupParent);
    return fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${hier}:${d.name}`) : [];
  });
  const netnsDir = path.join(h.runDir, 'net', 'netns');
  const netns = fs.existsSync(netnsDir) ? fs.readdirSync(netnsDir) : [];
  return [
    ...mounts.map((m) => `mount ${m}`), ...runc.map((r) => `runc ${r}`), ...veths.map((v) => `veth ${v.split(':')[1]?.trim()}`),
    ...cgroups.map((c) => `cgroup ${c}`), ...netns.map((n) => `netns ${n}`), ...monitors(h.runDir).map((m) => `conmon ${m.pid}`),
  ];
}

async function manyContainers(o: ContainersOptions, agent: Agent, client: ContainersClient, ref: string, layer: string): Promise<string[]> {
  const { log } = o;
  const berth = (...args: string[]) => runCommand(process.execPath, [o.cli, '--agent', agent.socket, ...args]);
  const containersDir = path.join(agent.dataRoot, 'containers');
  const before = { apparent: duBytes(containersDir, true), blocks: duBytes(containersDir, false) };
  const rssBefore = memoryOf(agent.pid)?.rss ?? 0;
  const ids: string[] = [];
  const each: number[] = [];
  log(`bench: starting ${o.count} containers (berth run -d ${ref} sleep 1000), ${o.concurrency} CLI calls at a time`);
  const t0 = nowMs();
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, async () => {
    while (next < o.count) {
      next++;
      const r = await berth('run', '-d', ref, 'sleep', '1000');
      ids.push(r.stdout.trim());
      each.push(r.seconds);
    }
  }));
  const total = (nowMs() - t0) / 1000;
  const listed = (await call(client.List.bind(client), {})).containers.length;
  const after = { apparent: duBytes(containersDir, true), blocks: duBytes(containersDir, false) };
  const image = { apparent: duBytes(layer, true), blocks: duBytes(layer, false) };
  const agentMem = memoryOf(agent.pid);
  const mons = monitors(agent.host.runDir);
  const rss = mons.map((m) => m.rss);
  const pss = mons.map((m) => m.pss);

  log(`bench: removing them (one berth rm -f with ${ids.length} ids)`);
  const rm = await berth('rm', '-f', ...ids);
  let left: string[] = [];
  try {
    await waitFor('a clean host', () => (left = residue(agent)).length === 0, () => left.join(', '), 15_000);
  } catch {
    // reported below
  }
  const remaining = (await call(client.List.bind(client), { all: true })).containers.length;

  const n = o.count;
  const out = ['', `${n} containers of one image (berth run -d IMAGE sleep 1000, ${o.concurrency} at a time):`];
  out.push(`  time to start all: ${total.toFixed(2)} s (${(n / total).toFixed(1)}/s); per CLI call median ${ms(median(each))} ms, max ${ms(Math.max(...each))} ms; running per berth ps: ${listed}`);
  out.push(`  disk beyond the image (du -sx of <data-root>/containers, before -> after): ${mib(after.blocks - before.blocks)} MiB allocated, ${mib(after.apparent - before.apparent)} MiB apparent = ${((after.blocks - before.blocks) / n / 1024).toFixed(1)} KiB per container (the image layer itself: ${mib(image.blocks)} MiB)`);
  out.push(`  agent RSS: ${mib(agentMem?.rss ?? 0)} MiB after (${mib(rssBefore)} MiB before; VmHWM ${mib(agentMem?.hwm ?? 0)} MiB)`);
  out.push(`  monitors (conmon, ${mons.length} found): RSS median ${mib(median(rss))} MiB, max ${mib(Math.max(...rss))} MiB; PSS median ${mib(median(pss))} MiB, max ${mib(Math.max(...pss))} MiB, sum ${mib(pss.reduce((a, b) => a + b, 0))} MiB`);
  out.push(`    target RSS < ${mib(MONITOR_TARGET, 0)} MiB per monitor: ${Math.max(...rss) < MONITOR_TARGET ? 'MET' : 'NOT MET'}`);
  out.push(`  removal (berth rm -f, all at once): ${rm.seconds.toFixed(2)} s; containers left: ${remaining}; host ${left.length === 0 ? 'clean (no runc state, mounts, veths, netns, cgroups or monitors left)' : `NOT clean: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ` and ${left.length - 10} more` : ''}`}`);
  if (left.length) throw new Error(`${out.join('\n')}\nthe host is not clean after removing the containers`);
  return out;
}
