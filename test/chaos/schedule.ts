// What a chaos run does and when, decided before it starts from one seed: the same seed and
// duration give the same faults and the same workload, so a failing run can be replayed with
// `npm run chaos -- --seed N`. Pure: no clock, no processes.

export type FaultKind = 'kill-controller' | 'kill-agent' | 'cut-host' | 'stop-registry';

export const FAULT_KINDS: readonly FaultKind[] = ['kill-controller', 'kill-agent', 'cut-host', 'stop-registry'];

/** One fault: broken at `at`, healed at `healAt` (milliseconds from the start of the run). */
export interface Fault {
  kind: FaultKind;
  /** Which controller or host (index); 0 for the registry. */
  target: number;
  at: number;
  healAt: number;
}

/** The workload's steps: roll a Deployment to its next version, or create a short-lived probe pod. */
export type Step =
  | { at: number; kind: 'roll'; deployment: number }
  | { at: number; kind: 'probe-pod' };

export interface Topology {
  controllers: number;
  hosts: number;
  deployments: number;
}

export interface Schedule {
  seed: number;
  durationMs: number;
  faults: Fault[];
  steps: Step[];
}

/** How long each kind of fault lasts, [min, max) ms: a kill is a process down until restarted. */
const OUTAGE: Record<FaultKind, [number, number]> = {
  'kill-controller': [1_000, 5_000],
  // Past the node grace period and the eviction timeout the chaos cluster runs with (2 s + 4 s),
  // sometimes: the node's pods are replaced elsewhere and the returning agent must stop its copies.
  'kill-agent': [1_000, 10_000],
  'cut-host': [2_000, 10_000],
  'stop-registry': [3_000, 12_000],
};

/** A fault about every this many ms of the run, on average. */
const FAULT_EVERY_MS = 8_000;
/** Workload steps come every [min, max) ms. */
const STEP_GAP: [number, number] = [1_500, 5_000];

/** mulberry32: a small, well-mixed 32-bit generator; only reproducibility matters here. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const between = (random: () => number, [min, max]: [number, number]) => Math.floor(min + random() * (max - min));

/**
 * The thing a fault breaks: a host's agent kill and link cut are the same host, so they do not
 * overlap (two faults on one thing at once would heal in a confusing order); different things may
 * be broken at the same time.
 */
const faultSubject = (f: Pick<Fault, 'kind' | 'target'>) =>
  f.kind === 'kill-controller' ? `controller ${f.target}` : f.kind === 'stop-registry' ? 'registry' : `host ${f.target}`;

export function chaosSchedule(seed: number, durationMs: number, topology: Topology): Schedule {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`invalid seed ${seed}: expected a non-negative integer`);
  const minimum = Math.max(...Object.values(OUTAGE).map(([, max]) => max)) + 1_000;
  if (durationMs < minimum) throw new Error(`a chaos run lasts at least ${minimum / 1000}s (the longest outage, healed before the end); got ${durationMs / 1000}s`);
  // Two streams, so that a longer run keeps the same first faults and steps.
  const faults = planFaults(seededRandom(seed), durationMs, topology);
  const steps = planSteps(seededRandom(seed ^ 0x9e3779b9), durationMs, topology);
  return { seed, durationMs, faults, steps };
}

function planFaults(random: () => number, durationMs: number, topology: Topology): Fault[] {
  const count = Math.max(FAULT_KINDS.length, Math.round(durationMs / FAULT_EVERY_MS));
  // Every kind at least once (in a seeded order), then kinds at random.
  const kinds = shuffle([...FAULT_KINDS], random);
  while (kinds.length < count) kinds.push(FAULT_KINDS[Math.floor(random() * FAULT_KINDS.length)]!);
  const faults: Fault[] = [];
  for (const kind of kinds) {
    const target = kind === 'stop-registry' ? 0 : Math.floor(random() * (kind === 'kill-controller' ? topology.controllers : topology.hosts));
    const length = between(random, OUTAGE[kind]);
    // A few tries at a free slot for this subject (the first of each kind is placed first, so it
    // always finds one); an extra fault that finds none is dropped.
    for (let tries = 0; tries < 20; tries++) {
      const at = Math.floor(random() * (durationMs - length));
      const fault: Fault = { kind, target, at, healAt: at + length };
      const clash = faults.some((f) => faultSubject(f) === faultSubject(fault) && f.at < fault.healAt + 1_000 && fault.at < f.healAt + 1_000);
      if (!clash) {
        faults.push(fault);
        break;
      }
    }
  }
  return faults.sort((a, b) => a.at - b.at);
}

function planSteps(random: () => number, durationMs: number, topology: Topology): Step[] {
  const steps: Step[] = [];
  for (let at = between(random, STEP_GAP); at < durationMs; at += between(random, STEP_GAP)) {
    // One step in five is a probe pod: `sh -c 'exit 3'`, restartPolicy Never, whose exit the run
    // checks (a pod started under this load once reported exit 127).
    steps.push(random() < 0.2 ? { at, kind: 'probe-pod' } : { at, kind: 'roll', deployment: Math.floor(random() * topology.deployments) });
  }
  return steps;
}

/** "45s", "5m", "1m30s", "90000ms" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!text || !m || (!m[1] && !m[2] && !m[3])) throw new Error(`invalid duration "${text}": expected e.g. 45s, 5m, 1m30s`);
  return Number(m[1] ?? 0) * 60_000 + Number(m[2] ?? 0) * 1000 + Number(m[3] ?? 0);
}

export function describeFault(f: Fault): string {
  return `${(f.at / 1000).toFixed(1)}s..${(f.healAt / 1000).toFixed(1)}s ${f.kind} ${faultSubject(f)}`;
}
