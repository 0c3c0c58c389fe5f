// One chaos run: a cluster on real parts (cluster.ts), three Deployments rolling to new versions
// while the seeded schedule (schedule.ts) kills controllers and agents, cuts hosts off and stops
// the registry; then, every fault healed, the run waits for the cluster to converge and checks
// what must hold (invariants.ts), deletes everything and checks that no host kept anything.
// Shared by `npm run chaos` (run.ts) and the suite's short seeded runs.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Test } from 'tap';
import type { Pod } from '../../proto/resources';
import { hostResidue } from '../fixtures/agent';
import type { Teardown } from '../fixtures/registry';
import { startChaosCluster, type ChaosCluster, type ChaosHost, type ChaosStore } from './cluster';
import {
  checkAcknowledgedApplies, checkConverged, checkPlacement, checkProbeExits,
  type ApplyAttempt, type HostObservation, type StoredDeployment, type StoredPod,
} from './invariants';
import { chaosSchedule, describeFault, type Fault, type Schedule, type Step } from './schedule';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  store: ChaosStore;
  /** How long the cluster may take to converge once every fault is healed. */
  convergeTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  store: ChaosStore;
  durationMs: number;
  faults: Fault[];
  attempts: ApplyAttempt[];
  probePods: number;
  /** How long after the last fault healed the cluster had converged; undefined if it never did. */
  convergedAfterMs?: number;
  violations: string[];
}

const DEPLOYMENTS = ['alpha', 'bravo', 'charlie'];
const REPLICAS = 2;
const VERSION_ANNOTATION = 'chaos.berth.dev/version';
const PROBE_LABEL = 'chaos.berth.dev/probe';

export function replayCommand(o: Pick<ChaosOptions, 'seed' | 'durationMs' | 'store'>): string {
  return `npm run chaos -- --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)}s --store ${o.store}`;
}

export async function runChaos(t: Teardown, dir: string, o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const schedule = chaosSchedule(o.seed, o.durationMs, { controllers: o.store === 'sqlite' ? 1 : 2, hosts: 3, deployments: DEPLOYMENTS.length });
  log(`chaos: seed ${o.seed}, store ${o.store}, ${o.durationMs / 1000}s; replay: ${replayCommand(o)}`);
  for (const f of schedule.faults) log(`chaos: planned ${describeFault(f)}`);

  const cluster = await startChaosCluster(t, dir, o.store);
  const report: ChaosReport = { seed: o.seed, store: o.store, durationMs: o.durationMs, faults: schedule.faults, attempts: [], probePods: 0, violations: [] };
  const workload = new Workload(cluster, dir, report, log);
  for (const name of DEPLOYMENTS) {
    if (!(await workload.roll(name))) throw new Error(`the first apply of deployment ${name} failed before any fault: ${workload.lastError}`);
  }

  const started = Date.now();
  const failures: string[] = [];
  await Promise.all([
    ...schedule.faults.map((f) => runFault(cluster, f, started, log).catch((err: Error) => failures.push(`${describeFault(f)}: ${err.message}`))),
    workload.follow(schedule, started),
  ]);
  const healed = Date.now();
  log(`chaos: every fault healed after ${((healed - started) / 1000).toFixed(1)}s; ${report.attempts.filter((a) => a.acknowledged).length} of ${report.attempts.length} applies acknowledged`);

  // Converged: the store's Deployments have their replicas on their template, and the hosts run
  // exactly what the store binds to them.
  const deadline = healed + (o.convergeTimeoutMs ?? 180_000);
  let last: string[] = [];
  let observed: Observed | undefined;
  for (;;) {
    try {
      observed = await observe(cluster);
      last = [...checkConverged(observed.deployments, observed.pods), ...checkPlacement(observed.pods, observed.hosts)];
    } catch (err) {
      last = [`observing the cluster: ${(err as Error).message}`];
    }
    if (last.length === 0) {
      report.convergedAfterMs = Date.now() - healed;
      log(`chaos: converged ${(report.convergedAfterMs / 1000).toFixed(1)}s after the last fault`);
      break;
    }
    if (Date.now() > deadline) break;
    await sleep(2000);
  }
  report.violations.push(...failures.map((f) => `fault ${f}`), ...last);
  if (observed) report.violations.push(...checkAcknowledgedApplies(report.attempts, observed.deployments), ...checkProbeExits(observed.pods));

  // Everything deleted, no host keeps anything: containers, mounts, cgroups, netns, veths, leases.
  await workload.deleteAll();
  report.violations.push(...(await residueAfterDelete(cluster)));
  for (const v of report.violations) log(`chaos: VIOLATION ${v}`);
  log(`chaos: seed ${o.seed}, store ${o.store}: ${report.violations.length === 0 ? 'every invariant held' : `${report.violations.length} violations`}; replay: ${replayCommand(o)}`);
  return report;
}

/**
 * The suite's short seeded run on one store (test/chaos/chaos-*.test.ts): 40 s of faults, every
 * invariant must hold. BERTH_CHAOS_SEED replaces the fixed seed, to explore or to replay.
 */
export async function suiteChaosRun(t: Test, store: ChaosStore, fixedSeed: number): Promise<void> {
  const seed = Number(process.env.BERTH_CHAOS_SEED ?? fixedSeed);
  // The directory's removal is registered last, so that it runs after the hosts' cleanups (tap
  // runs teardowns in order): nothing is mounted under it any more when it goes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-chaos-${store}-`));
  let report: ChaosReport;
  try {
    // 40 s of faults, at most 100 s to converge and 60 s to clean up: within tap's 300 s per file.
    report = await runChaos(t, dir, { seed, durationMs: 40_000, store, convergeTimeoutMs: 100_000, log: (line) => t.comment(line) });
  } finally {
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  }
  t.ok(report.faults.length >= 4, `${report.faults.length} faults`);
  t.ok(report.attempts.filter((a) => a.acknowledged).length >= 5, 'applies went through between the faults');
  t.ok(report.convergedAfterMs !== undefined, 'converged after the last fault');
  t.same(report.violations, [], `seed ${seed}; replay: ${replayCommand({ seed, durationMs: 40_000, store })}`);
}

async function runFault(cluster: ChaosCluster, f: Fault, started: number, log: (line: string) => void): Promise<void> {
  await sleep(started + f.at - Date.now());
  const leader = f.kind === 'kill-controller' && cluster.controllers.length > 1 && cluster.controllers[f.target]!.leading() ? ' (the leader)' : '';
  log(`chaos: ${elapsed(started)} break ${describeFault(f)}${leader}`);
  await cluster.break(f.kind, f.target);
  await sleep(started + f.healAt - Date.now());
  log(`chaos: ${elapsed(started)} heal ${describeFault(f)}`);
  await cluster.heal(f.kind, f.target);
}

/** The Deployments' rollouts and the probe pods, applied through the real CLI as a user would. */
class Workload {
  private readonly versions = new Map<string, number>();
  private probes = 0;
  lastError = '';

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly dir: string,
    private readonly report: ChaosReport,
    private readonly log: (line: string) => void,
  ) {}

  async follow(schedule: Schedule, started: number): Promise<void> {
    for (const step of schedule.steps) {
      await sleep(started + step.at - Date.now());
      await this.run(step);
    }
  }

  private run(step: Step): Promise<boolean> {
    return step.kind === 'roll' ? this.roll(DEPLOYMENTS[step.deployment]!) : this.probe();
  }

  /** Apply the Deployment's next version (new image or env): acknowledged when the CLI exits 0. */
  async roll(name: string): Promise<boolean> {
    const version = (this.versions.get(name) ?? 0) + 1;
    this.versions.set(name, version);
    const ok = await this.apply(`${name}-v${version}.yaml`, deploymentYaml(name, version, this.cluster.images[version % this.cluster.images.length]!));
    this.report.attempts.push({ deployment: name, version, acknowledged: ok });
    return ok;
  }

  private async probe(): Promise<boolean> {
    const name = `probe-${++this.probes}`;
    const ok = await this.apply(`${name}.yaml`, probePodYaml(name, this.cluster.images[0]!));
    if (ok) this.report.probePods++;
    return ok;
  }

  private async apply(file: string, manifest: string): Promise<boolean> {
    const target = path.join(this.dir, file);
    fs.writeFileSync(target, manifest);
    // On etcd, the applies go to the controllers in turn (both serve the API; one leads).
    const live = this.cluster.controllers.filter((c) => c.alive());
    const controller = live[this.report.attempts.length % Math.max(1, live.length)] ?? this.cluster.controllers[0]!;
    const r = await controller.berth(['apply', '-f', target]);
    if (r.status !== 0) this.lastError = r.stderr.trim();
    this.log(`chaos: apply ${file} via controller ${controller.index}: ${r.status === 0 ? 'ok' : `exit ${r.status}: ${r.stderr.trim().split('\n')[0]}`}`);
    return r.status === 0;
  }

  async deleteAll(): Promise<void> {
    const controller = this.cluster.anyController();
    for (const args of [['delete', 'deployment', ...DEPLOYMENTS, '--ignore-not-found'], ['delete', 'pod', '-l', `${PROBE_LABEL}=true`, '--ignore-not-found']]) {
      const r = await controller.berth(args);
      if (r.status !== 0) throw new Error(`berth ${args.join(' ')}: ${r.stderr}`);
    }
  }
}

interface Observed {
  deployments: StoredDeployment[];
  pods: StoredPod[];
  hosts: HostObservation[];
}

/** The store through the CLI (as a user sees it), the hosts through their agents and the kernel. */
async function observe(cluster: ChaosCluster): Promise<Observed> {
  const controller = cluster.anyController();
  const get = async (kind: string) => {
    const r = await controller.berth(['get', kind, '-o', 'json']);
    if (r.status !== 0) throw new Error(`berth get ${kind}: ${r.stderr.trim()}`);
    return (JSON.parse(r.stdout) as { items: unknown[] }).items;
  };
  const deployments = (await get('deployments') as Array<{ metadata: { name: string }; spec: { replicas?: number; template: { metadata?: { annotations?: Record<string, string> } } } }>)
    .filter((d) => DEPLOYMENTS.includes(d.metadata.name))
    .map((d) => ({ name: d.metadata.name, replicas: d.spec.replicas ?? 1, version: Number(d.spec.template.metadata?.annotations?.[VERSION_ANNOTATION] ?? 0) }));
  const pods = (await get('pods') as Pod[]).map(storedPod);
  const hosts = await Promise.all(cluster.hosts.map(observeHost));
  return { deployments, pods, hosts };
}

function storedPod(p: Pod): StoredPod {
  const version = p.metadata.annotations?.[VERSION_ANNOTATION];
  const terminated = p.status?.containerStatuses?.[0]?.state?.terminated;
  return {
    name: p.metadata.name ?? '',
    uid: p.metadata.uid ?? '',
    nodeName: p.spec.nodeName ?? '',
    phase: p.status?.phase ?? 'Pending',
    deleting: Boolean(p.metadata.deletionTimestamp),
    ...(version !== undefined ? { deployment: p.metadata.labels?.app ?? '', version: Number(version) } : {}),
    ...(terminated ? { terminated: { exitCode: terminated.exitCode, reason: terminated.reason ?? '' } } : {}),
    probe: p.metadata.labels?.[PROBE_LABEL] !== undefined,
  };
}

interface InspectedContainer {
  State: { Running: boolean };
  Config: { Labels: Record<string, string> };
}

async function observeHost(h: ChaosHost): Promise<HostObservation> {
  const agent = h.agent();
  if (!agent) throw new Error(`the agent of ${h.node} is not running`);
  const ids = (await agent.berthAsync(['ps', '-a', '-q'])).stdout.split('\n').filter(Boolean);
  const inspected = ids.length === 0 ? { status: 0, stdout: '[]', stderr: '' } : await agent.berthAsync(['inspect', ...ids]);
  if (inspected.status !== 0) throw new Error(`berth inspect on ${h.node}: ${inspected.stderr.trim()}`);
  const containers = (JSON.parse(inspected.stdout) as InspectedContainer[])
    .filter((c) => c.Config.Labels['io.kubernetes.pod.uid'])
    .map((c) => ({ pod: c.Config.Labels['io.kubernetes.pod.name'] ?? '', uid: c.Config.Labels['io.kubernetes.pod.uid']!, running: c.State.Running }));
  // A pod's cgroup (any hierarchy) and network namespace are named pod-<uid> (agent/node/naming.ts).
  const podUids = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('pod-')).map((n) => n.slice(4)) : []);
  const cgroups = [...new Set(fs.readdirSync('/sys/fs/cgroup').flatMap((hierarchy) => podUids(path.join('/sys/fs/cgroup', hierarchy, h.host.cgroupParent))))];
  const netns = podUids(path.join(h.host.runDir, 'net', 'netns'));
  return { node: h.node, containers, cgroups, netns };
}

async function residueAfterDelete(cluster: ChaosCluster): Promise<string[]> {
  // Without its agent a host cannot clean up: say so at once rather than wait.
  const down = cluster.hosts.filter((h) => !h.agent()).map((h) => `host ${h.node}: its agent is not running`);
  if (down.length > 0) return down;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const residue = cluster.hosts.flatMap((h) => {
      const agent = h.agent();
      return hostResidue(agent!).map((r) => `host ${h.node}: left after every pod was deleted: ${r}`);
    });
    if (residue.length === 0 || Date.now() > deadline) return residue;
    await sleep(1000);
  }
}

function deploymentYaml(name: string, version: number, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${REPLICAS}
  selector:
    matchLabels: {app: ${name}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {${VERSION_ANNOTATION}: "${version}"}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          image: ${image}
          command: ["sleep", "3600"]
          env: [{name: VERSION, value: "${version}"}]
          resources:
            requests: {cpu: 10m, memory: 8Mi}
`;
}

function probePodYaml(name: string, image: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {${PROBE_LABEL}: "true"}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", "exit 3"]
      resources:
        requests: {cpu: 10m, memory: 8Mi}
`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const elapsed = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)}s`;
